import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/**
 * The lock rule under attack: one honest node decides round 0's block, the other honest nodes are
 * locked on it but never see the decision, and the Byzantine round-1 proposer offers them a fresh
 * block and votes for it (simulator.ts, `lockAttack`). Locked validators must prevote nil (L22–L27)
 * and decide the locked block once the decision or a proof-of-lock re-proposal reaches them.
 * Removing the lock check from consensus/core/state.ts makes every seed fail with an agreement
 * violation; the lossy generic scenarios never built this schedule in 1,600 runs.
 */
describe("n4f1.lock: an amnesia proposer against locked validators", () => {
  it.each(seeds(40, 7000))("seed %i: locked validators refuse the fresh block", async (seed) => {
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 12,
      dropProbability: 0,
      lockAttack: { attacker: seed % 4, windowMs: 1500 },
    });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
    // Not vacuous: the attacker did offer fresh blocks to locked validators.
    expect(r.sim.lockAttackProposals).toBeGreaterThan(0);
  });
});
