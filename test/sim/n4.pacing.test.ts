import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, type Simulation, seeds } from "./simulator.js";

/**
 * Height pacing under load (the driver's `minBlockIntervalMs`, CometBFT's timeout_commit): while
 * transactions wait, no node starts a height sooner than the interval after it committed the previous
 * one, and a peer's message of the height starts it at once on the others. So no height is first
 * decided sooner than the interval after its parent was, and the chain keeps agreement and liveness on
 * the lossy, reordering network of the other scenarios.
 */
const PACE_MS = 400;

/** Virtual ms between the first decisions of consecutive heights 2..`upTo`. */
function gaps(sim: Simulation, upTo: number): number[] {
  const out: number[] = [];
  for (let h = 2n; h <= BigInt(upTo); h++) {
    const t = sim.decidedAt.get(h);
    const p = sim.decidedAt.get(h - 1n);
    expect(t, `height ${h} decided`).toBeDefined();
    expect(p, `height ${h - 1n} decided`).toBeDefined();
    out.push((t as number) - (p as number));
  }
  return out;
}

describe("n4.pacing: a busy chain with a minimum block interval", () => {
  it.each(seeds(10, 12_000))("seed %i: heights are at least the interval apart", async (seed) => {
    const r = await runScenario({ ...BASE, seed, validators: 4, heights: 10, minBlockIntervalMs: PACE_MS });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(10);
    for (const g of gaps(r.sim, 10)) expect(g).toBeGreaterThanOrEqual(PACE_MS);
  });

  it("without it, the same busy chain decides heights closer together (the check above can fail)", async () => {
    const r = await runScenario({ ...BASE, seed: 12_000, validators: 4, heights: 10 });
    expect(Math.min(...gaps(r.sim, 10))).toBeLessThan(PACE_MS);
  });

  it.each(seeds(3, 12_100))("seed %i: an idle chain still waits the empty-block interval", async (seed) => {
    const r = await runScenario({ ...BASE, seed, validators: 4, heights: 6, idle: true, minBlockIntervalMs: PACE_MS });
    // The simulator's empty-block interval is 1000 ms; loss can only make a height later.
    for (const g of gaps(r.sim, 6)) expect(g).toBeGreaterThanOrEqual(1_000);
  });
});
