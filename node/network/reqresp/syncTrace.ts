import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * A blocks exchange's timeline across the two processes (issue 14, block sync): with `AZORA_SYNC_TRACE=<dir>` in its
 * environment each process appends one JSON line per blocks exchange, on each side, to `<dir>/<pid>.jsonl` — the
 * requester's stamps (`side: "client"`), the server's (`"server"`) and the sync loop's (`"loop"`), matched by the
 * request's first height. Stamps are `process.hrtime` (CLOCK_MONOTONIC) in µs: one clock for every process of the
 * machine, so a response's segments (sent → read by the server → served → back) are measured where they happen.
 * Off by default: a trace is for measuring. Lines are buffered and written every 64 and at exit, so that a stamp
 * costs no file write in the exchange it times.
 */
export const SYNC_TRACE_ENV = "AZORA_SYNC_TRACE";

type Line = Record<string, number | string>;

const dir = process.env[SYNC_TRACE_ENV];
let buffered: string[] = [];
let file: string | null = null;

/** Whether this process traces blocks exchanges (read once at load). */
export const syncTraceOn = dir !== undefined && dir !== "";

/** Now on the machine's monotonic clock, µs. */
export function traceUs(): number {
  return Number(process.hrtime.bigint()) / 1e3;
}

/** Records one exchange's stamps (no-op unless tracing). */
export function syncTrace(line: Line): void {
  if (!syncTraceOn) return;
  if (file === null) {
    mkdirSync(dir as string, { recursive: true });
    file = join(dir as string, `${process.pid}.jsonl`);
    process.on("exit", flush);
  }
  buffered.push(JSON.stringify(line));
  if (buffered.length >= 64) flush();
}

function flush(): void {
  if (file === null || buffered.length === 0) return;
  appendFileSync(file, `${buffered.join("\n")}\n`);
  buffered = [];
}
