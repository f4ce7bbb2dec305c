/**
 * Transport-agnostic JSON-RPC 2.0 request handling: envelope validation, batches, notifications,
 * param parsing, dispatch to the method table, error mapping and result serialisation
 * (bigint → 0x quantity, Uint8Array → 0x data). The HTTP and WebSocket layers in `server.ts` only
 * move strings.
 */
import type { Logger } from "../runtime/lib/logger.js";
import {
  InvalidRequestError,
  isRPCError,
  type JSONRPCErrorObject,
  MethodNotFoundError,
  ParseError,
  toJSONRPCError,
} from "./errors.js";
import { toHexData } from "./hex.js";
import { parseParams } from "./params.js";
import type { CallContext, MethodTable, RPCMetrics } from "./types.js";

export { toHexData, toHexQuantity } from "./hex.js";

/** geth's `BatchRequestLimit`. */
export const DEFAULT_BATCH_LIMIT = 1000;
/** Nesting bound of a serialised result (also catches cycles). */
const MAX_RESULT_DEPTH = 256;
/** Method names longer than this are cut in logs. */
const MAX_LOGGED_METHOD_LENGTH = 64;

export type JSONRPCId = string | number | null;

export interface JSONRPCSuccess {
  jsonrpc: "2.0";
  id: JSONRPCId;
  result: unknown;
}

export interface JSONRPCFailure {
  jsonrpc: "2.0";
  id: JSONRPCId;
  error: JSONRPCErrorObject;
}

export type JSONRPCResponse = JSONRPCSuccess | JSONRPCFailure;

export interface DispatchOptions {
  /** Max items in a batch (default 1000). */
  batchLimit?: number;
  /** Calls are logged at debug; unexpected handler exceptions at error. */
  logger?: Logger;
  metrics?: RPCMetrics;
}

// --- serialisation --------------------------------------------------------------------------

function bigintToHex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function walk(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : null;
    case "bigint":
      return bigintToHex(v);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (v === null) return null;
  if (depth >= MAX_RESULT_DEPTH) throw new RangeError("result nested too deeply (or cyclic)");
  if (v instanceof Uint8Array) return toHexData(v);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = walk(v[i], depth + 1) ?? null;
    return out;
  }
  const obj = v as Record<string, unknown>;
  if (typeof obj.toJSON === "function") return walk((obj.toJSON as () => unknown)(), depth + 1);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const value = walk(obj[key], depth + 1);
    if (value === undefined) continue;
    if (key === "__proto__")
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/**
 * Converts a handler result to plain JSON: bigint → `0x` quantity, Uint8Array (and Buffer) → `0x`
 * data, undefined → dropped (null in arrays), non-finite numbers → null. Throws RangeError on
 * cycles / nesting deeper than 256.
 */
export function toJSONValue(value: unknown): unknown {
  return walk(value, 0);
}

/** JSON text of any message (notification, response) with `toJSONValue`'s conversions. */
export function serializeMessage(message: unknown): string {
  return JSON.stringify(toJSONValue(message) ?? null);
}

/** A response carrying `toJSONRPCError(e)`. */
export function errorResponse(id: JSONRPCId, e: unknown): JSONRPCFailure {
  const error = toJSONRPCError(e);
  if (error.data !== undefined) {
    try {
      error.data = toJSONValue(error.data);
    } catch {
      delete error.data;
    }
  }
  return { jsonrpc: "2.0", id, error };
}

// --- dispatch -------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isValidId(id: unknown): id is JSONRPCId {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

function logName(method: string): string {
  return method.length > MAX_LOGGED_METHOD_LENGTH ? `${method.slice(0, MAX_LOGGED_METHOD_LENGTH)}…` : method;
}

/** One request object (batch item or single). Returns undefined for notifications. */
async function handleCall(
  req: Record<string, unknown>,
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions,
): Promise<JSONRPCResponse | undefined> {
  const hasId = Object.hasOwn(req, "id");
  const idValid = !hasId || isValidId(req.id);
  const id: JSONRPCId = hasId && idValid ? (req.id as JSONRPCId) : null;
  if (req.jsonrpc !== "2.0" || typeof req.method !== "string" || !idValid) {
    return errorResponse(id, new InvalidRequestError());
  }
  const method = req.method;
  const def = Object.hasOwn(table, method) ? table[method] : undefined;
  const startMs = performance.now();
  let ok = false;
  try {
    if (def === undefined) throw new MethodNotFoundError(method);
    const args = parseParams(def.params, req.params);
    const result = await def.handler(args, ctx);
    if (!hasId) {
      ok = true;
      return undefined;
    }
    const response: JSONRPCSuccess = { jsonrpc: "2.0", id, result: toJSONValue(result) ?? null };
    ok = true;
    return response;
  } catch (e) {
    if (!isRPCError(e)) {
      opts.logger?.error("RPC handler failed", { method: logName(method), transport: ctx.transport }, e);
    }
    return hasId ? errorResponse(id, e) : undefined;
  } finally {
    const seconds = (performance.now() - startMs) / 1000;
    // Unknown names are not observed: they would give attacker-controlled metric labels.
    if (def !== undefined) opts.metrics?.observe(method, seconds, ok);
    opts.logger?.debug("RPC call", {
      method: logName(method),
      transport: ctx.transport,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      ok,
    });
  }
}

/**
 * Handles one parsed JSON-RPC message (single request or batch). Returns the response object, the
 * array of batch responses (request order; notifications omitted), or undefined when nothing is
 * to be sent (a notification, or a batch of notifications only). Never throws.
 */
export async function handleMessage(
  msg: unknown,
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions = {},
): Promise<JSONRPCResponse | JSONRPCResponse[] | undefined> {
  if (Array.isArray(msg)) {
    if (msg.length === 0) return errorResponse(null, new InvalidRequestError("empty batch"));
    if (msg.length > (opts.batchLimit ?? DEFAULT_BATCH_LIMIT)) {
      return errorResponse(null, new InvalidRequestError("batch too large"));
    }
    const responses = await Promise.all(
      msg.map((item) =>
        isObject(item) ? handleCall(item, table, ctx, opts) : errorResponse(null, new InvalidRequestError()),
      ),
    );
    const sent = responses.filter((r): r is JSONRPCResponse => r !== undefined);
    return sent.length === 0 ? undefined : sent;
  }
  if (!isObject(msg)) return errorResponse(null, new InvalidRequestError());
  return handleCall(msg, table, ctx, opts);
}

/**
 * Parses a request body / text frame and handles it. Returns the JSON response text, or undefined
 * when there is nothing to answer. Invalid JSON → `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,...}}`.
 */
export async function handleRawBody(
  body: string,
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions = {},
): Promise<string | undefined> {
  let msg: unknown;
  try {
    msg = JSON.parse(body);
  } catch {
    return JSON.stringify(errorResponse(null, new ParseError()));
  }
  const response = await handleMessage(msg, table, ctx, opts);
  return response === undefined ? undefined : JSON.stringify(response);
}
