/**
 * Typed JSON-RPC errors and the ONE mapping from any thrown value to a JSON-RPC error object
 * (`toJSONRPCError`). Handlers throw these classes; they never `throw {code, message}`.
 * Codes and messages follow geth so existing tooling (ethers, viem, MetaMask) recognises them.
 */
import { AzoraError } from "../runtime/lib/errors.js";
import { hexToBytes, toHexData } from "./hex.js";

export enum RPCErrorCode {
  PARSE_ERROR = "RPC_ERROR_PARSE_ERROR",
  INVALID_REQUEST = "RPC_ERROR_INVALID_REQUEST",
  METHOD_NOT_FOUND = "RPC_ERROR_METHOD_NOT_FOUND",
  /** A subscription method was called over a transport without notifications (HTTP). */
  NOTIFICATIONS_UNSUPPORTED = "RPC_ERROR_NOTIFICATIONS_UNSUPPORTED",
  INVALID_PARAMS = "RPC_ERROR_INVALID_PARAMS",
  INTERNAL = "RPC_ERROR_INTERNAL",
  /** The transaction was rejected before execution (nonce too low, insufficient funds, ...). */
  TX_REJECTED = "RPC_ERROR_TX_REJECTED",
  /** eth_call / eth_estimateGas reverted; carries the revert data. */
  EXECUTION_REVERTED = "RPC_ERROR_EXECUTION_REVERTED",
  /** Generic -32000 server-side failure with a client-visible message (geth: `header not found`, ...). */
  SERVER_ERROR = "RPC_ERROR_SERVER_ERROR",
  RESOURCE_NOT_FOUND = "RPC_ERROR_RESOURCE_NOT_FOUND",
  LIMIT_EXCEEDED = "RPC_ERROR_LIMIT_EXCEEDED",
  /** The request (or batch) ran out of its time budget. */
  TIMEOUT = "RPC_ERROR_TIMEOUT",
  /** The response (or the batch's responses together) would exceed the byte limit. */
  RESPONSE_TOO_LARGE = "RPC_ERROR_RESPONSE_TOO_LARGE",
  /** eth_simulateV1 refused a block or a call (its own -380xx codes, from the execution-apis). */
  SIMULATION = "RPC_ERROR_SIMULATION",
}

/** Numeric JSON-RPC codes (JSON-RPC 2.0 spec, EIP-1474 and geth). */
export const JSONRPC_CODE = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  SERVER_ERROR: -32000,
  RESOURCE_NOT_FOUND: -32001,
  TIMEOUT: -32002,
  RESPONSE_TOO_LARGE: -32003,
  LIMIT_EXCEEDED: -32005,
  EXECUTION_REVERTED: 3,
} as const;

export type RPCErrorType =
  | { code: RPCErrorCode.PARSE_ERROR }
  | { code: RPCErrorCode.INVALID_REQUEST; reason: string }
  | { code: RPCErrorCode.METHOD_NOT_FOUND; method: string }
  | { code: RPCErrorCode.NOTIFICATIONS_UNSUPPORTED }
  | { code: RPCErrorCode.INVALID_PARAMS; reason: string }
  | { code: RPCErrorCode.INTERNAL; reason: string }
  | { code: RPCErrorCode.TX_REJECTED; reason: string }
  | { code: RPCErrorCode.EXECUTION_REVERTED; reason?: string; data: string }
  | { code: RPCErrorCode.SERVER_ERROR; reason: string }
  | { code: RPCErrorCode.RESOURCE_NOT_FOUND; reason: string }
  | { code: RPCErrorCode.LIMIT_EXCEEDED; reason: string }
  | { code: RPCErrorCode.TIMEOUT }
  | { code: RPCErrorCode.RESPONSE_TOO_LARGE }
  | { code: RPCErrorCode.SIMULATION; reason: string; simulationCode: SimulationErrorCode };

/** The JSON-RPC `error` member. */
export interface JSONRPCErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** Base of every error whose message is safe to show to a JSON-RPC client. */
export class RPCError<T extends RPCErrorType = RPCErrorType> extends AzoraError<T> {
  readonly jsonRpcCode: number;
  readonly data: unknown;

  constructor(type: T, jsonRpcCode: number, message: string, data?: unknown) {
    super(type, message);
    this.jsonRpcCode = jsonRpcCode;
    this.data = data;
  }
}

/** -32700: the request is not valid JSON (or a binary WebSocket frame). */
export class ParseError extends RPCError<{ code: RPCErrorCode.PARSE_ERROR }> {
  constructor() {
    super({ code: RPCErrorCode.PARSE_ERROR }, JSONRPC_CODE.PARSE_ERROR, "parse error");
  }
}

/** -32600: not a valid JSON-RPC 2.0 request object / batch. */
export class InvalidRequestError extends RPCError<{ code: RPCErrorCode.INVALID_REQUEST; reason: string }> {
  constructor(reason = "invalid request") {
    super({ code: RPCErrorCode.INVALID_REQUEST, reason }, JSONRPC_CODE.INVALID_REQUEST, reason);
  }
}

