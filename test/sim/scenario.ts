import { DEFAULT_TIMEOUTS, type SimOptions, type Simulation } from "./simulator.js";

/** Network and timing shared by the scenarios: lossy, duplicating, reordering; blocks every ~150 ms. */
export const BASE: Omit<SimOptions, "seed" | "validators"> = {
  timeouts: DEFAULT_TIMEOUTS,
  delayMs: [1, 40],
  dropProbability: 0.03,
  duplicateProbability: 0.03,
  gossipIntervalMs: 250,
  proposeDelayMs: 150,
  heights: 10,
  maxTimeMs: 300_000,
};

/** Heights first decided in (from, to) virtual ms. */
export function decidedBetween(sim: Simulation, from: number, to: number): number {
  return [...sim.decidedAt.values()].filter((t) => t > from && t < to).length;
}

/** Messages sent just before a fault may still land: allow two network delays. */
export const SLACK_MS = BASE.delayMs[1] * 2;
