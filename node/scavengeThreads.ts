/**
 * Optionally V8's young-generation GC (the scavenger) on the main thread only. By default V8 splits each
 * scavenge into tasks for its platform threads; on the 2-vCPU VM under other load those helpers mostly
 * waited to be scheduled while the main thread did the work (`--trace-gc-nvp`: `scavenge.parallel` ~160 ms
 * on the main thread, the helpers' `background.scavenge.parallel` ~0.2 ms). As a default it measured no
 * gain in CPU per height on a quiet localnet (README height14d), so V8's split stays the default and
 * `gcParallelScavenge: false` is the operator's choice. V8 reads the flag at each scavenge, so setting it
 * when the node starts takes effect (unlike `--single-threaded-gc`, whose concurrent-marking part aborts
 * the process when set after start). Process-wide: workers get it too.
 */
import { setFlagsFromString } from "node:v8";

export const DEFAULT_GC_PARALLEL_SCAVENGE = true;

/** The V8 flag for the setting, or null to leave V8's parallel scavenges. */
export function scavengeFlag(parallel: boolean): string | null {
  return parallel ? null : "--no-parallel-scavenge";
}

/** Applies the setting for the whole process (`set` is the port, for tests). */
export function applyScavengeThreads(parallel: boolean, set: (flags: string) => void = setFlagsFromString): void {
  const flag = scavengeFlag(parallel);
  if (flag !== null) set(flag);
}
