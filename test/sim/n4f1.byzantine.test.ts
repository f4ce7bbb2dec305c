import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/**
 * Byzantine validators: as proposer each sends one block to half the network and another to the
 * other half, and every vote it casts goes out twice with different values. Honest nodes never
 * decide differently, keep deciding, and produce evidence against the equivocator only.
 */
describe("n4f1.byzantine: one equivocating validator of four", () => {
  it.each(seeds(50, 5000))("seed %i: agreement, liveness, evidence", async (seed) => {
    const byz = seed % 4;
    const r = await runScenario({ ...BASE, seed, validators: 4, heights: 12, byzantine: [byz] });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
    const evidence = r.sim.honest.flatMap((n) => n.evidence);
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence.every((v) => v === byz)).toBe(true);
  });
});

describe("n7f2.byzantine: two equivocating validators of seven", () => {
  it.each(seeds(20, 5500))("seed %i", async (seed) => {
    const r = await runScenario({ ...BASE, seed, validators: 7, heights: 12, byzantine: [seed % 7, (seed + 3) % 7] });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
  });
});
