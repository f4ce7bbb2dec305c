/**
 * eth_simulateV1 on a simulation worker, with geth's semantics (internal/ethapi/simulate.go): the
 * planned blocks run one after another on the base block's state, each call as a transaction
 * building on the ones before it, each block sealed like a real one (state, transactions and
 * receipts roots, logs bloom, hash) so later blocks see earlier ones — BLOCKHASH included. Nothing
 * is kept: the whole run is inside one checkpoint that is reverted. Gas is bounded by the node's
 * gas cap over the whole simulation (geth's gas pool), time by the pool's EVM budget.
 */
import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { createFeeMarket1559Tx, type FeeMarket1559Tx } from "@ethereumjs/tx";
import { Address, createAddressFromString } from "@ethereumjs/util";
import { runTx, type VM } from "@ethereumjs/vm";
import type { TxView } from "../../../rpc/backend.js";
import { decodeRevertReason, ServerError, SimulationError, SimulationErrorCode } from "../../../rpc/errors.js";
import { formatHeader, formatLog, formatTransaction } from "../../../rpc/format.js";
import { toHexData as hexData, toHexQuantity as qty } from "../../../rpc/hex.js";
import type { PlannedBlock } from "../../../rpc/simulate.js";
import type { CallRequest } from "../../../rpc/types.js";
import { ethBlockForEnv } from "../../../runtime/evm/vm.js";
import { type FeeParams, nextBaseFee } from "../../../runtime/fees.js";
import { burnFromSupply } from "../../../runtime/modules/index.js";
import {
  type BlockHeader,
  encodeBody,
  encodeHeader,
  hashEvidence,
  hashHeader,
} from "../../../runtime/primitives/block.js";
import { keccak256 } from "../../../runtime/primitives/hash.js";
import {
  BLOOM_BYTES,
  encodeReceiptForRoot,
  type Log,
  logsBloom,
  type Receipt,
} from "../../../runtime/primitives/receipt.js";
import { orderedTrieRoot } from "../../../runtime/primitives/trieRoot.js";
import { applyOverrides, type SimulationView, simplifyVMError } from "./simulate.js";

export interface SimulateV1Params {
  /** The block the simulation builds on, and its hash. */
  base: BlockHeader;
  baseHash: Uint8Array;
  /** From `planBlocks`: numbers and times settled, gaps filled. */
  blocks: PlannedBlock[];
  validation: boolean;
  returnFullTransactions: boolean;
  /** The chain's fee rules: a validating simulation derives each block's base fee from its parent. */
  fees: FeeParams;
  /** Bytes of the answer's JSON at most. */
  maxBytes: number;
}

const ZERO_ADDRESS = new Address(new Uint8Array(20));
const ZERO_HASH = new Uint8Array(32);
const NO_EVIDENCE = hashEvidence([]);
/** geth's errCodeVMError: a call that failed for another reason than a revert. */
const VM_ERROR_CODE = -32015;
/** geth's errCodeReverted (what eth_call answers for a revert, too). */
const REVERTED_CODE = 3;

interface CallResult {
  status: 0 | 1;
  returnData: Uint8Array;
  gasUsed: bigint;
  /** Gas the call needed before refunds (geth's maxUsedGas). */
  maxUsedGas: bigint;
  logs: Log[];
  error?: { code: number; message: string; data?: string };
}

/** The simulation's answer: the blocks as eth_getBlockByNumber shows them, each with its `calls`. */
export async function simulateV1(
  view: SimulationView,
  common: Common,
  gasCap: bigint,
  p: SimulateV1Params,
): Promise<string> {
  const hashes = new Map<bigint, Uint8Array>();
  const out: string[] = [];
  let bytes = 2;
  await view.simulate(
    async (vm) => {
      let gasPool = gasCap;
      let parent = { header: p.base, hash: p.baseHash };
      for (const planned of p.blocks) {
        const sealed = await runBlock(vm, common, planned, parent, gasPool, p);
        gasPool -= sealed.header.gasUsed;
        hashes.set(sealed.header.number, sealed.hash);
        const json = JSON.stringify(sealed.json);
        bytes += json.length + 1;
        if (bytes > p.maxBytes)
          throw new SimulationError(
            SimulationErrorCode.CLIENT_LIMIT_EXCEEDED,
            `simulation result exceeds ${p.maxBytes} bytes`,
          );
        out.push(json);
        parent = { header: sealed.header, hash: sealed.hash };
      }
    },
    { computesStateRoots: true, blockHashes: hashes },
  );
  return `[${out.join(",")}]`;
}

