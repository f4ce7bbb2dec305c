import type { Common } from "@ethereumjs/common";
import { createFeeMarket1559Tx, type FeeMarket1559Tx } from "@ethereumjs/tx";
import { Account, Address, createAddressFromString } from "@ethereumjs/util";
import { runTx, type VM } from "@ethereumjs/vm";
import type { CallOutcome } from "../../rpc/backend.js";
import { ExecutionRevertedError, ServerError } from "../../rpc/errors.js";
import type { CallRequest, StateOverride } from "../../rpc/types.js";
import { type BlockEnv, ethBlockForEnv } from "../../runtime/evm/vm.js";
import type { BlockHeader } from "../../runtime/primitives/block.js";
import type { StateView } from "../state/readers.js";

/** geth's RPCGasCap: the most gas one eth_call / estimate may burn. */
export const RPC_GAS_CAP = 50_000_000n;
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
 * base fee is taken as zero (so unfunded callers can simulate), and balances are not checked.
 */
function envFor(header: BlockHeader, req: CallRequest): BlockEnv {
  return {
    number: header.number,
    timestamp: header.timestamp,
    gasLimit: header.gasLimit > RPC_GAS_CAP ? header.gasLimit : RPC_GAS_CAP,
    baseFeePerGas: hasFees(req) ? header.baseFeePerGas : 0n,
    miner: header.miner,
    parentHash: header.parentHash,
  };
}

async function applyOverrides(vm: VM, overrides: StateOverride | undefined): Promise<void> {
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

/** An unsigned type-2 tx whose sender is the request's `from` (nothing is ever signed). */
function buildTx(common: Common, req: CallRequest, gasLimit: bigint, nonce: bigint, baseFee: bigint): FeeMarket1559Tx {
  const maxFee = req.maxFeePerGas ?? req.gasPrice ?? baseFee;
  const tx = createFeeMarket1559Tx(
    {
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

/** Runs `req` as a transaction on `view` (always reverted afterwards). */
export async function simulate(
  view: StateView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  opts: { gasLimit?: bigint; overrides?: StateOverride; reportAccessList?: boolean },
): Promise<SimulationResult> {
  const env = envFor(header, req);
  const gasLimit = opts.gasLimit ?? req.gas ?? RPC_GAS_CAP;
  return view.simulate(async (vm) => {
    await applyOverrides(vm, opts.overrides);
    const from = req.from === undefined ? ZERO_ADDRESS : createAddressFromString(req.from);
    const nonce = req.nonce ?? (await vm.stateManager.getAccount(from))?.nonce ?? 0n;
    const tx = buildTx(common, req, gasLimit, nonce, env.baseFeePerGas);
    try {
      const r = await runTx(vm, {
        tx,
        block: ethBlockForEnv(common, env),
        skipNonce: true,
        skipBalance: !hasFees(req),
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
        reportAccessList: opts.reportAccessList,
      });
      const err = r.execResult.exceptionError;
      const outcome: CallOutcome = {
        returnValue: r.execResult.returnValue,
        reverted: err?.error === "revert",
        error: err !== undefined && err.error !== "revert" ? err.error : undefined,
        gasUsed: r.totalGasSpent,
      };
      const accessList = r.accessList
        ?.filter((e) => {
          const a = e.address.toLowerCase();
          if (a === from.toString() || (req.to !== undefined && req.to !== null && a === req.to)) return false;
          return BigInt(a) > BigInt(PRECOMPILE_MAX);
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
  view: StateView,
  common: Common,
  header: BlockHeader,
  req: CallRequest,
  overrides: StateOverride | undefined,
): Promise<bigint> {
  const cap = req.gas !== undefined && req.gas < RPC_GAS_CAP ? req.gas : RPC_GAS_CAP;
  const run = (gasLimit: bigint) => simulate(view, common, header, req, { gasLimit, overrides });
  const first = await run(cap);
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
