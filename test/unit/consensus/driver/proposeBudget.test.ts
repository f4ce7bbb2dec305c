import { describe, expect, it } from "vitest";
import { ValidatorSet } from "../../../../consensus/core/validatorSet.js";
import { HeightState } from "../../../../consensus/driver/height.js";

const TIMING = {
  emptyBlockIntervalMs: 1_000,
  timeouts: {
    proposeMs: 300,
    proposeDeltaMs: 60,
    prevoteMs: 100,
    prevoteDeltaMs: 100,
    precommitMs: 100,
    precommitDeltaMs: 100,
  },
};

/**
 * A height entered at virtual ms 1,000 whose round 0 was due at `startDueMs` (null: not started here)
 * and whose current round began at `roundStartedAtMs`. Its set is irrelevant to the budget.
 */
function height(startDueMs: number | null, roundStartedAtMs = 1_000): HeightState {
  const h = new HeightState(5n, [], new ValidatorSet([{ address: "a", votingPower: 1n }]), 0, TIMING, 1_000);
  h.startDueMs = startDueMs;
  h.roundStartedAtMs = roundStartedAtMs;
  return h;
}

describe("HeightState.proposeBudgetMs: a third of the propose timeout, less how late the proposer got to it", () => {
  it("is the full third when the proposer builds as soon as its height was due", () => {
    expect(height(1_100).proposeBudgetMs(0, 1_100)).toBe(100);
  });

  it("counts round 0's lateness from when the height was due to start, not from when its timer fired", () => {
    // Due at the commit + the pacing interval (1,100); the timer fired, and round 0 began, 60 ms late.
    expect(height(1_100, 1_160).proposeBudgetMs(0, 1_170)).toBe(30);
  });

  it("never goes below a quarter of the third, however late", () => {
    expect(height(1_100).proposeBudgetMs(0, 5_000)).toBe(25);
  });

  it("counts later rounds from their own start, with the timeout's growth per round", () => {
    const h = height(1_100, 3_000);
    expect(h.proposeBudgetMs(2, 3_000)).toBe(140);
    expect(h.proposeBudgetMs(2, 3_040)).toBe(100);
  });

  it("before a start of its own (a WAL replay), counts from the round's start", () => {
    const h = height(null);
    expect(h.proposeBudgetMs(0, 1_000)).toBe(100);
    expect(h.proposeBudgetMs(0, 1_050)).toBe(50);
  });
});