async function runBlock(
  vm: VM,
  common: Common,
  planned: PlannedBlock,
  parent: { header: BlockHeader; hash: Uint8Array },
  gasPool: bigint,
  p: SimulateV1Params,
): Promise<{ header: BlockHeader; hash: Uint8Array; json: Record<string, unknown> }> {
  const gasLimit = planned.gasLimit ?? parent.header.gasLimit;
  // geth: without validation the base fee is 0 unless given (so an unpriced call is not below it).
  const baseFeePerGas = planned.baseFeePerGas ?? (p.validation ? nextBaseFee(parent.header, p.fees) : 0n);
  const miner =
    planned.feeRecipient === undefined ? parent.header.miner : createAddressFromString(planned.feeRecipient).bytes;
  const env = {
    number: planned.number,
    timestamp: planned.time,
    gasLimit,
    baseFeePerGas,
    miner,
    parentHash: parent.hash,
  };
  await applyOverrides(vm, planned.stateOverrides);
  const block = ethBlockForEnv(common, env);
  const sm = vm.stateManager;
  const txs: { tx: FeeMarket1559Tx; raw: Uint8Array; hash: Uint8Array; from: Address }[] = [];
  const receipts: Receipt[] = [];
  const calls: CallResult[] = [];
  let gasUsed = 0n;
  for (const req of planned.calls) {
    const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
    const nonce = req.nonce ?? (await sm.getAccount(from))?.nonce ?? 0n;
    // geth's sanitizeCall: a call without gas gets what the block has left; no call may overfill it.
    let gas = req.gas ?? gasLimit - gasUsed;
    if (gasUsed + gas > gasLimit)
      throw new SimulationError(
        SimulationErrorCode.BLOCK_GAS_LIMIT_REACHED,
        `block gas limit reached: ${gasUsed} >= ${gasLimit}`,
      );
    // geth's CallDefaults: the gas left in the simulation's pool (the gas cap) bounds every call.
    if (gas > gasPool - gasUsed) gas = gasPool - gasUsed;
    const tx = buildTx(common, req, gas, nonce, from);
    let r: Awaited<ReturnType<typeof runTx>>;
    try {
      r = await runTx(vm, {
        tx,
        block,
        blockGasUsed: gasUsed,
        skipNonce: !p.validation,
        // Never skipped: geth checks the value (and the gas, when priced) is covered in either mode.
        skipBalance: false,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
      });
    } catch (e) {
      throw txValidationError((e as Error).message, from, nonce);
    }
    gasUsed += r.totalGasSpent;
    const err = r.execResult.exceptionError;
    const logs = err === undefined ? ((r.execResult.logs ?? []) as Log[]) : [];
    const raw = tx.serialize();
    txs.push({ tx, raw, hash: keccak256(raw), from });
    receipts.push({
      type: tx.type,
      status: err === undefined ? 1 : 0,
      cumulativeGasUsed: gasUsed,
      gasUsed: r.totalGasSpent,
      logs,
      contractAddress: r.createdAddress?.bytes ?? null,
      effectiveGasPrice: 0n,
      from: from.bytes,
    });
    calls.push({
      status: err === undefined ? 1 : 0,
      returnData: r.execResult.returnValue.slice(),
      gasUsed: r.totalGasSpent,
      maxUsedGas: r.totalGasSpent + (r.gasRefund ?? 0n),
      logs,
      error: err === undefined ? undefined : callError(err.error, r.execResult.returnValue),
    });
  }
  // As a real block: the base fee is burnt from the WAZR supply, then the block is sealed.
  await burnFromSupply(sm as MerkleStateManager, gasUsed * baseFeePerGas);
  const bloom = new Uint8Array(BLOOM_BYTES);
  for (const r of receipts) logsBloom(r.logs, bloom);
  const transactions = txs.map((t) => t.raw);
  const header: BlockHeader = {
    parentHash: parent.hash,
    number: planned.number,
    timestamp: planned.time,
    stateRoot: await sm.getStateRoot(),
    transactionsRoot: await orderedTrieRoot(transactions),
    receiptsRoot: await orderedTrieRoot(receipts.map(encodeReceiptForRoot)),
    logsBloom: bloom,
    gasLimit,
    gasUsed,
    baseFeePerGas,
    miner,
    // The validator set of the base block; no commit exists for a simulated block.
    proposer: parent.header.proposer,
    validatorsHash: parent.header.validatorsHash,
    lastCommitHash: ZERO_HASH,
    evidenceHash: NO_EVIDENCE,
  };
  const hash = hashHeader(header);
  const size =
    encodeHeader(header).length + encodeBody({ transactions, lastCommit: new Uint8Array(0), evidence: [] }).length;
  let logIndex = 0;
  const json = {
    ...formatHeader({ header, hash }),
    size: qty(size),
    transactions: txs.map((t, index) => {
      if (!p.returnFullTransactions) return hexData(t.hash);
      const view: TxView = {
        tx: t.tx,
        hash: t.hash,
        from: t.from.bytes,
        location: { blockHash: hash, blockNumber: planned.number, blockTimestamp: planned.time, index, baseFeePerGas },
      };
      return formatTransaction(view);
    }),
    uncles: [],
    calls: calls.map((c, index) => {
      const out: Record<string, unknown> = {
        returnData: hexData(c.returnData),
        logs: c.logs.map((log) =>
          formatLog({
            log,
            blockNumber: planned.number,
            blockHash: hash,
            transactionHash: txs[index].hash,
            transactionIndex: index,
            logIndex: logIndex++,
          }),
        ),
        gasUsed: qty(c.gasUsed),
        maxUsedGas: qty(c.maxUsedGas),
        status: qty(c.status),
      };
      if (c.error !== undefined) out.error = c.error;
      return out;
    }),
  };
  return { header, hash, json };
}