/** Client input quoted in an error message is cut to this many characters. */
export const MAX_ECHO_LENGTH = 64;
/** No error message is longer than this (a backstop behind `echo`). */
export const MAX_ERROR_MESSAGE_LENGTH = 4096;

/**
 * `s` as an error message may quote it: at most `max` characters, then `…`. A client's own input
 * is never sent back whole (a 4 MB method name would otherwise come back as a 4 MB error).
 */
export function echo(s: string, max = MAX_ECHO_LENGTH): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** -32601: `the method <name> does not exist/is not available` (the name cut by `echo`). */
export class MethodNotFoundError extends RPCError<{ code: RPCErrorCode.METHOD_NOT_FOUND; method: string }> {
  constructor(method: string) {
    const shown = echo(method);
    super(
      { code: RPCErrorCode.METHOD_NOT_FOUND, method: shown },
      JSONRPC_CODE.METHOD_NOT_FOUND,
      `the method ${shown} does not exist/is not available`,
    );
  }
}

/** -32601 `notifications not supported` (geth's answer to eth_subscribe over HTTP). */
export class NotificationsUnsupportedError extends RPCError<{ code: RPCErrorCode.NOTIFICATIONS_UNSUPPORTED }> {
  constructor() {
    super(
      { code: RPCErrorCode.NOTIFICATIONS_UNSUPPORTED },
      JSONRPC_CODE.METHOD_NOT_FOUND,
      "notifications not supported",
    );
  }
}

/** -32602: a parameter is missing, superfluous or malformed. The message is shown verbatim. */
export class InvalidParamsError extends RPCError<{ code: RPCErrorCode.INVALID_PARAMS; reason: string }> {
  constructor(reason: string) {
    super({ code: RPCErrorCode.INVALID_PARAMS, reason }, JSONRPC_CODE.INVALID_PARAMS, reason);
  }
}

/**
 * -32603 raised deliberately by a handler; its message IS shown to the client. Unexpected
 * exceptions (anything that is not an RPCError) are also mapped to -32603 but as `internal error`.
 */
export class InternalError extends RPCError<{ code: RPCErrorCode.INTERNAL; reason: string }> {
  constructor(reason = "internal error") {
    super({ code: RPCErrorCode.INTERNAL, reason }, JSONRPC_CODE.INTERNAL, reason);
  }
}

/** -32000 with geth's message, e.g. `nonce too low`, `insufficient funds for gas * price + value`. */
export class TxRejectedError extends RPCError<{ code: RPCErrorCode.TX_REJECTED; reason: string }> {
  constructor(reason: string) {
    super({ code: RPCErrorCode.TX_REJECTED, reason }, JSONRPC_CODE.SERVER_ERROR, reason);
  }
}

/** -32000 with a client-visible message, as geth answers most backend failures (`header not found`). */
export class ServerError extends RPCError<{ code: RPCErrorCode.SERVER_ERROR; reason: string }> {
  constructor(reason: string) {
    super({ code: RPCErrorCode.SERVER_ERROR, reason }, JSONRPC_CODE.SERVER_ERROR, reason);
  }
}

/** -32001, e.g. `header not found`. */
export class ResourceNotFoundError extends RPCError<{ code: RPCErrorCode.RESOURCE_NOT_FOUND; reason: string }> {
  constructor(reason: string) {
    super({ code: RPCErrorCode.RESOURCE_NOT_FOUND, reason }, JSONRPC_CODE.RESOURCE_NOT_FOUND, reason);
  }
}

/** -32005, e.g. `query returned more than 10000 results`. */
export class LimitExceededError extends RPCError<{ code: RPCErrorCode.LIMIT_EXCEEDED; reason: string }> {
  constructor(reason: string) {
    super({ code: RPCErrorCode.LIMIT_EXCEEDED, reason }, JSONRPC_CODE.LIMIT_EXCEEDED, reason);
  }
}

/** -32002 `request timed out` (geth's errcodeTimeout): the request or batch ran out of time. */
export class RequestTimeoutError extends RPCError<{ code: RPCErrorCode.TIMEOUT }> {
  constructor() {
    super({ code: RPCErrorCode.TIMEOUT }, JSONRPC_CODE.TIMEOUT, "request timed out");
  }
}

/** -32003 `response too large` (geth's errcodeResponseTooLarge), answered instead of building it. */
export class ResponseTooLargeError extends RPCError<{ code: RPCErrorCode.RESPONSE_TOO_LARGE }> {
  constructor() {
    super({ code: RPCErrorCode.RESPONSE_TOO_LARGE }, JSONRPC_CODE.RESPONSE_TOO_LARGE, "response too large");
  }
}

