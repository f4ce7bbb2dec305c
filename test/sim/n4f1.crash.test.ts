import { describe, expect, it } from "vitest";
import { BASE, decidedBetween, SLACK_MS } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

describe("n4f1.crash: one of four validators crashes for good", () => {
  it.each(seeds(40, 3000))("seed %i: the other three keep deciding", async (seed) => {
    const crashAt = 1_500;
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 20,
      minTimeMs: 5_000,
      crashes: [{ node: seed % 4, atMs: crashAt }],
    });
    expect(decidedBetween(r.sim, crashAt + SLACK_MS, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(5);
  });
});

describe("n4f1.restart: a crashed validator restarts", () => {
  it.each(seeds(40, 3500))("seed %i: catches up, signs again, never double-signs", async (seed) => {
    const node = seed % 4;
    const upAt = 4_000;
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 25,
      minTimeMs: 7_000,
      crashes: [{ node, atMs: 1_000, recoverAtMs: upAt }],
    });
    // Live again: the checker requires every live honest node, the restarted one included, at 25 heights;
    // no honest node was ever accused of equivocation (the simulator fails the run if one is).
    expect(r.sim.nodes[node].store.head).toBeGreaterThanOrEqual(25n);
    expect(decidedBetween(r.sim, upAt, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(3);
  });
});

describe("n4f2.halt: two of four validators down", () => {
  // 4364, 4384, 4497: a 600-seed soak found them livelocked (restarted validators counted prevotes
  // their guard had refused); kept as regressions.
  it.each([...seeds(30, 4000), ...(process.env.SIM_SEED === undefined ? [4364, 4384, 4497] : [])])(
    "seed %i: the chain halts, then resumes without a fork",
    async (seed) => {
      const downAt = 1_500;
      const upAt = 8_000;
      const r = await runScenario({
        ...BASE,
        seed,
        validators: 4,
        heights: 15,
        minTimeMs: 11_000,
        crashes: [
          { node: seed % 4, atMs: downAt, recoverAtMs: upAt },
          { node: (seed + 1) % 4, atMs: downAt, recoverAtMs: upAt },
        ],
      });
      expect(decidedBetween(r.sim, downAt + SLACK_MS, upAt)).toBe(0);
      expect(decidedBetween(r.sim, upAt, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(3);
    },
  );
});
