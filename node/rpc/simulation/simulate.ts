import type { Block as EthBlock } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import {
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  type EOACode7702Tx,
  type FeeMarket1559Tx,
  type TypedTransaction,
} from "@ethereumjs/tx";
import { Account, Address, createAddressFromString } from "@ethereumjs/util";
import { type RunTxOpts, type RunTxResult, runTx, type VM } from "@ethereumjs/vm";
import type { AccessListResult, CallOutcome } from "../../../rpc/backend.js";
import { ExecutionRevertedError, ServerError } from "../../../rpc/errors.js";
import type { AccessListEntry, CallRequest, StateOverride } from "../../../rpc/types.js";
import { type BlockEnv, ethBlockForEnv, liftEIP3607Once } from "../../../runtime/evm/vm.js";
import { LRU } from "../../../runtime/lib/lru.js";
import type { BlockHeader } from "../../../runtime/primitives/block.js";
import { attachFrames, type TxTracer } from "./tracing/index.js";

/**
 * The EVM semantics of eth_call, eth_estimateGas and eth_createAccessList, as geth defines them.
 * Runs wherever a `SimulationView` is: on the simulation workers (`worker.ts`), never on the
 * thread that runs consensus. Every path caps the gas at `gasCap` (geth's RPCGasCap).
 */

/** geth's default RPCGasCap: the most gas one eth_call / estimate / access list may burn. */
export const DEFAULT_RPC_GAS_CAP = 50_000_000n;

/** A VM over the state at one committed root. */
export interface SimulationView {
  /** Runs `fn` alone on the view's VM inside a state checkpoint that is always reverted. */
  simulate<T>(fn: (vm: VM) => Promise<T>, opts?: SimulateOptions): Promise<T>;
}

export interface SimulateOptions {
  /**
   * `fn` computes state roots (eth_simulateV1 seals its blocks): a root flushes the state manager's
   * caches, which a revert then cannot roll back, so the view empties them afterwards.
   */
  computesStateRoots?: boolean;
  /** What BLOCKHASH answers for blocks that exist only in this run (eth_simulateV1's, as they are sealed). */
  blockHashes?: ReadonlyMap<bigint, Uint8Array>;
}
/** Gas of a plain value transfer (params.TxGas). */
const TX_GAS = 21_000n;
/** geth's estimateGasErrorRatio: stop the binary search within 1.5 % of the optimum. */
const ESTIMATE_ERROR_RATIO = 0.015;
const ZERO_ADDRESS = new Address(new Uint8Array(20));
/** Precompiles (0x01–0x11) never belong in a generated access list (geth excludes them too). */
const PRECOMPILE_MAX = 0x11;

export interface SimulationResult {
  outcome: CallOutcome;
  accessList?: { address: string; storageKeys: string[] }[];
}

function hasFees(req: CallRequest): boolean {
  return (req.gasPrice ?? 0n) > 0n || (req.maxFeePerGas ?? 0n) > 0n || (req.maxPriorityFeePerGas ?? 0n) > 0n;
}

/**
 * Context for simulating on top of block `header`: geth's rules — without fees in the request the
 * base fee is taken as zero, so unfunded callers can simulate (only a `value` must be covered).
 */
function envFor(header: BlockHeader, req: CallRequest, gasCap: bigint): BlockEnv {
  return {
    number: header.number,
    timestamp: header.timestamp,
    gasLimit: header.gasLimit > gasCap ? header.gasLimit : gasCap,
    baseFeePerGas: hasFees(req) ? header.baseFeePerGas : 0n,
    miner: header.miner,
    parentHash: header.parentHash,
  };
}