/**
 * The call as an unsigned type-2 transaction from `from` (geth's ToTransaction(DynamicFeeTxType)):
 * fees default to 0 — without validation nothing is charged; with it, an unpriced call is below the
 * base fee and refused, as geth does. Its hash is keccak256 of the unsigned encoding (geth's too).
 */
function buildTx(common: Common, req: CallRequest, gasLimit: bigint, nonce: bigint, from: Address): FeeMarket1559Tx {
  try {
    const tx = createFeeMarket1559Tx(
      {
        nonce,
        gasLimit,
        to: req.to === undefined || req.to === null ? undefined : createAddressFromString(req.to),
        value: req.value ?? 0n,
        data: req.data ?? new Uint8Array(0),
        maxFeePerGas: req.maxFeePerGas ?? req.gasPrice ?? 0n,
        maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? req.gasPrice ?? 0n,
        accessList: (req.accessList ?? []).map((e) => ({
          address: e.address as `0x${string}`,
          storageKeys: e.storageKeys as `0x${string}`[],
        })),
      },
      { common, freeze: false },
    );
    tx.getSenderAddress = () => from;
    return tx;
  } catch (e) {
    throw txValidationError((e as Error).message, from, nonce);
  }
}

/** A call's failure as geth reports it: code 3 with the revert data, or -32015 with the VM error. */
function callError(error: string, returnValue: Uint8Array): CallResult["error"] {
  if (error === "revert") {
    const reason = decodeRevertReason(returnValue);
    return {
      code: REVERTED_CODE,
      message: reason === undefined ? "execution reverted" : `execution reverted: ${reason}`,
      data: hexData(returnValue),
    };
  }
  return { code: VM_ERROR_CODE, message: simplifyVMError(error) };
}

/** A transaction the EVM refused to run, as geth's txValidationError codes it. */
function txValidationError(msg: string, from: Address, nonce: bigint): Error {
  const n = /account has nonce of: (\d+) tx has nonce of: (\d+)/.exec(msg);
  if (n !== null) {
    const state = BigInt(n[1]);
    return BigInt(n[2]) < state
      ? new SimulationError(
          SimulationErrorCode.NONCE_TOO_LOW,
          `nonce too low: address ${from}, tx: ${nonce} state: ${state}`,
        )
      : new SimulationError(
          SimulationErrorCode.NONCE_TOO_HIGH,
          `nonce too high: address ${from}, tx: ${nonce} state: ${state}`,
        );
  }
  const funds = /(?:upfront|max) cost is: (\d+) and the sender's account \(\S+\) only has: (\d+)/.exec(msg);
  if (funds !== null)
    return new SimulationError(
      SimulationErrorCode.INSUFFICIENT_FUNDS,
      `insufficient funds for gas * price + value: address ${from} have ${funds[2]} want ${funds[1]}`,
    );
  const intrinsic = /tx gas limit (\d+) is lower than the minimum gas limit of (\d+)/.exec(msg);
  if (intrinsic !== null)
    return new SimulationError(
      SimulationErrorCode.INTRINSIC_GAS_TOO_LOW,
      `intrinsic gas too low: have ${intrinsic[1]}, want ${intrinsic[2]}`,
    );
  const fee = /(?:maxFeePerGas|gasPrice) \((\d+)\) is less than the block's baseFeePerGas \((\d+)\)/.exec(msg);
  if (fee !== null)
    return new SimulationError(
      SimulationErrorCode.FEE_CAP_TOO_LOW,
      `max fee per gas less than block base fee: address ${from}, maxFeePerGas: ${fee[1]}, baseFee: ${fee[2]}`,
    );
  if (msg.includes("address is not EOA"))
    return new SimulationError(SimulationErrorCode.SENDER_NOT_EOA, `sender not an eoa: address ${from}`);
  if (msg.includes("initcode size"))
    return new SimulationError(SimulationErrorCode.MAX_INIT_CODE_SIZE_EXCEEDED, "max initcode size exceeded");
  return new ServerError(simplifyVMError(msg));
}
