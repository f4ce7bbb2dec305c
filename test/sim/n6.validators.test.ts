import { describe, expect, it } from "vitest";
import { decodeCommit } from "../../consensus/commit.js";
import { bytesToHex } from "../../runtime/primitives/bytes.js";
import { PRNG } from "../utils/prng.js";
import { BASE } from "./scenario.js";
import { runScenario, type SimOptions, type Simulation, seeds } from "./simulator.js";

/**
 * Validator sets that change on chain (the simulated staking module reports updates at epoch
 * boundaries; block H's updates take effect at H + 2 on every node). The nodes run the real driver,
 * `ValidatorHistory` and block sync; the simulator checks after every commit that each node settled
 * the same validators and proposer priorities as the reference, besides agreement, validity and liveness.
 */

const EPOCH = 4;

/** Nodes that signed the commit certificate of `height`, as node ids. */
function signers(sim: Simulation, height: bigint): number[] {
  const holder = sim.nodes.find((n) => n.store.head >= height);
  if (holder === undefined) return [];
  const set = sim.setOf(height);
  return decodeCommit(holder.store.chain[Number(height)].commit).signatures.map((s) =>
    sim.nodeOf(set.validators[s.validatorIndex].publicKey),
  );
}

/** Random powers for nodes 0 … nodes − 1 at each epoch boundary below `heights`, at least two validators each time. */
function randomChanges(seed: number, nodes: number, heights: number): SimOptions["validatorChanges"] {
  const rng = new PRNG(seed * 7919);
  const out: NonNullable<SimOptions["validatorChanges"]> = [];
  const power: number[] = Array.from({ length: nodes }, (_, i) => (i < 4 ? 10 : 0));
  for (let h = EPOCH; h < heights - 2; h += EPOCH) {
    const next = power.map(() => (rng.chance(0.3) ? 0 : 5 * (1 + rng.int(4))));
    if (next.filter((p) => p > 0).length < 2) next[rng.int(nodes)] = 10;
    if (next.filter((p) => p > 0).length < 2) next[(next.indexOf(10) + 1) % nodes] = 10;
    const updates = next
      .map((p, node) => ({ node, power: p }))
      .filter((u) => u.power !== power[u.node] && !(u.power === 0 && power[u.node] === 0));
    for (const u of updates) power[u.node] = u.power;
    if (updates.length > 0) out.push({ height: h, updates });
  }
  return out;
}

describe("n6.validators: random set changes every epoch under delays, partitions and crashes", () => {
  it.each(seeds(30, 8000))(
    "seed %i: agreement, liveness, the same validators and priorities everywhere",
    async (seed) => {
      const heights = 28;
      const fault = seed % 3;
      const groups = [
        [0, 2, 4],
        [1, 3, 5],
      ];
      const r = await runScenario({
        ...BASE,
        seed,
        validators: 4,
        fullNodes: 2,
        heights,
        validatorChanges: randomChanges(seed, 6, heights),
        partitions: fault === 0 ? [{ fromMs: 1_000, toMs: 4_000, groups }] : undefined,
        crashes: fault === 1 ? [{ node: seed % 6, atMs: 1_500, recoverAtMs: 4_500 }] : undefined,
        minTimeMs: fault === 2 ? 0 : 5_000,
      });
      expect(r.sim.decisions.size).toBeGreaterThanOrEqual(heights);
      // Not vacuous: the set changed along the way.
      const first = bytesToHex(r.sim.setOf(1n).hash);
      const sets = new Set(Array.from({ length: heights }, (_, h) => bytesToHex(r.sim.setOf(BigInt(h + 1)).hash)));
      expect(sets.size).toBeGreaterThan(1);
      expect(sets.has(first)).toBe(true);
    },
  );
});