export async function applyOverrides(vm: VM, overrides: StateOverride | undefined): Promise<void> {
  if (overrides === undefined) return;
  const sm = vm.stateManager;
  for (const [addr, o] of Object.entries(overrides)) {
    const address = createAddressFromString(addr);
    const account = (await sm.getAccount(address)) ?? new Account();
    if (o.nonce !== undefined) account.nonce = o.nonce;
    if (o.balance !== undefined) account.balance = o.balance;
    await sm.putAccount(address, account);
    if (o.code !== undefined) await sm.putCode(address, o.code);
    if (o.state !== undefined) {
      await sm.clearStorage(address);
      for (const [k, v] of Object.entries(o.state)) await sm.putStorage(address, hexBytes(k), hexBytes(v));
    }
    if (o.stateDiff !== undefined) {
      for (const [k, v] of Object.entries(o.stateDiff)) await sm.putStorage(address, hexBytes(k), hexBytes(v));
    }
  }
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h.slice(2), "hex"));
}

/**
 * An unsigned type-2 tx whose sender is the request's `from` (nothing is ever signed), or type 4 when
 * the request carries EIP-7702 authorizations (signed by their authorities), so they take effect.
 */
function buildTx(
  common: Common,
  req: CallRequest,
  gasLimit: bigint,
  nonce: bigint,
  baseFee: bigint,
): FeeMarket1559Tx | EOACode7702Tx {
  const maxFee = req.maxFeePerGas ?? req.gasPrice ?? baseFee;
  const auths = req.authorizationList ?? [];
  const create =
    auths.length > 0 && req.to !== undefined && req.to !== null ? createEOACode7702Tx : createFeeMarket1559Tx;
  const q = (n: bigint): `0x${string}` => `0x${n.toString(16)}`;
  const tx = create(
    {
      ...(auths.length > 0
        ? {
            authorizationList: auths.map((a) => ({
              chainId: q(a.chainId),
              address: a.address as `0x${string}`,
              nonce: q(a.nonce),
              yParity: q(a.yParity),
              r: q(a.r),
              s: q(a.s),
            })),
          }
        : {}),
      nonce,
      gasLimit,
      to: req.to === undefined || req.to === null ? undefined : createAddressFromString(req.to),
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(0),
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? (req.gasPrice !== undefined ? req.gasPrice - baseFee : 0n),
      accessList: (req.accessList ?? []).map((e) => ({
        address: e.address as `0x${string}`,
        storageKeys: e.storageKeys as `0x${string}`[],
      })),
    },
    { common, freeze: false },
  );
  const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
  tx.getSenderAddress = () => from;
  return tx;
}

/**
 * Intrinsic gas of a transaction built from `req` under Prague: base cost, calldata, contract
 * creation and init-code words (EIP-3860), access list (EIP-2930), and the calldata floor (EIP-7623).
 */
export function intrinsicGas(req: CallRequest): bigint {
  const data = req.data ?? new Uint8Array(0);
  let zeros = 0n;
  for (const b of data) if (b === 0) zeros++;
  const nonZeros = BigInt(data.length) - zeros;
  const create = req.to === undefined || req.to === null;
  let gas = 21_000n + zeros * 4n + nonZeros * 16n;
  if (create) gas += 32_000n + ((BigInt(data.length) + 31n) / 32n) * 2n;
  for (const e of req.accessList ?? []) gas += 2400n + 1900n * BigInt(e.storageKeys.length);
  gas += 25_000n * BigInt(req.authorizationList?.length ?? 0); // EIP-7702 PER_EMPTY_ACCOUNT_COST
  const floor = 21_000n + 10n * (zeros + 4n * nonZeros);
  return gas > floor ? gas : floor;
}

/** Block context objects are costly to build; calls at one block share theirs. */
const blockContexts = new LRU<string, EthBlock>(64);

export function blockContext(common: Common, header: BlockHeader, env: BlockEnv): EthBlock {
  const key = `${header.number}:${Buffer.from(header.stateRoot).toString("hex")}:${header.timestamp}:${env.baseFeePerGas}`;
  let block = blockContexts.get(key);
  if (block === undefined) {
    block = ethBlockForEnv(common, env);
    blockContexts.set(key, block);
  }
  return block;
}

/**
 * eth_call: runs the message directly on the EVM (no transaction object, no intrinsic-gas
 * accounting, no receipt) on `view`, always reverted afterwards. That is what makes calls cheap;
 * estimateGas and access lists go through `simulate`, which runs a full transaction.
 */
