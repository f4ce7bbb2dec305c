/**
 * geth's tracers over ethereumjs, for the simulation workers: `createTracer` picks one by name,
 * `traceTransaction` runs one transaction under it. Traces are bounded: their JSON text counts
 * against a byte cap as it grows (`BoundedText`), and the pool's time budget stops a long one.
 */
import type { TraceOptions } from "../../../../rpc/trace.js";
import { CallTracer } from "./callTracer.js";
import { FourByteTracer } from "./fourByteTracer.js";
import type { BoundedText } from "./output.js";
import { PrestateTracer } from "./prestateTracer.js";
import { StructLogger } from "./structLogger.js";
import type { TxTracer } from "./tracer.js";

export { attachFrames } from "./frames.js";
export { BoundedText, hex, traceTooLarge } from "./output.js";
export type { TxEnd, TxStart, TxTracer } from "./tracer.js";

export function createTracer(options: TraceOptions, out: BoundedText): TxTracer {
  switch (options.tracer) {
    case "structLogger":
      return new StructLogger(options.config, out);
    case "callTracer":
      return new CallTracer(options.config, out);
    case "prestateTracer":
      return new PrestateTracer(options.config, out);
    case "4byteTracer":
      return new FourByteTracer(out);
  }
}
