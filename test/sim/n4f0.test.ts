import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/** All honest: agreement, validity and liveness on a lossy, reordering, duplicating network. */
describe("n4f0: four honest validators", () => {
  it.each(seeds(60, 1000))("seed %i", async (seed) => {
    const r = await runScenario({ ...BASE, seed, validators: 4 });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(10);
  });
});

describe("n7f0: seven honest validators with unequal power", () => {
  it.each(seeds(30, 2000))("seed %i", async (seed) => {
    const r = await runScenario({ ...BASE, seed, validators: 7, powers: [30, 20, 10, 10, 10, 5, 5] });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(10);
  });
});
