import { describe, expect, it } from "vitest";
import { BASE } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/**
 * A software upgrade scheduled on chain (governance): from its height on, a node that does not run the
 * named version stops before processing that height — it signs nothing there and executes nothing
 * there, even from block sync — while upgraded nodes go on.
 */
const AT = 8;

describe("n4.upgrade: a scheduled software upgrade", () => {
  it.each(seeds(10, 9000))("seed %i: nobody upgraded: every node stops cleanly below the height", async (seed) => {
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights: 4,
      minTimeMs: 4_000,
      upgrade: { height: AT },
    });
    for (const n of r.sim.nodes) {
      expect(n.halted, `node ${n.id}`).toMatch(/software upgrade required from height 8/);
      expect(n.store.head, `node ${n.id}`).toBe(BigInt(AT - 1));
      expect(n.store.signer.height, `node ${n.id} signed nothing at ${AT}`).toBeLessThan(BigInt(AT));
    }
  });

  it.each(seeds(10, 9100))(
    "seed %i: one old node of four: the others go on; a syncing old node stops at the height too",
    async (seed) => {
      const old = seed % 4;
      const r = await runScenario({
        ...BASE,
        seed,
        validators: 4,
        heights: 16,
        minTimeMs: 6_000,
        upgrade: { height: AT, oldNodes: [old] },
        // Down from the start: it catches up by block sync, past nothing it must not execute.
        crashes: [{ node: old, atMs: 1, recoverAtMs: 4_000 }],
      });
      const n = r.sim.nodes[old];
      expect(n.halted).not.toBeNull();
      expect(n.store.head).toBe(BigInt(AT - 1));
      expect(n.store.signer.height).toBeLessThan(BigInt(AT));
      for (const other of r.sim.nodes) if (other.id !== old) expect(other.store.head).toBeGreaterThanOrEqual(16n);
    },
  );
});
