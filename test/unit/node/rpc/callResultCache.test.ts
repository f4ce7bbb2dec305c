/**
 * The cross-block eth_call cache's moves (`node/rpc/callCache.ts`) on hand-made reads and writes:
 * the cases an in-process node does not produce on demand (writes of the next block seen before the
 * first call at a head, answers still running when the head moves).
 */
import { describe, expect, it } from "vitest";
import { CallResultCache, type CurrentValues } from "../../../../node/rpc/callCache.js";
import type { StateWrites } from "../../../../node/rpc/stateWrites.js";
import type { CallOutcome } from "../../../../rpc/backend.js";

const A = "0x00000000000000000000000000000000000000aa";
const SLOT = `${A}|0x${"00".repeat(31)}01`;

function outcome(byte: number): CallOutcome {
  return { returnValue: Uint8Array.of(byte), reverted: false, gasUsed: 1n };
}

function writes(slots: string[] = [], accounts: string[] = []): StateWrites {
  return { accounts: new Set(accounts), slots: new Set(slots), storageCleared: new Set(), all: false };
}

function values(state: Map<string, string>): CurrentValues {
  return {
    account: async (a) => state.get(a) ?? "none",
    slot: async (k) => state.get(k) ?? "0x",
  };
}

async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

describe("CallResultCache", () => {
  it("checks each set of writes at two moves: the next block may write before the first call at a head", async () => {
    const cache = new CallResultCache(100);
    const state = new Map([[SLOT, "0x05"]]);
    await cache.advance("h1", writes(), values(state));
    cache.put(
      "balanceOf",
      Promise.resolve({ ...outcome(5), reads: { accounts: [], slots: [[SLOT, "0x05"]], blockContext: false } }),
    );
    await settle();
    // Block 2 is executing (it has written the slot) but is not committed: the value at h2 is unchanged.
    await cache.advance("h2", writes([SLOT]), values(state));
    expect(cache.get("balanceOf")).toBeDefined();
    // Block 2 commits; no write was recorded since the last move, but the slot changed.
    state.set(SLOT, "0x07");
    await cache.advance("h3", writes(), values(state));
    expect(cache.get("balanceOf")).toBeUndefined();
  });

  it("keeps answers whose reads were rewritten with the same value, drops per-block and running ones", async () => {
    const cache = new CallResultCache(100);
    const state = new Map([
      [SLOT, "0x05"],
      [A, "0:0:code"],
    ]);
    await cache.advance("h1", writes(), values(state));
    const reads = { accounts: [[A, "0:0:code"]] as [string, string][], slots: [[SLOT, "0x05"]] as [string, string][] };
    cache.put("kept", Promise.resolve({ ...outcome(1), reads: { ...reads, blockContext: false } }));
    cache.put("perBlock", Promise.resolve({ ...outcome(2), reads: { ...reads, blockContext: true } }));
    cache.put("running", new Promise(() => undefined));
    await settle();
    await cache.advance("h2", writes([SLOT], [A]), values(state));
    expect(cache.get("kept")).toBeDefined();
    expect(cache.get("perBlock")).toBeUndefined();
    expect(cache.get("running")).toBeUndefined();
    // A key read with the value "written before read" never matches: any write drops it.
    cache.put(
      "wroteFirst",
      Promise.resolve({ ...outcome(3), reads: { accounts: [[A, "?"]], slots: [], blockContext: false } }),
    );
    await settle();
    await cache.advance("h3", writes([], [A]), values(state));
    expect(cache.get("wroteFirst")).toBeUndefined();
    expect(cache.get("kept")).toBeUndefined(); // shares the poisoned key
  });

  it("is bounded, and a state moved to another root empties it", async () => {
    const cache = new CallResultCache(2);
    await cache.advance("h1", writes(), values(new Map()));
    for (const k of ["a", "b", "c"]) {
      cache.put(k, Promise.resolve({ ...outcome(1), reads: { accounts: [], slots: [], blockContext: false } }));
    }
    await settle();
    expect(cache.size).toBe(2);
    expect(cache.get("a")).toBeUndefined();
    await cache.advance("h2", { ...writes(), all: true }, values(new Map()));
    expect(cache.size).toBe(0);
  });
});