export async function call(
  view: SimulationView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  overrides: StateOverride | undefined,
  gasCap: bigint,
  watchBlock?: (block: EthBlock) => EthBlock,
): Promise<CallOutcome> {
  const env = envFor(header, req, gasCap);
  const shared = blockContext(common, header, env);
  const block = watchBlock === undefined ? shared : watchBlock(shared);
  const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
  const gasPrice = req.gasPrice ?? req.maxFeePerGas ?? 0n;
  const gasLimit = capGas(req.gas, gasCap);
  const needed = intrinsicGas(req);
  if (gasLimit < needed) throw new ServerError(`intrinsic gas too low: have ${gasLimit}, want ${needed}`);
  return view.simulate(async (vm) => {
    await applyOverrides(vm, overrides);
    // geth's preCheck/buyGas: the caller must afford value (and the gas, when a price is given).
    const value = req.value ?? 0n;
    if (value > 0n || gasPrice > 0n) {
      const balance = (await vm.stateManager.getAccount(from))?.balance ?? 0n;
      const want = value + (gasPrice > 0n ? gasLimit * gasPrice : 0n);
      if (balance < want) {
        throw new ServerError(
          `insufficient funds for gas * price + value: address ${from} have ${balance} want ${want}`,
        );
      }
    }
    await vm.evm.journal.cleanup(); // no warm addresses carried over from an earlier call
    const r = await vm.evm.runCall({
      caller: from,
      origin: from,
      to: req.to === undefined || req.to === null ? undefined : createAddressFromString(req.to),
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(0),
      gasLimit: gasLimit - needed,
      gasPrice,
      block,
      skipBalance: true, // affordability was checked above, as geth does
    });
    const err = r.execResult.exceptionError;
    return {
      returnValue: r.execResult.returnValue,
      reverted: err?.error === "revert",
      error: err !== undefined && err.error !== "revert" ? err.error : undefined,
      gasUsed: r.execResult.executionGasUsed,
    };
  });
}

/** The request's gas, or the cap when it asks for none or for more (geth caps silently too). */
export function capGas(gas: bigint | undefined, gasCap: bigint): bigint {
  return gas !== undefined && gas < gasCap ? gas : gasCap;
}

function isPrecompile(address: string): boolean {
  return BigInt(address) <= BigInt(PRECOMPILE_MAX);
}

/**
 * runTx, under `tracer` when one is given: the tracer sees the transaction start, every frame (and
 * opcode, if it asks), and the end with the receipt's gas. `allowContractSender` lifts EIP-3607 for
 * `from` (`liftEIP3607Once`), installed after the tracer's start so that a tracer wrapping state
 * reads (prestateTracer) reads the sender's real code and leaves the one disguised read to runTx.
 */
export async function runTraced(
  vm: VM,
  tracer: TxTracer | undefined,
  tx: TypedTransaction,
  from: Address,
  block: EthBlock,
  opts: Omit<RunTxOpts, "tx" | "block">,
  allowContractSender = false,
): Promise<RunTxResult> {
  const lift = () => (allowContractSender ? liftEIP3607Once(vm, from) : () => undefined);
  if (tracer === undefined) {
    const restore = lift();
    try {
      return await runTx(vm, { ...opts, tx, block });
    } finally {
      restore();
    }
  }
  await tracer.txStart(
    { from: from.bytes, to: tx.to?.bytes, coinbase: block.header.coinbase.bytes, gasLimit: tx.gasLimit },
    vm,
  );
  const detach = attachFrames(vm, tracer);
  const restore = lift();
  let r: RunTxResult;
  try {
    r = await runTx(vm, { ...opts, tx, block });
  } finally {
    restore();
    detach();
  }
  const err = r.execResult.exceptionError;
  await tracer.txEnd(
    {
      gasLimit: tx.gasLimit,
      gasUsed: r.totalGasSpent,
      failed: err !== undefined,
      // geth keeps revert data as the return value, and drops the output of other failures.
      returnValue: err === undefined || err.error === "revert" ? r.execResult.returnValue : new Uint8Array(0),
    },
    vm,
  );
  return r;
}

