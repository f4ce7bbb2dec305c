import { describe, expect, it } from "vitest";
import { BASE, decidedBetween } from "./scenario.js";
import { runScenario, seeds } from "./simulator.js";

/**
 * An outsider peer (no validator key) on every node: every 50 ms, to each node, votes and proposals
 * for its height, height + 1 and height + 2 with random signatures (naming real validators and round
 * proposers as authors), a forged commit certificate for height 10^9 and one for the node's own height
 * (a fake decision). It serves nothing. Nodes run the real admission code (MessageVerifier,
 * FutureBuffer, SyncPeers, fault points and bans). Agreement, validity and liveness must hold, and no
 * forged message may pass verification anywhere.
 */
const HOSTILE = { hostilePeer: { intervalMs: 50 } };

describe("n4.hostile: four honest validators and a hostile peer", () => {
  it.each(seeds(30, 6000))("seed %i: nothing forged gets in; the peer is banned everywhere", async (seed) => {
    const r = await runScenario({ ...BASE, ...HOSTILE, seed, validators: 4, heights: 12 });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
    expect(r.sim.hostileSent).toBeGreaterThan(0);
    expect(r.sim.hostileAccepted).toBe(0);
    for (const n of r.sim.nodes) expect([...n.banned], `node ${n.id} bans`).toEqual([r.sim.hostileId]);
  });

  it.each(seeds(30, 6100))(
    "seed %i: without bans every forgery is verified and refused, for the whole run",
    async (seed) => {
      const r = await runScenario({ ...BASE, ...HOSTILE, bans: false, seed, validators: 4, heights: 12 });
      expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
      expect(r.sim.hostileSent).toBeGreaterThan(1000);
      expect(r.sim.hostileAccepted).toBe(0);
    },
  );
});

describe("n4f1.restart.hostile: a restarted validator catches up while the hostile peer claims 10^9", () => {
  it.each(seeds(20, 6200))("seed %i", async (seed) => {
    const node = seed % 4;
    const upAt = 4_000;
    const r = await runScenario({
      ...BASE,
      ...HOSTILE,
      bans: false,
      seed,
      validators: 4,
      heights: 25,
      minTimeMs: 7_000,
      crashes: [{ node, atMs: 1_000, recoverAtMs: upAt }],
    });
    expect(r.sim.nodes[node].store.head).toBeGreaterThanOrEqual(25n);
    expect(decidedBetween(r.sim, upAt, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(3);
    expect(r.sim.hostileAccepted).toBe(0);
  });
});

describe("n4f1.byzantine.hostile: an equivocating validator and a hostile peer", () => {
  it.each(seeds(20, 6300))("seed %i", async (seed) => {
    const byz = seed % 4;
    const r = await runScenario({
      ...BASE,
      ...HOSTILE,
      bans: false,
      seed,
      validators: 4,
      heights: 12,
      byzantine: [byz],
    });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(12);
    expect(r.sim.hostileAccepted).toBe(0);
    const evidence = r.sim.honest.flatMap((n) => n.evidence);
    expect(evidence.every((v) => v === byz)).toBe(true);
  });
});
