/**
 * geth's `TraceConfig` / `TraceCallConfig` (debug_trace* options): which tracer, its options, and
 * its time budget, parsed and validated once at the RPC boundary into plain data that travels to
 * the simulation worker that runs the trace.
 */
import { InvalidParamsError } from "./errors.js";
import { parseStateOverride } from "./params.js";
import type { StateOverride } from "./types.js";

/** The tracers Azora implements, by geth's names; `structLogger` is geth's default (no `tracer`). */
export type TracerName = "structLogger" | "callTracer" | "prestateTracer" | "4byteTracer";

export interface StructLoggerOptions {
  enableMemory: boolean;
  disableStack: boolean;
  disableStorage: boolean;
  enableReturnData: boolean;
  /** Steps recorded at most; 0 = all. */
  limit: number;
}

export interface CallTracerOptions {
  onlyTopCall: boolean;
  withLog: boolean;
}

export interface PrestateTracerOptions {
  diffMode: boolean;
  disableCode: boolean;
  disableStorage: boolean;
}

export type TraceOptions =
  | { tracer: "structLogger"; config: StructLoggerOptions }
  | { tracer: "callTracer"; config: CallTracerOptions }
  | { tracer: "prestateTracer"; config: PrestateTracerOptions }
  | { tracer: "4byteTracer"; config: Record<string, never> };

export interface TraceRequest {
  options: TraceOptions;
  /** The trace's wall-clock budget (geth's `timeout`, default 5 s), in ms. */
  timeoutMs?: number;
}

export interface TraceCallRequest extends TraceRequest {
  stateOverrides?: StateOverride;
}

const TRACER_NAMES = "callTracer, prestateTracer, 4byteTracer, or none for the struct logger";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function flag(obj: Record<string, unknown>, key: string, where: string): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new InvalidParamsError(`${where}.${key}: expected a boolean`);
  return v;
}

/** Go duration strings as geth's `time.ParseDuration` takes them for `timeout` ("5s", "300ms", "1m30s"). */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  if (s.length === 0) throw new InvalidParamsError(`time: invalid duration "${s}"`);
  let ms = 0;
  let pos = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    ms += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length) throw new InvalidParamsError(`time: invalid duration "${s.slice(0, 32)}"`);
  return ms;
}

const KNOWN_KEYS = new Set([
  "tracer",
  "tracerConfig",
  "timeout",
  "reexec",
  "enableMemory",
  "disableStack",
  "disableStorage",
  "enableReturnData",
  "limit",
  "debug",
  "overrides",
  // TraceCallConfig
  "stateOverrides",
  "blockOverrides",
  "txIndex",
]);

/** A TraceConfig object (or nothing) as debug_traceTransaction and debug_traceBlock* take it. */
export function parseTraceConfig(v: unknown, where = "invalid argument 1 (config)"): TraceRequest {
  if (v === undefined || v === null) return { options: { tracer: "structLogger", config: defaultStructLogger() } };
  if (!isObject(v)) throw new InvalidParamsError(`${where}: expected an object`);
  for (const key of Object.keys(v)) {
    if (!KNOWN_KEYS.has(key))
      throw new InvalidParamsError(`${where}: unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
  let timeoutMs: number | undefined;
  if (v.timeout !== undefined && v.timeout !== null) {
    if (typeof v.timeout !== "string") throw new InvalidParamsError(`${where}.timeout: expected a duration string`);
    timeoutMs = parseGoDuration(v.timeout);
  }
  const tracer = v.tracer ?? "";
  if (typeof tracer !== "string") throw new InvalidParamsError(`${where}.tracer: expected a string`);
  const tc = v.tracerConfig ?? {};
  if (!isObject(tc)) throw new InvalidParamsError(`${where}.tracerConfig: expected an object`);
  const tcWhere = `${where}.tracerConfig`;
  switch (tracer) {
    case "": {
      const limit = v.limit ?? 0;
      if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 0)
        throw new InvalidParamsError(`${where}.limit: expected a non-negative integer`);
      return {
        timeoutMs,
        options: {
          tracer: "structLogger",
          config: {
            enableMemory: flag(v, "enableMemory", where),
            disableStack: flag(v, "disableStack", where),
            disableStorage: flag(v, "disableStorage", where),
            enableReturnData: flag(v, "enableReturnData", where),
            limit,
          },
        },
      };
    }
    case "callTracer":
      return {
        timeoutMs,
        options: {
          tracer: "callTracer",
          config: { onlyTopCall: flag(tc, "onlyTopCall", tcWhere), withLog: flag(tc, "withLog", tcWhere) },
        },
      };
    case "prestateTracer":
      return {
        timeoutMs,
        options: {
          tracer: "prestateTracer",
          config: {
            diffMode: flag(tc, "diffMode", tcWhere),
            disableCode: flag(tc, "disableCode", tcWhere),
            disableStorage: flag(tc, "disableStorage", tcWhere),
          },
        },
      };
    case "4byteTracer":
      return { timeoutMs, options: { tracer: "4byteTracer", config: {} } };
    default:
      throw new InvalidParamsError(
        `${where}.tracer: ${JSON.stringify(tracer.slice(0, 64))} is not supported (${TRACER_NAMES}); JavaScript tracers are not`,
      );
  }
}

/** geth's TraceCallConfig: a TraceConfig plus `stateOverrides` (block overrides are not supported). */
export function parseTraceCallConfig(v: unknown, where = "invalid argument 2 (config)"): TraceCallRequest {
  const base = parseTraceConfig(v, where);
  if (!isObject(v)) return base;
  if (v.blockOverrides !== undefined && v.blockOverrides !== null)
    throw new InvalidParamsError(`${where}.blockOverrides: not supported`);
  const raw = v.stateOverrides ?? v.overrides;
  if (raw === undefined || raw === null) return base;
  try {
    return { ...base, stateOverrides: parseStateOverride(raw) };
  } catch (e) {
    if (e instanceof InvalidParamsError) throw new InvalidParamsError(`${where}.stateOverrides: ${e.message}`);
    throw e;
  }
}

function defaultStructLogger(): StructLoggerOptions {
  return { enableMemory: false, disableStack: false, disableStorage: false, enableReturnData: false, limit: 0 };
}
