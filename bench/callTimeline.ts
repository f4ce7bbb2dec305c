// A lone metered call's timeline across the bench (client) and the worker, from the stamps both take with
// `AZORA_CALL_TRACE=1` (services/runtime/callTrace.ts: one monotonic clock for every process of the machine). Each
// segment is the time between two stamps of the same call, so its p50 / p90 over a run says where a lone call's
// time over the model goes, and how much it varies, even when the machine's load moves the totals between runs.

import { percentile, round } from "./stats.js";

/**
 * The call's consecutive segments, [name, from stamp, to stamp]: they tile the call from the client's start to its
 * last byte (their sum is the call's latency), except `sent` (the client's write to the kernel, which overlaps the
 * upload), `commit` (the receipt's journal row, which runs before or beside the model), `check_sync` /
 * `check` (the receipt's check, which runs during the upload) and `upload_wait` / `upload_read` (`upload` split).
 */
export const SEGMENTS = [
  ["build", "start", "write"], // client: receipt in, head built, first write
  ["to_head", "write", "head"], // first bytes across, the worker wakes and parses the head
  ["upload", "head", "bodyLast"], // the rest of the 460 KB body read
  ["body_end", "bodyLast", "body"], // the body's end event, the parser's callback
  ["to_handler", "body", "handler"], // fastify: validation, hooks, the handler called
  ["hold_wait", "handler", "held"], // what is left of the receipt's check
  ["pre_model", "held", "model0"], // decode, validate, queue (thread hop or inline), the setImmediate before commit
  ["model", "model0", "model1"], // onnxruntime's run
  ["post_model", "model1", "ran"], // back from the thread (or the inline run's resolve), encode
  ["to_reply", "ran", "reply"], // accounting, headers
  ["answer", "reply", "first"], // fastify's write, the client wakes on the answer's first byte
  ["read", "first", "end"], // the rest of the answer read and hashed
] as const;
/** `upload` split (worker stamps only; bench/meteredWorker.ts reads them too). */
export const UPLOAD_SPLIT = [
  // where the lean front reads the body on after the head's read: the loop's work first (a paid call's receipt
  // check runs there, while the body queues in the kernel), then the reads; a free call has no check
  ["upload_wait", "head", "bodyNext"],
  ["upload_read", "bodyNext", "bodyLast"],
  // a paid call's upload after its check: what compares with a free call's `upload`
  ["upload_after_check", "holdDone", "bodyLast"],
] as const;
const OVERLAPPING = [
  ["sent", "write", "sent"],
  ["commit", "commit0", "commit1"],
  ["check_sync", "head", "holdCalled"], // the receipt's check on the loop before its first await
  ["check", "head", "holdDone"], // the receipt's check from the head to its hold (on a thread: the round trip)
  ...UPLOAD_SPLIT,
] as const;

/** The worker's flag stamp (1, not a time) on a call whose model ran on an inference thread (meteredRoutes.ts). */
export const POOLED_FLAG = "pooled";
/** Appended to the segment names of such calls in `summary()`. */
export const POOLED_SUFFIX = "@pooled";

export type SegmentSummary = { p50: number; p90: number; mean: number };

/** Per-segment durations (ms) of the calls that carried a full trace. */
export class CallTimeline {
  private readonly ms = new Map<string, number[]>();
  calls = 0;

  add(trace: Readonly<Record<string, number>> | undefined): void {
    if (!trace) return;
    const all = [...SEGMENTS, ["total", "start", "end"] as const];
    if (!all.every(([, a, b]) => trace[a] !== undefined && trace[b] !== undefined)) return;
    this.calls++;
    // A lone call the worker ran on an inference thread (its inline policy said no: on a loaded machine the model's
    // mean run may pass the bound) has another path around the model (two thread hops, the commit beside the run):
    // its segments are kept apart, so a segment's p50 is not a mix of the two paths.
    const path = trace[POOLED_FLAG] === 1 ? POOLED_SUFFIX : "";
    for (const [segment, a, b] of [...all, ...OVERLAPPING]) {
      if (trace[a] === undefined || trace[b] === undefined) continue;
      const name = segment + path;
      const list = this.ms.get(name) ?? [];
      list.push((trace[b] - trace[a]) / 1e3);
      this.ms.set(name, list);
    }
  }

  /** p50 / p90 / mean (ms) by segment, in timeline order; empty when no call was traced. */
  summary(): Record<string, SegmentSummary> {
    const out: Record<string, SegmentSummary> = {};
    for (const [name, list] of this.ms) {
      const sorted = Float64Array.from(list).sort();
      const arr = Array.from(sorted);
      out[name] = {
        p50: round(percentile(arr, 50), 3),
        p90: round(percentile(arr, 90), 3),
        mean: round(arr.reduce((s, v) => s + v, 0) / arr.length, 3),
      };
    }
    return out;
  }
}

/** One line per segment: `name p50 / p90 ms`. */
export function formatTimeline(s: Record<string, SegmentSummary>): string {
  return Object.entries(s)
    .map(([k, v]) => `${k} ${v.p50}/${v.p90}`)
    .join(", ");
}
