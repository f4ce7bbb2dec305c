/**
 * eth_simulateV1's request (execution-apis `EthSimulatePayload`, geth's `simOpts`): parsed and
 * validated once at the RPC boundary, and laid out as the blocks to simulate — numbers and
 * timestamps filled in, gaps filled with empty blocks, order checked — exactly as geth's
 * `sanitizeChain` does, so a request that fails here never takes a simulation worker.
 */
import { InvalidParamsError, SimulationError, SimulationErrorCode } from "./errors.js";
import { parseAddress, parseCallRequest, parseStateOverride, parseUint64 } from "./params.js";
import type { CallRequest, StateOverride } from "./types.js";

/** geth's maxSimulateBlocks: a simulation spans at most this many blocks past its base. */
export const MAX_SIMULATE_BLOCKS = 256n;
/** Calls in one simulation at most (Azora's limit; geth bounds them by the gas cap only). */
export const MAX_SIMULATE_CALLS = 1000;
/** geth's timestampIncrement: seconds between simulated blocks whose time is not given. */
export const SIMULATE_TIMESTAMP_INCREMENT = 12n;

/** The block fields a simulation may set (the rest are refused: Azora has no randomness beacon, blobs or withdrawals). */
export interface SimulateBlockOverrides {
  number?: bigint;
  time?: bigint;
  gasLimit?: bigint;
  feeRecipient?: string;
  baseFeePerGas?: bigint;
}

export interface SimulateBlockRequest {
  overrides: SimulateBlockOverrides;
  stateOverrides?: StateOverride;
  calls: CallRequest[];
}

export interface SimulateRequest {
  blocks: SimulateBlockRequest[];
  /** Run the checks of a real transaction (nonce, fees, base fee from the parent); off = eth_call's rules. */
  validation: boolean;
  returnFullTransactions: boolean;
}