describe("n5.join: a joining validator with more than a third of the power", () => {
  it.each(seeds(20, 8500))(
    "seed %i: does not halt the chain, and signs every commit from its first height",
    async (seed) => {
      const joinAt = 3; // block 3 reports it; it validates from height 5
      const r = await runScenario({
        ...BASE,
        seed,
        validators: 4,
        fullNodes: 1,
        heights: 20,
        validatorChanges: [{ height: joinAt, updates: [{ node: 4, power: 30 }] }], // 30 of 70: 43 %
        crashes: [{ node: seed % 4, atMs: 2_000 }], // and a genesis validator goes down for good
      });
      expect(r.sim.decisions.size).toBeGreaterThanOrEqual(20);
      // Without its 30 the others hold at most 40 of 70: every commit from height 5 on carries its signature.
      for (let h = BigInt(joinAt + 2); h <= 20n; h++) expect(signers(r.sim, h), `height ${h}`).toContain(4);
      expect([...r.sim.committedProposer.values()].some((p) => p.node === 4)).toBe(true);
    },
  );
});

describe("n7.replace: the whole genesis set hands over to three newcomers", () => {
  it.each(seeds(15, 8700))("seed %i: the newcomers validate, the old validators follow as full nodes", async (seed) => {
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      fullNodes: 3,
      heights: 24,
      validatorChanges: [
        { height: 4, updates: [4, 5, 6].map((node) => ({ node, power: 10 })) },
        { height: 8, updates: [0, 1, 2, 3].map((node) => ({ node, power: 0 })) },
      ],
    });
    expect(r.sim.decisions.size).toBeGreaterThanOrEqual(24);
    for (let h = 11n; h <= 24n; h++) {
      expect(
        signers(r.sim, h).every((n) => n >= 4),
        `height ${h}`,
      ).toBe(true);
    }
    for (const n of r.sim.nodes) expect(n.store.head, `node ${n.id}`).toBeGreaterThanOrEqual(24n);
  });
});

describe("n6.sync: a node down from the start syncs across several set changes", () => {
  it.each(seeds(15, 8800))(
    "seed %i: it verifies each commit against the set of its height and catches up",
    async (seed) => {
      const late = 4 + (seed % 2); // a full node, or one that joins while it is down
      const r = await runScenario({
        ...BASE,
        seed,
        validators: 4,
        fullNodes: 2,
        heights: 30,
        minTimeMs: 9_000,
        validatorChanges: [
          { height: 4, updates: [{ node: 5, power: 5 }] },
          { height: 8, updates: [{ node: 0, power: 20 }] },
          { height: 12, updates: [{ node: 1, power: 0 }] },
          { height: 16, updates: [{ node: 4, power: 10 }] },
        ],
        crashes: [{ node: late, atMs: 1, recoverAtMs: 8_000 }],
      });
      expect(r.sim.nodes[late].store.head).toBeGreaterThanOrEqual(30n);
    },
  );
});

/**
 * Proposer rotation across power changes, with the real driver: new powers every epoch for 60 heights;
 * each validator's round-0 turns over the run stay within ±4 of its power share (priorities carry over
 * changes), and every block decided in round 0 was proposed by the validator the reference schedule names.
 */
describe("n4.rotation: fair proposer rotation across power changes", () => {
  it.each(seeds(15, 8900))("seed %i", async (seed) => {
    const heights = 60;
    const rng = new PRNG(seed);
    const changes = [];
    for (let h = EPOCH; h < heights; h += EPOCH) {
      changes.push({ height: h, updates: [0, 1, 2, 3].map((node) => ({ node, power: 1 + rng.int(40) })) });
    }
    const r = await runScenario({
      ...BASE,
      seed,
      validators: 4,
      heights,
      dropProbability: 0,
      validatorChanges: changes,
    });
    const turns = new Map<number, number>();
    const share = new Map<number, number>();
    for (let h = 1n; h <= BigInt(heights); h++) {
      const set = r.sim.setOf(h);
      const p = r.sim.proposerNode(h, 0);
      turns.set(p, (turns.get(p) ?? 0) + 1);
      for (const v of set.validators) {
        const node = r.sim.nodeOf(v.publicKey);
        share.set(node, (share.get(node) ?? 0) + Number(v.votingPower) / Number(set.set.totalPower));
      }
      const committed = r.sim.committedProposer.get(h);
      if (committed?.round === 0) expect(committed.node, `proposer of height ${h}`).toBe(p);
    }
    for (const [node, s] of share) expect(Math.abs((turns.get(node) ?? 0) - s), `node ${node}`).toBeLessThanOrEqual(4);
  });
});
