/**
 * Names the calling thread as the OS sees it (`/proc/<pid>/task/<tid>/comm`, shown by `top -H`, `ps -L`
 * and the bench's CPU split by thread). Node 20 leaves every thread of the process named after the
 * executable — its `Worker` `name` option reaches only the inspector — so a worker names itself here.
 */
import { writeFileSync } from "node:fs";

/** Linux keeps 15 bytes of a thread's name (16 with the terminating NUL); the rest is cut. */
export const MAX_THREAD_NAME_BYTES = 15;

/** Names of the node's worker threads (a worker pool's threads share one name). */
export const THREAD_NAMES = {
  decoder: "azora-decode",
  simulation: "azora-sim",
  syncCommits: "azora-synccheck",
} as const;

/**
 * Sets the calling thread's name; false off Linux or when /proc is not writable (the name is a
 * diagnostic: nothing depends on it).
 */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync("/proc/thread-self/comm", name.slice(0, MAX_THREAD_NAME_BYTES));
    return true;
  } catch {
    return false;
  }
}
