import { equalsBytes } from "../runtime/primitives/bytes.js";
import { bloomMayContain, type Log } from "../runtime/primitives/receipt.js";
import type { LogFilter } from "./backend.js";

/** True when `log` matches the address set and every topic position (null = wildcard, else OR). */
export function logMatches(log: Log, f: LogFilter): boolean {
  if (f.addresses.length > 0 && !f.addresses.some((a) => equalsBytes(a, log[0]))) return false;
  if (f.topics.length > log[1].length) return false;
  for (let i = 0; i < f.topics.length; i++) {
    const want = f.topics[i];
    if (want === null || want.length === 0) continue;
    if (!want.some((t) => equalsBytes(t, log[1][i]))) return false;
  }
  return true;
}

/** Cheap pre-check against a block's logs bloom: false means no log of the block can match. */
export function bloomMayMatch(bloom: Uint8Array, f: LogFilter): boolean {
  if (f.addresses.length > 0 && !f.addresses.some((a) => bloomMayContain(bloom, a))) return false;
  for (const want of f.topics) {
    if (want === null || want.length === 0) continue;
    if (!want.some((t) => bloomMayContain(bloom, t))) return false;
  }
  return true;
}
