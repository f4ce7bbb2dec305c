/**
 * A lone metered call's timeline across the two processes (issue 8): with `AZORA_CALL_TRACE=1` in its environment the
 * client stamps its side of each call and the worker answers with its own stamps in `x-azora-trace`. Every stamp is
 * `process.hrtime` (CLOCK_MONOTONIC), one clock for every process and thread of the machine, so the two sides'
 * stamps compare directly and each segment of a call is measured where it happens, not inferred from differences
 * of durations. Off by default: a trace is for measuring, and its header is one more thing on every answer.
 */
export const CALL_TRACE_ENV = "AZORA_CALL_TRACE";
export const CALL_TRACE_HEADER = "x-azora-trace";

/** Whether this process traces calls now (the environment read per call: < 1 µs, and a test can turn it on). */
export const callTraceOn = (): boolean => process.env[CALL_TRACE_ENV] === "1";

/** Now on the machine's monotonic clock, µs (a double: exact to the ns for ~100 days of uptime). */
export function monoUs(): number {
  return Number(process.hrtime.bigint()) / 1e3;
}

/** Stamps (µs on the monotonic clock) by name, as the header carries them: `name=µs,name=µs`. */
export function formatStamps(stamps: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(stamps)
    .filter((e): e is [string, number] => e[1] !== undefined && Number.isFinite(e[1]))
    .map(([k, v]) => `${k}=${v.toFixed(1)}`)
    .join(",");
}

export function parseStamps(header: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!header) return out;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const v = Number(part.slice(eq + 1));
    if (eq > 0 && Number.isFinite(v)) out[part.slice(0, eq).trim()] = v;
  }
  return out;
}
