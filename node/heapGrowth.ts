/**
 * V8's old-space growth. After each full GC V8 sets the next GC's limit at live size × a factor it
 * picks from its GC speed, up to 4×: under the bench the dev node's main heap sat at ~2.4× its live
 * bytes (committed, so resident) — garbage not yet collected, the largest part of its peak RSS. A fixed
 * factor (`--heap-growing-percent`) keeps the committed heap near the live one for more full GCs.
 * The flag is not allowed in NODE_OPTIONS; V8 reads it each time it computes a limit, so setting it
 * when the node starts (before its caches fill) takes effect. Process-wide: the simulation and decode
 * workers' isolates get it too.
 */
import { setFlagsFromString } from "node:v8";

/**
 * V8's own factor by default: on the bench (README, issue 14) 50 cut the peak RSS ~540 → ~440 MB and 15
 * to ~400 MB, but both cost node CPU per tx (medians +3–13 % at 50, +16–40 % at 15: more full GCs of
 * a ~120 MB live heap), so lowering it is the operator's trade.
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 0;
/** 0 = V8's own dynamic factor; past 300 % V8's own cap (4×) is no bound at all. */
export const MAX_HEAP_GROWING_PERCENT = 300;

/** The V8 flag for `percent`, or null to leave V8's dynamic factor. */
export function heapGrowthFlag(percent: number): string | null {
  return percent === 0 ? null : `--heap-growing-percent=${percent}`;
}

/** Sets V8's old-space growth for the whole process (`set` is the port, for tests). */
export function applyHeapGrowth(percent: number, set: (flags: string) => void = setFlagsFromString): void {
  const flag = heapGrowthFlag(percent);
  if (flag !== null) set(flag);
}