/** Runs `req` as a transaction on `view` (always reverted afterwards), with at most `gasCap` gas. */
export async function simulate(
  view: SimulationView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  opts: {
    gasCap: bigint;
    gasLimit?: bigint;
    overrides?: StateOverride;
    reportAccessList?: boolean;
    /** Runs the transaction under this tracer (debug_traceCall). */
    tracer?: TxTracer;
  },
): Promise<SimulationResult> {
  const env = envFor(header, req, opts.gasCap);
  const gasLimit = capGas(opts.gasLimit ?? req.gas, opts.gasCap);
  return view.simulate(async (vm) => {
    await applyOverrides(vm, opts.overrides);
    const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
    const nonce = req.nonce ?? (await vm.stateManager.getAccount(from))?.nonce ?? 0n;
    const tx = buildTx(common, req, gasLimit, nonce, env.baseFeePerGas);
    try {
      const block = blockContext(common, header, env);
      const r = await runTraced(
        vm,
        opts.tracer,
        tx,
        from,
        block,
        {
          skipNonce: true,
          // Never skipped: ethereumjs's skipBalance tops the sender up to the tx's cost, whereas geth
          // refuses a value above the balance (without fee fields the cost is just the value).
          skipBalance: false,
          skipBlockGasLimitValidation: true,
          skipHardForkValidation: true,
          reportAccessList: opts.reportAccessList,
        },
        // geth's SkipFromEOACheck: a simulation may run from an address with code.
        true,
      );
      const err = r.execResult.exceptionError;
      const outcome: CallOutcome = {
        returnValue: r.execResult.returnValue,
        reverted: err?.error === "revert",
        error: err !== undefined && err.error !== "revert" ? err.error : undefined,
        gasUsed: r.totalGasSpent,
      };
      // geth's AccessListTracer: sender, recipient and precompiles are left out as addresses, but
      // the storage slots a call reads or writes are listed whatever account they belong to.
      const accessList = r.accessList
        ?.filter((e) => {
          const a = e.address.toLowerCase();
          const excluded =
            a === from.toString() || (req.to !== undefined && req.to !== null && a === req.to) || isPrecompile(a);
          return !excluded || e.storageKeys.length > 0;
        })
        .map((e) => ({ address: e.address.toLowerCase(), storageKeys: e.storageKeys }));
      return { outcome, accessList };
    } catch (e) {
      // Validation failures (intrinsic gas, insufficient funds with explicit fees, …) as geth words them.
      throw new ServerError(simplifyVMError((e as Error).message));
    }
  });
}

/** ethereumjs error strings carry a long debug suffix; keep the reason. */
export function simplifyVMError(msg: string): string {
  if (msg.includes("INTRINSIC_GAS_TOO_LOW") || msg.includes("lower than the minimum gas limit"))
    return "intrinsic gas too low";
  if (msg.includes("sender doesn't have enough funds")) return "insufficient funds for gas * price + value";
  if (msg.includes("is less than the block's baseFeePerGas")) return "max fee per gas less than block base fee";
  const cut = msg.indexOf(" (tx type=");
  return cut > 0 ? msg.slice(0, cut) : msg;
}