/** One block to simulate, its number and time settled (a gap block has no calls). */
export interface PlannedBlock {
  number: bigint;
  time: bigint;
  gasLimit?: bigint;
  feeRecipient?: string;
  baseFeePerGas?: bigint;
  stateOverrides?: StateOverride;
  calls: CallRequest[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function present(o: Record<string, unknown>, k: string): boolean {
  return o[k] !== undefined && o[k] !== null;
}

function flag(o: Record<string, unknown>, key: string): boolean {
  if (!present(o, key)) return false;
  if (typeof o[key] !== "boolean") throw new InvalidParamsError(`${key}: expected a boolean`);
  return o[key] as boolean;
}

/** Overrides Azora cannot honour, with why: refused rather than silently ignored. */
const UNSUPPORTED_BLOCK_OVERRIDES: Record<string, string> = {
  prevRandao: "PREVRANDAO is the parent block's hash on Azora",
  random: "PREVRANDAO is the parent block's hash on Azora",
  difficulty: "Azora blocks have no difficulty",
  blobBaseFee: "Azora has no blob transactions",
  beaconRoot: "Azora has no beacon chain",
};

function parseBlockOverrides(v: unknown, where: string): SimulateBlockOverrides {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new InvalidParamsError(`${where}: expected an object`);
  const out: SimulateBlockOverrides = {};
  for (const [key, why] of Object.entries(UNSUPPORTED_BLOCK_OVERRIDES)) {
    if (present(v, key)) throw new InvalidParamsError(`${where}.${key}: not supported (${why})`);
  }
  if (present(v, "withdrawals")) {
    if (!Array.isArray(v.withdrawals) || v.withdrawals.length > 0)
      throw new InvalidParamsError(`${where}.withdrawals: not supported (Azora has no withdrawals)`);
  }
  const uint = (key: keyof SimulateBlockOverrides) => {
    try {
      return parseUint64(v[key]);
    } catch (e) {
      if (e instanceof InvalidParamsError) throw new InvalidParamsError(`${where}.${key}: ${e.message}`);
      throw e;
    }
  };
  if (present(v, "number")) out.number = uint("number");
  if (present(v, "time")) out.time = uint("time");
  if (present(v, "gasLimit")) out.gasLimit = uint("gasLimit");
  if (present(v, "baseFeePerGas")) out.baseFeePerGas = uint("baseFeePerGas");
  if (present(v, "feeRecipient")) out.feeRecipient = parseAddress(v.feeRecipient);
  return out;
}

/** The first parameter of eth_simulateV1. */
export function parseSimulateRequest(v: unknown, where = "invalid argument 0"): SimulateRequest {
  if (!isObject(v)) throw new InvalidParamsError(`${where}: expected an object`);
  if (present(v, "traceTransfers") && v.traceTransfers !== false) {
    if (typeof v.traceTransfers !== "boolean")
      throw new InvalidParamsError(`${where}.traceTransfers: expected a boolean`);
    throw new InvalidParamsError(`${where}.traceTransfers: not supported yet (send false or leave it out)`);
  }
  const raw = v.blockStateCalls;
  if (raw !== undefined && raw !== null && !Array.isArray(raw))
    throw new InvalidParamsError(`${where}.blockStateCalls: expected an array`);
  const list = (raw ?? []) as unknown[];
  // geth: an empty list is invalid params; more blocks than the limit is the client-limit error.
  if (list.length === 0) throw new InvalidParamsError("empty input");
  if (list.length > Number(MAX_SIMULATE_BLOCKS))
    throw new SimulationError(SimulationErrorCode.CLIENT_LIMIT_EXCEEDED, "too many blocks");
  let calls = 0;
  const blocks = list.map((b, i): SimulateBlockRequest => {
    const at = `${where}.blockStateCalls[${i}]`;
    if (!isObject(b)) throw new InvalidParamsError(`${at}: expected an object`);
    const overrides = parseBlockOverrides(b.blockOverrides, `${at}.blockOverrides`);
    let stateOverrides: StateOverride | undefined;
    if (present(b, "stateOverrides")) {
      try {
        stateOverrides = parseStateOverride(b.stateOverrides);
      } catch (e) {
        if (e instanceof InvalidParamsError) throw new InvalidParamsError(`${at}.stateOverrides: ${e.message}`);
        throw e;
      }
    }
    if (present(b, "calls") && !Array.isArray(b.calls)) throw new InvalidParamsError(`${at}.calls: expected an array`);
    const rawCalls = (b.calls ?? []) as unknown[];
    calls += rawCalls.length;
    if (calls > MAX_SIMULATE_CALLS)
      throw new SimulationError(
        SimulationErrorCode.CLIENT_LIMIT_EXCEEDED,
        `too many calls (at most ${MAX_SIMULATE_CALLS} in one simulation)`,
      );
    const parsed = rawCalls.map((c, j) => {
      try {
        return parseCallRequest(c);
      } catch (e) {
        if (e instanceof InvalidParamsError) throw new InvalidParamsError(`${at}.calls[${j}]: ${e.message}`);
        throw e;
      }
    });
    return { overrides, stateOverrides, calls: parsed };
  });
  return { blocks, validation: flag(v, "validation"), returnFullTransactions: flag(v, "returnFullTransactions") };
}

/**
 * geth's sanitizeChain: numbers default to the previous + 1 and must increase (gaps become empty
 * blocks), times default to the previous + 12 s and must not decrease (the spec allows equal times;
 * Azora's own blocks may share a second too), and the span past `base` stays within 256 blocks.
 */
export function planBlocks(req: SimulateRequest, base: { number: bigint; timestamp: bigint }): PlannedBlock[] {
  const out: PlannedBlock[] = [];
  let prevNumber = base.number;
  let prevTime = base.timestamp;
  for (const b of req.blocks) {
    const number = b.overrides.number ?? prevNumber + 1n;
    if (number <= prevNumber)
      throw new SimulationError(
        SimulationErrorCode.BLOCK_NUMBER_NOT_INCREASING,
        `block numbers must be in order: ${number} <= ${prevNumber}`,
      );
    if (number - base.number > MAX_SIMULATE_BLOCKS)
      throw new SimulationError(SimulationErrorCode.CLIENT_LIMIT_EXCEEDED, "too many blocks");
    for (let n = prevNumber + 1n; n < number; n++) {
      prevTime += SIMULATE_TIMESTAMP_INCREMENT;
      out.push({ number: n, time: prevTime, calls: [] });
    }
    const time = b.overrides.time ?? prevTime + SIMULATE_TIMESTAMP_INCREMENT;
    if (time < prevTime)
      throw new SimulationError(
        SimulationErrorCode.BLOCK_TIMESTAMP_NOT_INCREASING,
        `block timestamps must be in order: ${time} < ${prevTime}`,
      );
    out.push({
      number,
      time,
      gasLimit: b.overrides.gasLimit,
      feeRecipient: b.overrides.feeRecipient,
      baseFeePerGas: b.overrides.baseFeePerGas,
      stateOverrides: b.stateOverrides,
      calls: b.calls,
    });
    prevNumber = number;
    prevTime = time;
  }
  return out;
}
