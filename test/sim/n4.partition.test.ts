import { describe, expect, it } from "vitest";
import { BASE, decidedBetween, SLACK_MS } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

describe("n4.partition: a 2|2 split, healed", () => {
  it.each(seeds(40, 6000))("seed %i: no decision while split, no fork, liveness once healed", async (seed) => {
    const from = 1_000;
    const to = 9_000;
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 12,
      minTimeMs: 12_000,
      partitions: [
        {
          fromMs: from,
          toMs: to,
          groups: [
            [0, 1],
            [2, 3],
          ],
        },
      ],
    });
    expect(decidedBetween(r.sim, from + SLACK_MS, to)).toBe(0);
    expect(decidedBetween(r.sim, to, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(3);
  });
});

describe("n7.partition: a 4|3 split (neither side has 2/3)", () => {
  it.each(seeds(20, 6500))("seed %i", async (seed) => {
    const from = 500;
    const to = 6_000;
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 7,
      heights: 10,
      minTimeMs: 9_000,
      partitions: [
        {
          fromMs: from,
          toMs: to,
          groups: [
            [0, 1, 2, 3],
            [4, 5, 6],
          ],
        },
      ],
    });
    expect(decidedBetween(r.sim, from + SLACK_MS, to)).toBe(0);
    expect(decidedBetween(r.sim, to, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(3);
  });
});