export async function estimateGas(
  view: SimulationView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  overrides: StateOverride | undefined,
  gasCap: bigint,
): Promise<bigint> {
  // geth ignores a request gas below the cost of a transfer (it cannot be an upper bound).
  let cap = req.gas !== undefined && req.gas >= TX_GAS && req.gas < gasCap ? req.gas : gasCap;
  const run = (gasLimit: bigint) => simulate(view, common, header, req, { gasCap, gasLimit, overrides });
  const { balance, toHasCode } = await view.simulate(async (vm) => {
    await applyOverrides(vm, overrides);
    const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
    const to = req.to === undefined || req.to === null ? undefined : createAddressFromString(req.to);
    return {
      balance: (await vm.stateManager.getAccount(from))?.balance ?? 0n,
      toHasCode: to === undefined ? true : (await vm.stateManager.getCode(to)).length > 0,
    };
  });
  // geth: with a fee cap, the sender's balance bounds the gas it can buy.
  const feeCap = req.maxFeePerGas ?? req.gasPrice ?? 0n;
  if (feeCap > 0n) {
    const value = req.value ?? 0n;
    if (value >= balance) throw new ServerError("insufficient funds for transfer");
    const allowance = (balance - value) / feeCap;
    if (allowance < cap) cap = allowance;
  }
  // geth: a plain value transfer to an account without code is tried at exactly 21000 first.
  if ((req.data === undefined || req.data.length === 0) && !toHasCode) {
    const transfer = await run(TX_GAS).catch(() => undefined);
    if (transfer !== undefined && !transfer.outcome.reverted && transfer.outcome.error === undefined) return TX_GAS;
  }
  // Below the intrinsic gas even at the cap (a small allowance): geth's "exceeds allowance".
  const first = await run(cap).catch((e: unknown) => {
    if (e instanceof ServerError && e.message === "intrinsic gas too low") return undefined;
    throw e;
  });
  if (first === undefined) throw new ServerError(`gas required exceeds allowance (${cap})`);
  if (first.outcome.reverted) throw new ExecutionRevertedError(first.outcome.returnValue);
  if (first.outcome.error !== undefined) {
    throw new ServerError(
      first.outcome.error === "out of gas" ? `gas required exceeds allowance (${cap})` : first.outcome.error,
    );
  }
  const ok = async (gasLimit: bigint): Promise<boolean> => {
    try {
      const r = await run(gasLimit);
      return !r.outcome.reverted && r.outcome.error === undefined;
    } catch {
      return false; // below intrinsic gas
    }
  };
  let lo = first.outcome.gasUsed - 1n;
  let hi = cap;
  // Most calls need little more than they use (refunds and the 63/64 rule): try that first.
  const optimistic = ((first.outcome.gasUsed + 2300n) * 64n) / 63n;
  if (optimistic < hi && (await ok(optimistic))) hi = optimistic;
  while (lo + 1n < hi) {
    if (Number(hi - lo) / Number(hi) < ESTIMATE_ERROR_RATIO) break;
    let mid = (hi + lo) / 2n;
    if (mid > lo * 2n) mid = lo * 2n; // geth: bias toward the low end first
    if (await ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** eth_createAccessList re-runs at most this often (each run can only add entries). */
const MAX_ACCESS_LIST_ROUNDS = 8;

/** Order-insensitive identity of an access list (geth compares them as sets). */
function accessListKey(list: AccessListEntry[]): string {
  const entry = (e: AccessListEntry) => {
    const keys = e.storageKeys.map((k) => k.toLowerCase()).sort();
    return `${e.address.toLowerCase()}:${keys.join(",")}`;
  };
  return list.map(entry).sort().join(";");
}

/**
 * eth_createAccessList, geth's algorithm: run with the list found so far until the list stops
 * changing, so `gasUsed` is the gas of the transaction sent WITH the returned list (warm accesses,
 * list costs included). Every run is capped at `gasCap`, whatever gas the request names.
 */
export async function createAccessList(
  view: SimulationView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  gasCap: bigint,
): Promise<AccessListResult> {
  let list = req.accessList ?? [];
  for (let round = 1; ; round++) {
    const withList = { ...req, accessList: list };
    const r = await simulate(view, common, header, withList, { gasCap, reportAccessList: true });
    const next = r.accessList ?? [];
    if (round >= MAX_ACCESS_LIST_ROUNDS || accessListKey(next) === accessListKey(list)) {
      const error = r.outcome.reverted ? "execution reverted" : r.outcome.error;
      return { accessList: next, gasUsed: r.outcome.gasUsed, error };
    }
    list = next;
  }
}
