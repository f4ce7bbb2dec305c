import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/**
 * Downtime slashing counts the signers of the commit certificate each block carries for its parent.
 * An honest validator whose precommits always land after the other three made the quorum is missing
 * from the certificate its proposer held at decision time; its late precommits (verified, same block
 * and round) are added to the certificate until the next height's proposer builds, so the next block
 * carries it as signing. On an idle chain the next height starts after the empty-block interval
 * (CometBFT's timeout_commit plays this part), long after the late precommit lands.
 */
const SLOW = 2;

describe("n4.latePrecommits: a validator whose precommits always arrive after the quorum", () => {
  it.each(seeds(5, 9500))("seed %i: is counted as signing in the certificate the next block carries", async (seed) => {
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 8,
      idle: true,
      // No loss, and delays in a narrow band: the slow validator always holds the others' prevotes
      // before their precommits (so it precommits), and the three others always make the quorum before
      // its precommit lands.
      delayMs: [10, 12],
      dropProbability: 0,
      duplicateProbability: 0,
      latePrecommitter: { node: SLOW, extraDelayMs: 200 },
    });
    const carried = [...r.sim.carriedSigners.entries()].filter(([h]) => h >= 2n && h <= 8n);
    expect(carried.length).toBe(7);
    for (const [h, signers] of carried) {
      // Its own proposals carried its precommit even before (it held it at decision); now every block does.
      expect(signers, `block ${h} carries the late precommit`).toContain(SLOW);
      expect(signers, `block ${h}`).toHaveLength(4);
    }
  });
});
