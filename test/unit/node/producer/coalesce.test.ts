import { describe, expect, it } from "vitest";
import { AUTOMINE_COALESCE_MS, automineHoldMs } from "../../../../node/producer/coalesce.js";

/**
 * Automine's coalescing rule, on an injected clock: a lone transaction is mined at once, a stream
 * right after a non-empty block waits for the rest of the window, and the hold never exceeds it.
 */
describe("automine coalescing", () => {
  const window = 4;

  it("mines a lone transaction at once: after an empty block, or once the window has passed", () => {
    expect(automineHoldMs({ atMs: 1_000, txs: 0 }, 1_000, window)).toBe(0);
    expect(automineHoldMs({ atMs: 1_000, txs: 0 }, 1_001, window)).toBe(0);
    expect(automineHoldMs({ atMs: 1_000, txs: 5 }, 1_004, window)).toBe(0);
    expect(automineHoldMs({ atMs: 1_000, txs: 1 }, 61_000, window)).toBe(0);
  });

  it("holds a stream until the window after the last non-empty block ends", () => {
    expect(automineHoldMs({ atMs: 1_000, txs: 10 }, 1_000, window)).toBe(4);
    expect(automineHoldMs({ atMs: 1_000, txs: 1 }, 1_003, window)).toBe(1);
  });

  it("never holds longer than the window (a clock that steps back), and not at all with a window of 0", () => {
    expect(automineHoldMs({ atMs: 5_000, txs: 10 }, 1_000, window)).toBe(window);
    expect(automineHoldMs({ atMs: 1_000, txs: 10 }, 1_000, 0)).toBe(0);
  });

  it("holds within [0, window] and ends exactly at the window's end, for any clock (property)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2_000; i++) {
      const last = { atMs: rand(10_000), txs: rand(3) };
      const now = last.atMs + rand(20) - 5;
      const hold = automineHoldMs(last, now);
      expect(hold).toBeGreaterThanOrEqual(0);
      expect(hold).toBeLessThanOrEqual(AUTOMINE_COALESCE_MS);
      if (last.txs === 0 || now >= last.atMs + AUTOMINE_COALESCE_MS) expect(hold).toBe(0);
      else if (now >= last.atMs) expect(now + hold).toBe(last.atMs + AUTOMINE_COALESCE_MS);
    }
  });
});
