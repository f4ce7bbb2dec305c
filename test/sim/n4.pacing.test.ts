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

  it.each(seeds(3, 12_200))(
    "seed %i: transactions arriving during the empty-block wait start the height after the interval, not the wait",
    async (seed) => {
      const opts = { ...BASE, seed, validators: 4, heights: 6, idle: true, minBlockIntervalMs: PACE_MS };
      // The same seed runs identically up to the moment work appears: learn when height 3 is decided.
      const idle = await runScenario(opts);
      const d3 = idle.sim.decidedAt.get(3n) as number;
      expect(idle.sim.decidedAt.get(4n) as number).toBeGreaterThanOrEqual(d3 + 1_000);
      const busy = await runScenario({ ...opts, workFromMs: d3 + 100 });
      expect(busy.sim.decidedAt.get(3n)).toBe(d3);
      const d4 = busy.sim.decidedAt.get(4n) as number;
      expect(d4).toBeGreaterThanOrEqual(d3 + PACE_MS);
      expect(d4).toBeLessThan(d3 + 1_000);
      for (const g of gaps(busy.sim, 6).slice(3)) {
        expect(g).toBeGreaterThanOrEqual(PACE_MS);
        expect(g).toBeLessThan(1_000);
      }
    },
  );
});
