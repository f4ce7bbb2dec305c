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
  LimitExceededError,
  MethodNotFoundError,
  ParseError,
  RequestTimeoutError,
  ResponseTooLargeError,
  toJSONRPCError,
} from "./errors.js";
import { toHexData } from "./hex.js";
import { parseParams } from "./params.js";
import { clientKey } from "./quota.js";
import type { CallContext, MethodTable, RequestBudget, RPCMetrics } from "./types.js";

export { toHexData, toHexQuantity } from "./hex.js";

/** geth's `BatchRequestLimit`. */
export const DEFAULT_BATCH_LIMIT = 1000;
/** geth's `BatchResponseMaxSize`; here it bounds a single response too. */
export const DEFAULT_MAX_RESPONSE_BYTES = 25_000_000;
/** Cost units one batch may use (a call costs its method's `cost`, 1 unless declared). */
export const DEFAULT_BATCH_MAX_COST = 5000;
/** Time one request or one whole batch may take. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Batch items in progress at once. geth runs them one by one; a few at a time overlap database
 * reads and simulations without letting one batch flood the node (budgets are shared anyway).
 */
const BATCH_CONCURRENCY = 4;
/** Nesting bound of a serialised result (also catches cycles). */
const MAX_RESULT_DEPTH = 256;
/** Method names longer than this are cut in logs. */
const MAX_LOGGED_METHOD_LENGTH = 64;

export type JSONRPCId = string | number | null;

/**
 * A handler result that is JSON text already (e.g. a log query assembled from cached per-log
 * texts): it goes into the response as is, without being walked and serialised again. It may be
 * given in pieces (`parts` concatenated), which are joined only once, with the rest of the batch.
 */
export class RawJSON {
  readonly parts: string[];
  readonly length: number;
  constructor(text: string | string[]) {
    this.parts = typeof text === "string" ? [text] : text;
    let n = 0;
    for (const p of this.parts) n += p.length;
    this.length = n;
  }
}

/** A serialised response, possibly in pieces that are joined when the whole answer is. */
type Serialised = string | string[];

const sizeOf = (s: Serialised): number => (typeof s === "string" ? s.length : s.reduce((n, p) => n + p.length, 0));
const joined = (s: Serialised): string => (typeof s === "string" ? s : s.join(""));

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
  /**
   * Bytes of one response, and of all responses of one batch together (default 25,000,000). Past
   * it the call answers -32003 `response too large`, and a batch's remaining calls are not run.
   */
  maxResponseBytes?: number;
  /** Cost units one batch may use (default 5000); calls past it answer -32005 without running. */
  batchMaxCost?: number;
  /** Time one request or batch may take (default 10 s); calls not started by then answer -32002. */
  requestTimeoutMs?: number;
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

/**
 * The byte and time budget of one request or one batch. Methods charge estimates of what they are
 * about to build (`chargeBytes`); when a call's response is serialised its estimate is replaced by
 * the real size (`settle`), so the budget ends up counting exactly what is sent.
 */
class Budget {
  usedBytes = 0;
  /** A response did not fit: as in geth, the calls not yet started are not run. */
  overflowed = false;
  constructor(
    readonly maxBytes: number,
    readonly deadlineMs: number,
    readonly client: string,
  ) {}

  get exhausted(): boolean {
    return this.overflowed || this.usedBytes >= this.maxBytes;
  }

  timeUp(): boolean {
    return performance.now() > this.deadlineMs;
  }

  /** A view for one call: its charges count at once, and are replaced by its real size later. */
  forCall(): CallBudget {
    return new CallBudget(this);
  }

  /** Replaces a call's estimate by the size of its serialised response; false when over budget. */
  settle(call: CallBudget, bytes: number): boolean {
    this.usedBytes += bytes - call.charged;
    call.charged = bytes;
    if (this.usedBytes <= this.maxBytes) return true;
    this.overflowed = true;
    return false;
  }
}

class CallBudget implements RequestBudget {
  charged = 0;
  readonly deadlineMs: number;
  readonly client: string;
  constructor(private readonly shared: Budget) {
    this.deadlineMs = shared.deadlineMs;
    this.client = shared.client;
  }

  chargeBytes(bytes: number): void {
    this.charged += bytes;
    this.shared.usedBytes += bytes;
    if (this.shared.usedBytes > this.shared.maxBytes) {
      this.shared.overflowed = true;
      throw new ResponseTooLargeError();
    }
  }

  checkTime(): void {
    if (this.shared.timeUp()) throw new RequestTimeoutError();
  }
}

function errorText(id: JSONRPCId, e: unknown): string {
  return JSON.stringify(errorResponse(id, e));
}

interface ParsedCall {
  req: Record<string, unknown>;
  hasId: boolean;
  id: JSONRPCId;
  /** undefined when the envelope itself is invalid. */
  method?: string;
}

function parseCall(req: Record<string, unknown>): ParsedCall {
  const hasId = Object.hasOwn(req, "id");
  const idValid = !hasId || isValidId(req.id);
  const id: JSONRPCId = hasId && idValid ? (req.id as JSONRPCId) : null;
  const valid = req.jsonrpc === "2.0" && typeof req.method === "string" && idValid;
  return { req, hasId, id, method: valid ? (req.method as string) : undefined };
}

