import { describe, expect, it } from "vitest";
import { decodeCommit, encodeCommit } from "../../../../consensus/commit.js";
import { StaticValidatorSchedule, type ValidatorSchedule } from "../../../../consensus/validatorSchedule.js";
import { VoteType, voteSignBytes } from "../../../../consensus/vote.js";
import { Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { type PeerStatus, ReqRespError, ReqRespErrorCode } from "../../../../node/network/index.js";
import {
  BlockSync,
  type BlockSyncModules,
  DEFAULT_BLOCK_SYNC_OPTIONS,
  decodeSyncItem,
  encodeSyncItem,
  type SyncChain,
  SyncFailure,
  type SyncNetwork,
  type VerifiedBlock,
  verifiedSignatures,
} from "../../../../node/sync/index.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import { type Block, hashHeader } from "../../../../runtime/primitives/block.js";
import { hashValidatorSet, type Validator } from "../../../../runtime/primitives/validatorSet.js";
import { commitFor, emptyBlock, testValidators } from "../../../utils/consensusFixtures.js";

const CHAIN_ID = 77n;
const { signers, validators } = testValidators(4);

/** A valid chain of `n` empty blocks with commit certificates (3 of 4 signers). */
function makeChain(n: number): { block: Block; commit: Uint8Array }[] {
  const out: { block: Block; commit: Uint8Array }[] = [];
  let parent: Uint8Array = new Uint8Array(32);
  let lastCommit: Uint8Array = new Uint8Array(0);
  for (let h = 1n; h <= BigInt(n); h++) {
    const empty = emptyBlock(h, parent, lastCommit);
    const block = { ...empty, header: { ...empty.header, validatorsHash: hashValidatorSet(validators) } };
    const commit = commitFor(CHAIN_ID, signers, block, [0, 1, 2]);
    out.push({ block, commit });
    parent = hashHeader(block.header);
    lastCommit = commit;
  }
  return out;
}

const CHAIN = makeChain(150);
const statusAt = (h: number): PeerStatus => ({
  height: BigInt(h),
  hash: hashHeader(CHAIN[h - 1].block.header),
  commit: CHAIN[h - 1].commit,
  signers: validators.map((v) => v.publicKey),
});

/** short: serves at most SHORT_RESPONSE blocks per request (a server with a lower cap). */
/** badsig: the second block of each response carries a commit with one signature over another block. */
type Behaviour = "honest" | "liar" | "timeout" | "empty" | "tamper" | "badsig" | "no-status" | "short";
const SHORT_RESPONSE = 10;

class FakeNetwork implements SyncNetwork {
  readonly blockRequests: { peer: string; from: bigint; count: number }[] = [];
  readonly statusRequests: string[] = [];
  readonly penalties: { peer: string; points: number }[] = [];

  constructor(readonly peers: Record<string, { behaviour: Behaviour; height: number }>) {}

  peerIds(): string[] {
    return Object.keys(this.peers);
  }

  async requestStatus(peer: string): Promise<PeerStatus> {
    this.statusRequests.push(peer);
    const p = this.peers[peer];
    if (p.behaviour === "no-status") return new Promise(() => {}); // never answers
    if (p.behaviour === "liar") {
      return { height: 10n ** 9n, hash: new Uint8Array(32).fill(1), commit: new Uint8Array(100).fill(2) };
    }
    return statusAt(p.height);
  }

  async requestBlocks(peer: string, from: bigint, count: number): Promise<Uint8Array[]> {
    this.blockRequests.push({ peer, from, count });
    const p = this.peers[peer];
    if (p.behaviour === "timeout") throw new ReqRespError({ code: ReqRespErrorCode.TIMEOUT, protocol: "blocks", peer });
    if (p.behaviour === "empty") return [];
    const out: Uint8Array[] = [];
    const n = p.behaviour === "short" ? Math.min(count, SHORT_RESPONSE) : count;
    for (let h = Number(from); h < Number(from) + n && h <= p.height; h++) {
      const { block, commit } = CHAIN[h - 1];
      const served =
        p.behaviour === "tamper" && h === Number(from) + 1
          ? { ...block, body: { ...block.body, transactions: [new Uint8Array([1, 2, 3])] } }
          : block;
      out.push(encodeSyncItem(served, p.behaviour === "badsig" && h === Number(from) + 1 ? badSig(commit) : commit));
    }
    return out;
  }

  penalize(peer: string, points: number, _reason: string): void {
    this.penalties.push({ peer, points });
  }

  penaltyOf(peer: string): number {
    return this.penalties.filter((p) => p.peer === peer).reduce((a, p) => a + p.points, 0);
  }
}

/** `commit` with its first signature replaced by the same validator's over another block hash. */
function badSig(commit: Uint8Array): Uint8Array {
  const c = decodeCommit(commit);
  const other = voteSignBytes(CHAIN_ID, VoteType.Precommit, c.height, c.round, new Uint8Array(32).fill(7));
  const signer = signers[c.signatures[0].validatorIndex];
  return encodeCommit({
    ...c,
    signatures: [{ ...c.signatures[0], signature: signer.sign(other) }, ...c.signatures.slice(1)],
  });
}

class FakeChain implements SyncChain {
  readonly applied: VerifiedBlock[] = [];
  applyCalls = 0;
  /** Awaited by every apply before it commits (tests hold the first batch here). */
  gate: Promise<void> = Promise.resolve();
  /** Runs after each apply (tests let "consensus" commit heights there). */
  afterApply: () => void = () => {};
  headHeight(): bigint {
    return BigInt(this.applied.length);
  }
  /** Consensus committed block `h` (not through sync). */
  commitByConsensus(h: number): void {
    const { block, commit } = CHAIN[h - 1];
    expect(BigInt(h)).toBe(this.headHeight() + 1n);
    this.applied.push({ block, hash: hashHeader(block.header), commit, round: 0, verifiedWith: validators });
  }
  async apply(blocks: VerifiedBlock[]): Promise<void> {
    this.applyCalls++;
    await this.gate;
    for (const b of blocks) {
      if (b.block.header.number <= this.headHeight()) continue;
      expect(b.block.header.number).toBe(this.headHeight() + 1n);
      this.applied.push(b);
    }
    this.afterApply();
  }
}

/**
 * Validators settled only two heights past the head, the newest offered as the guess beyond them: what
 * `ValidatorHistory` answers (block H settles H + 2), for a set that never changes.
 */
class SettlingSchedule implements ValidatorSchedule {
  constructor(private readonly chain: SyncChain) {}
  validators(height: bigint): readonly Validator[] | null {
    return height <= this.chain.headHeight() + 2n ? validators : null;
  }
  proposer(): number {
    return 0;
  }
  tentative(height: bigint): { validators: readonly Validator[] } | null {
    return height <= this.chain.headHeight() + 2n ? null : { validators };
  }
}

function setup(
  peers: Record<string, { behaviour: Behaviour; height: number }>,
  requestsInFlight?: number,
  schedule: (chain: SyncChain) => ValidatorSchedule = () => new StaticValidatorSchedule(validators),
  extra: Pick<BlockSyncModules, "verifier" | "precheck"> = { verifier: new Ed25519Verifier() },
) {
  let clock = 0;
  const now = () => clock;
  const network = new FakeNetwork(peers);
  const chain = new FakeChain();
  let idle = 0;
  const sync = new BlockSync(
    { chainId: CHAIN_ID, batchSize: 16, ...(requestsInFlight === undefined ? {} : { requestsInFlight }) },
    {
      network,
      chain,
      schedule: schedule(chain),
      ...extra,
      log: nullLogger,
      now,
      onIdle: () => idle++,
    },
  );
  return {
    sync,
    network,
    chain,
    idle: () => idle,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Lets the sync's promises run until `cond` holds (no real time passes). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never: ${what}`);
}

/** Lets pending promise chains finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

describe("BlockSync", () => {
  it("syncs from a peer that proves its height; a false claim is never believed and costs the liar", async () => {
    const t = setup({ honest: { behaviour: "honest", height: 40 }, liar: { behaviour: "liar", height: 0 } });
    t.sync.poll();
    await until(() => t.chain.headHeight() === 40n && !t.sync.active, "synced to 40");
    expect(t.network.blockRequests.every((r) => r.peer === "honest")).toBe(true);
    expect(t.network.penaltyOf("liar")).toBe(50); // BAD_PROOF
    expect(t.network.penaltyOf("honest")).toBe(0);
    expect(t.chain.applied.map((b) => b.hash)).toEqual(CHAIN.slice(0, 40).map((c) => hashHeader(c.block.header)));
    expect(t.idle()).toBe(1);
  });

  it("poll() returns at once even when a peer never answers its status", async () => {
    const t = setup({ mute: { behaviour: "no-status", height: 0 }, honest: { behaviour: "honest", height: 5 } });
    expect(t.sync.poll()).toBeUndefined();
    await until(() => t.chain.headHeight() === 5n, "synced past the mute peer");
    // Asked again only after the poll interval.
    t.sync.poll();
    expect(t.network.statusRequests.filter((p) => p === "mute")).toHaveLength(1);
  });

  it("rotates between peers, and moves on from one that times out, serves nothing or serves a bad block", async () => {
    const t = setup({
      slow: { behaviour: "timeout", height: 150 },
      empty: { behaviour: "empty", height: 150 },
      tamper: { behaviour: "tamper", height: 150 },
      a: { behaviour: "honest", height: 150 },
      b: { behaviour: "honest", height: 150 },
    });
    t.sync.poll();
    await until(() => t.chain.headHeight() === 150n && !t.sync.active, "synced to 150");
    const byPeer = (peer: string) => t.network.blockRequests.filter((r) => r.peer === peer).length;
    expect(byPeer("a")).toBeGreaterThan(2);
    expect(byPeer("b")).toBeGreaterThan(2);
    // Each bad peer failed once (at most the requests in flight had gone to it), then backed off for the rest of
    // this (instant) run.
    const inFlight = DEFAULT_BLOCK_SYNC_OPTIONS.requestsInFlight;
    for (const bad of ["slow", "empty", "tamper"]) expect(byPeer(bad)).toBeLessThanOrEqual(inFlight);
    expect(t.network.penaltyOf("slow")).toBe(t.sync.peerOptions.penalties[SyncFailure.TIMEOUT]);
    expect(t.network.penaltyOf("empty")).toBe(t.sync.peerOptions.penalties[SyncFailure.EMPTY]);
    expect(t.network.penaltyOf("tamper")).toBe(t.sync.peerOptions.penalties[SyncFailure.INVALID]);
    expect(t.network.penaltyOf("a") + t.network.penaltyOf("b")).toBe(0);
    // Consecutive batches alternate between the honest peers.
    const honest = t.network.blockRequests.filter((r) => r.peer === "a" || r.peer === "b").map((r) => r.peer);
    for (let i = 1; i < honest.length; i++) expect(honest[i]).not.toBe(honest[i - 1]);
    expect(t.chain.applied.map((b) => b.hash)).toEqual(CHAIN.map((c) => hashHeader(c.block.header)));
  });

  it("stops when no proven peer is left to ask, and tries again after the back-off", async () => {
    const t = setup({ slow: { behaviour: "timeout", height: 20 } });
    t.sync.poll();
    // Both batches were asked for at once (the requests in flight); the failure costs one penalty.
    await until(() => t.network.blockRequests.length === 2 && !t.sync.active, "two failed requests, run over");
    expect(t.network.penaltyOf("slow")).toBe(t.sync.peerOptions.penalties[SyncFailure.TIMEOUT]);
    expect(t.chain.headHeight()).toBe(0n);
    t.network.peers.slow.behaviour = "honest";
    t.advance(500);
    t.sync.poll(); // proven already: no new proof needed, but the back-off (1 s) is not over
    await until(() => t.network.statusRequests.length === 2, "second status");
    await settle();
    expect(t.sync.active).toBe(false);
    expect(t.network.blockRequests).toHaveLength(2);
    t.advance(600);
    t.sync.poll();
    await until(() => t.chain.headHeight() === 20n, "synced after the back-off");
  });

  it.each([1, 2, 3])("keeps %i block request(s) out while a batch verifies and applies", async (inFlight) => {
    const t = setup({ a: { behaviour: "honest", height: 150 }, b: { behaviour: "honest", height: 150 } }, inFlight);
    let open = () => {};
    t.chain.gate = new Promise((r) => {
      open = r;
    });
    t.sync.poll();
    await until(() => t.chain.applyCalls === 1, "first batch applying");
    await settle();
    // The batch in hand, and `inFlight` more for the heights after it: consecutive, none twice.
    expect(t.network.blockRequests.map((r) => r.from)).toEqual(
      Array.from({ length: 1 + inFlight }, (_, i) => BigInt(1 + 16 * i)),
    );
    open();
    await until(() => t.chain.headHeight() === 150n && !t.sync.active, "synced to 150");
    expect(t.chain.applied.map((b) => b.hash)).toEqual(CHAIN.map((c) => hashHeader(c.block.header)));
    expect(t.network.penalties).toEqual([]);
  });

  it("verifies heights whose validators are not settled yet against the newest settled ones: one apply per response", async () => {
    const t = setup({ a: { behaviour: "honest", height: 150 } }, 1, (chain) => new SettlingSchedule(chain));
    t.sync.poll();
    await until(() => t.chain.headHeight() === 150n && !t.sync.active, "synced to 150");
    expect(t.chain.applied.map((b) => b.hash)).toEqual(CHAIN.map((c) => hashHeader(c.block.header)));
    expect(t.chain.applied.every((b) => b.verifiedWith === validators)).toBe(true);
    expect(t.chain.applyCalls).toBe(Math.ceil(150 / 16)); // not one per two heights
    expect(t.network.penalties).toEqual([]);
  });

  it("with each response's signatures checked ahead (precheck), a bad commit in the middle of a batch is still refused", async () => {
    const verifier = new Ed25519Verifier({ verifiedCacheSize: 4096 });
    const prechecked: bigint[] = [];
    const t = setup({ bad: { behaviour: "badsig", height: 40 } }, 1, undefined, {
      verifier,
      precheck: async (checks) => {
        prechecked.push(decodeSyncItem(checks.items[0]).block.header.number);
        expect(checks.keySets[checks.setOf[0]]).toEqual(validators.map((v) => v.publicKey));
        for (const [k, m, s] of verifiedSignatures(checks, (a, b, c) => verifier.verify(a, b, c)))
          verifier.remember(k, m, s);
      },
    });
    t.sync.poll();
    await until(() => t.network.penaltyOf("bad") > 0 && !t.sync.active, "the bad commit refused");
    expect(prechecked[0]).toBe(1n); // the response with the bad commit (the next one was asked for meanwhile)
    expect(t.chain.headHeight()).toBe(1n); // the block before it, nothing of it or after
    expect(t.network.penaltyOf("bad")).toBe(50); // INVALID
  });

  it("trims a response consensus overtook and drops requests past a short response's gap; every block verified once in order", async () => {
    for (const inFlight of [1, 2, 4]) {
      const t = setup({ a: { behaviour: "honest", height: 150 }, s: { behaviour: "short", height: 150 } }, inFlight);
      // After each synced batch, consensus commits two heights itself (as it does for a node near the tip).
      t.chain.afterApply = () => {
        for (let i = 0; i < 2 && t.chain.headHeight() < 150n; i++)
          t.chain.commitByConsensus(Number(t.chain.headHeight()) + 1);
      };
      t.sync.poll();
      await until(() => t.chain.headHeight() === 150n && !t.sync.active, `synced to 150 (${inFlight} in flight)`);
      // FakeChain.apply checked that every applied block is the one above the head; the chain is the served one.
      expect(t.chain.applied.map((b) => b.hash)).toEqual(CHAIN.map((c) => hashHeader(c.block.header)));
      expect(t.network.penalties).toEqual([]);
    }
  });
});