/** eth_simulateV1's error codes (execution-apis `eth_simulateV1` errors; geth's simulate errors). */
export enum SimulationErrorCode {
  NONCE_TOO_LOW = -38010,
  NONCE_TOO_HIGH = -38011,
  BASE_FEE_TOO_LOW = -38012,
  INTRINSIC_GAS_TOO_LOW = -38013,
  INSUFFICIENT_FUNDS = -38014,
  BLOCK_GAS_LIMIT_REACHED = -38015,
  BLOCK_NUMBER_NOT_INCREASING = -38020,
  BLOCK_TIMESTAMP_NOT_INCREASING = -38021,
  SENDER_NOT_EOA = -38024,
  MAX_INIT_CODE_SIZE_EXCEEDED = -38025,
  CLIENT_LIMIT_EXCEEDED = -38026,
  /** Transactions maxFeePerGas is too low (geth's -32005 here). */
  FEE_CAP_TOO_LOW = -32005,
}

/** A block or call eth_simulateV1 refuses, with the spec's code for it and geth's wording. */
export class SimulationError extends RPCError<{
  code: RPCErrorCode.SIMULATION;
  reason: string;
  simulationCode: SimulationErrorCode;
}> {
  constructor(simulationCode: SimulationErrorCode, reason: string) {
    super({ code: RPCErrorCode.SIMULATION, reason, simulationCode }, simulationCode, reason);
  }
}

/**
 * Code 3 `execution reverted[: <reason>]` with `data` = the revert data as hex, as geth answers
 * eth_call / eth_estimateGas. Without an explicit reason, `Error(string)` and `Panic(uint256)`
 * payloads are decoded like geth's `abi.UnpackRevert`.
 */
export class ExecutionRevertedError extends RPCError<{
  code: RPCErrorCode.EXECUTION_REVERTED;
  reason?: string;
  data: string;
}> {
  constructor(revertData: Uint8Array | string = new Uint8Array(0), reason?: string) {
    const bytes = typeof revertData === "string" ? (hexToBytes(revertData) ?? new Uint8Array(0)) : revertData;
    const data = toHexData(bytes);
    const why = reason ?? decodeRevertReason(bytes);
    super(
      { code: RPCErrorCode.EXECUTION_REVERTED, reason: why, data },
      JSONRPC_CODE.EXECUTION_REVERTED,
      why === undefined ? "execution reverted" : `execution reverted: ${why}`,
      data,
    );
  }
}

/** Solidity panic codes, worded as geth's `abi.panicReasons`. */
const PANIC_REASONS: Readonly<Record<number, string>> = {
  0: "generic panic",
  1: "assert(false)",
  17: "arithmetic underflow or overflow",
  18: "division or modulo by zero",
  33: "enum overflow",
  34: "invalid encoded storage byte array accessed",
  49: "out-of-bounds array access; popping on an empty array",
  50: "out-of-bounds access of an array or bytesN",
  65: "out of memory",
  81: "uninitialized function",
};

/** Decodes `Error(string)` (0x08c379a0) and `Panic(uint256)` (0x4e487b71) revert data; else undefined. */
export function decodeRevertReason(data: Uint8Array): string | undefined {
  if (data.length < 4 + 32) return undefined;
  const selector = toHexData(data.subarray(0, 4));
  const word = (offset: number): bigint | undefined =>
    offset + 32 <= data.length ? BigInt(toHexData(data.subarray(offset, offset + 32))) : undefined;
  if (selector === "0x4e487b71") {
    const code = word(4);
    if (code === undefined) return undefined;
    return code <= 0xffn && PANIC_REASONS[Number(code)] !== undefined
      ? PANIC_REASONS[Number(code)]
      : `unknown panic code: 0x${code.toString(16)}`;
  }
  if (selector !== "0x08c379a0") return undefined;
  const offset = word(4);
  if (offset === undefined || offset > BigInt(data.length)) return undefined;
  const start = 4 + Number(offset);
  const length = word(start);
  if (length === undefined || BigInt(start + 32) + length > BigInt(data.length)) return undefined;
  return new TextDecoder().decode(data.subarray(start + 32, start + 32 + Number(length)));
}

/** True for errors whose message may be shown to clients; anything else is a bug to be logged. */
export function isRPCError(e: unknown): e is RPCError {
  return e instanceof RPCError;
}

/**
 * The ONE mapping from a thrown value to the JSON-RPC `error` member. Unknown exceptions become
 * -32603 `internal error`: their message never reaches the client (the server logs them).
 */
export function toJSONRPCError(e: unknown): JSONRPCErrorObject {
  if (e instanceof RPCError) {
    const message = echo(e.message, MAX_ERROR_MESSAGE_LENGTH);
    return e.data === undefined ? { code: e.jsonRpcCode, message } : { code: e.jsonRpcCode, message, data: e.data };
  }
  return { code: JSONRPC_CODE.INTERNAL, message: "internal error" };
}