/**
 * Runs one request object (batch item or single) and returns its serialised response, or
 * undefined for a notification. The response counts against `budget`; one that does not fit is
 * answered -32003 instead.
 */
async function runCall(
  call: ParsedCall,
  table: MethodTable,
  ctx: CallContext,
  budget: Budget,
  opts: DispatchOptions,
): Promise<Serialised | undefined> {
  const { hasId, id, method } = call;
  if (method === undefined) return errorText(id, new InvalidRequestError());
  const def = Object.hasOwn(table, method) ? table[method] : undefined;
  const callBudget = budget.forCall();
  const startMs = performance.now();
  let ok = false;
  try {
    if (def === undefined) throw new MethodNotFoundError(method);
    const args = parseParams(def.params, call.req.params);
    const result = await def.handler(args, { ...ctx, budget: callBudget });
    if (!hasId) {
      ok = true;
      return undefined;
    }
    const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`;
    const text: Serialised =
      result instanceof RawJSON
        ? [head, ...result.parts, "}"]
        : `${head}${JSON.stringify(toJSONValue(result) ?? null)}}`;
    if (!budget.settle(callBudget, sizeOf(text))) {
      budget.settle(callBudget, 0);
      throw new ResponseTooLargeError();
    }
    ok = true;
    return text;
  } catch (e) {
    if (!isRPCError(e)) {
      opts.logger?.error("RPC handler failed", { method: logName(method), transport: ctx.transport }, e);
    }
    if (!hasId) return undefined;
    const text = errorText(id, e);
    budget.settle(callBudget, text.length);
    return text;
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
 * A batch, as geth serves it with its limits: items run in order (a few at a time), all sharing
 * one byte budget and one deadline. Once the responses reach the byte limit, or the time is up,
 * the items not yet started answer -32003 / -32002 without running; items past the batch's cost
 * budget answer -32005 without running. So a batch of 1,000 expensive calls costs what its
 * budget allows, never 1,000 times a call's worth of memory.
 */
async function runBatch(
  items: unknown[],
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions,
): Promise<string | undefined> {
  const budget = new Budget(
    opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    performance.now() + (opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    clientKey(ctx),
  );
  const maxCost = opts.batchMaxCost ?? DEFAULT_BATCH_MAX_COST;
  const calls = items.map((item) => (isObject(item) ? parseCall(item) : undefined));
  const out: (Serialised | undefined)[] = new Array(items.length);
  let cost = 0;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const call = calls[i];
      if (call === undefined) {
        out[i] = errorText(null, new InvalidRequestError());
        continue;
      }
      const def = call.method !== undefined && Object.hasOwn(table, call.method) ? table[call.method] : undefined;
      cost += def?.cost ?? 1;
      let refusal: Error | undefined;
      if (cost > maxCost) refusal = new LimitExceededError(`batch cost budget exceeded (limit ${maxCost})`);
      else if (budget.exhausted) refusal = new ResponseTooLargeError();
      else if (budget.timeUp()) refusal = new RequestTimeoutError();
      if (refusal !== undefined) {
        out[i] = call.hasId ? errorText(call.id, refusal) : undefined;
        continue;
      }
      out[i] = await runCall(call, table, ctx, budget, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, worker));
  // One join for the whole answer: the pieces of every response and the separators.
  const pieces: string[] = ["["];
  for (const r of out) {
    if (r === undefined) continue;
    if (pieces.length > 1) pieces.push(",");
    if (typeof r === "string") pieces.push(r);
    else for (const p of r) pieces.push(p);
  }
  return pieces.length === 1 ? undefined : `${pieces.join("")}]`;
}

/**
 * Handles one parsed JSON-RPC message (single request or batch) and returns the JSON text to
 * send, or undefined when nothing is to be sent (a notification, or a batch of notifications
 * only). Never throws.
 */
export async function handleParsed(
  msg: unknown,
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions = {},
): Promise<string | undefined> {
  if (Array.isArray(msg)) {
    if (msg.length === 0) return errorText(null, new InvalidRequestError("empty batch"));
    if (msg.length > (opts.batchLimit ?? DEFAULT_BATCH_LIMIT)) {
      return errorText(null, new InvalidRequestError("batch too large"));
    }
    return runBatch(msg, table, ctx, opts);
  }
  if (!isObject(msg)) return errorText(null, new InvalidRequestError());
  const budget = new Budget(
    opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    performance.now() + (opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    clientKey(ctx),
  );
  const text = await runCall(parseCall(msg), table, ctx, budget, opts);
  return text === undefined ? undefined : joined(text);
}

/**
 * `handleParsed` returning the response as objects: the response, the array of batch responses
 * (request order; notifications omitted), or undefined when nothing is to be sent.
 */
export async function handleMessage(
  msg: unknown,
  table: MethodTable,
  ctx: CallContext,
  opts: DispatchOptions = {},
): Promise<JSONRPCResponse | JSONRPCResponse[] | undefined> {
  const text = await handleParsed(msg, table, ctx, opts);
  return text === undefined ? undefined : (JSON.parse(text) as JSONRPCResponse | JSONRPCResponse[]);
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
  return handleParsed(msg, table, ctx, opts);
}
