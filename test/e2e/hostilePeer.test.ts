import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VoteType } from "../../consensus/vote.js";
import { encodeSignedProposal, encodeSignedVote } from "../../consensus/wire.js";
import { DEFAULT_P2P_OPTIONS, GossipAction, GossipActionError, P2PNetwork } from "../../node/network/index.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import type { Block } from "../../runtime/primitives/block.js";
import { collectGarbage } from "../utils/inspector.js";
import { type NetNode, TestNetwork, waitFor } from "../utils/network.js";

/**
 * Issue 16, finding 3, against real `azora start` processes: an outsider's libp2p peer, connected to
 * two of four validators, sends well-formed votes for height + 2 with random signatures, claims height
 * 10^9 (with a garbage proof) and never serves a block, and sends 4 MiB proposals for height + 2 with
 * random signatures. Before the fix the validators accepted and relayed all of it unverified, asked
 * the peer for its status, believed 10^9 and held their consensus input queue for the 10 s block
 * request timeout again and again (the chain stalled), and kept every future proposal in memory.
 *
 * What must hold: nothing the peer sends is relayed (a witness peer on the two other validators never
 * sees it), no validator ever asks it for blocks, it ends up disconnected, the chain keeps committing
 * on all four validators, and the validators' memory returns to where it was (nothing is retained).
 * The empty-block interval is 1 s so heights idle for longer than the sync poll interval and the
 * validators do ask the peer for its status.
 */

let net: TestNetwork;
let witness: P2PNetwork;
const hostiles: P2PNetwork[] = [];
/** sha256 of every payload a hostile peer sent, and of every payload the witness received. */
const sentByHostiles = new Set<string>();
const witnessed = new Set<string>();

const validators = () => net.nodes.slice(0, 4);
const attacked = () => [net.node(0), net.node(1)];
const digest = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A P2P peer on 127.0.0.1 that subscribes to the consensus topics but never relays (every message ignored). */
async function listeningPeer(bootstrap: NetNode[], onMessage: (data: Uint8Array) => void): Promise<P2PNetwork> {
  const peer = await P2PNetwork.create(
    {
      ...DEFAULT_P2P_OPTIONS,
      chainId: net.chainId,
      listen: ["/ip4/127.0.0.1/tcp/0"],
      bootstrap: bootstrap.map((n) => n.multiaddr()),
      nodeKeySeed: new Uint8Array(randomBytes(32)),
      heartbeatIntervalMs: 100,
      redialMinMs: 50,
      redialMaxMs: 500,
    },
    { log: nullLogger },
  );
  for (const topic of ["vote", "proposal"] as const) {
    peer.onGossip(topic, async (data) => {
      onMessage(data);
      throw new GossipActionError(GossipAction.IGNORE, { code: "TEST_LISTENER", reason: "not relayed" });
    });
  }
  return peer;
}

/**
 * The attacker: claims height 10^9 with a proof that is random bytes, and answers block requests
 * never (each one hangs until the requester's timeout). Counts the block requests it gets.
 */
async function hostilePeer(): Promise<{ peer: P2PNetwork; blockRequests: () => number }> {
  let blockRequests = 0;
  const peer = await listeningPeer(attacked(), () => {});
  peer.handleStatus(() => ({
    height: 10n ** 9n,
    hash: new Uint8Array(randomBytes(32)),
    commit: new Uint8Array(randomBytes(200)),
  }));
  peer.handleBlockRequests(() => {
    blockRequests++;
    return new Promise<Uint8Array[]>(() => {});
  });
  hostiles.push(peer);
  await waitFor("the hostile peer connected to validators 0 and 1", () => peer.peers().length === 2, 30_000);
  return { peer, blockRequests: () => blockRequests };
}

async function consensusHeight(node: NetNode): Promise<bigint> {
  return BigInt((await node.status()).consensusHeight);
}

/** A vote for `height` that decodes, from a real validator index, with a random signature. */
function forgedVote(height: bigint, validatorIndex: number): Uint8Array {
  return encodeSignedVote({
    type: VoteType.Prevote,
    height,
    round: 0,
    blockHash: new Uint8Array(randomBytes(32)),
    validatorIndex,
    signature: new Uint8Array(randomBytes(64)),
  });
}

/** A proposal for `height` whose block decodes and carries `txBytes` of "transaction", with a random signature. */
function forgedProposal(height: bigint, txBytes: number): Uint8Array {
  const h32 = () => new Uint8Array(randomBytes(32));
  const block: Block = {
    header: {
      parentHash: h32(),
      number: height,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      stateRoot: h32(),
      transactionsRoot: h32(),
      receiptsRoot: h32(),
      logsBloom: new Uint8Array(256),
      gasLimit: 60_000_000n,
      gasUsed: 0n,
      baseFeePerGas: 1_000_000_000n,
      miner: new Uint8Array(20),
      proposer: new Uint8Array(20),
      validatorsHash: h32(),
      lastCommitHash: h32(),
      evidenceHash: h32(),
    },
    body: { transactions: [new Uint8Array(randomBytes(txBytes))], lastCommit: new Uint8Array(0), evidence: [] },
  };
  return encodeSignedProposal({ height, round: 0, polRound: -1, block, signature: new Uint8Array(randomBytes(64)) });
}

/** One value of a Prometheus metric (summed over its label sets), from a node's /metrics. */
async function metric(node: NetNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const ls = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * What a node still holds, after a full garbage collection run through its inspector: the JS heap in
 * use plus memory outside it owned by JS objects (Buffers, ArrayBuffers), and the resident set. Read
 * without the collection, the figures measured the collector's timing as much as what is retained (the
 * resident set stayed ~90 MiB up on a quiet machine and 120 MiB under load, for nothing reachable).
 */
async function memoryAfterGc(node: NetNode): Promise<{ reachable: number; resident: number }> {
  await collectGarbage(node.inspectorUrl());
  const [heap, external, resident] = await Promise.all([
    metric(node, "azora_process_nodejs_heap_size_used_bytes"),
    metric(node, "azora_process_nodejs_external_memory_bytes"),
    metric(node, "azora_process_process_resident_memory_bytes"),
  ]);
  return { reachable: heap + external, resident };
}

beforeAll(async () => {
  // The inspector, on a port of its own per node, lets the memory check run a full collection first.
  net = await TestNetwork.create({ validators: 4, emptyBlockIntervalMs: 1000, nodeArgs: ["--inspect=127.0.0.1:0"] });
  await net.waitForHeight(validators(), 2n, 60_000);
  // The witness hangs off the two validators the attacker never talks to: whatever reaches it was relayed.
  witness = await listeningPeer([net.node(2), net.node(3)], (data) => witnessed.add(digest(data)));
  await waitFor(
    "the witness in the vote and proposal meshes of validators 2 and 3",
    () => witness.meshPeers("vote").length === 2 && witness.meshPeers("proposal").length === 2,
    30_000,
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([witness?.stop(), ...hostiles.map((h) => h.stop())]);
  if (net !== undefined) {
    await net.stopAll();
    net.saveLogs("hostile-peer");
    await net.destroy();
  }
}, 60_000);

describe("a hostile peer on two of four validators (issue 16, finding 3)", () => {
  it("forged future votes and a false height claim: nothing relayed, no block sync from it, the chain keeps committing", async () => {
    const { peer, blockRequests } = await hostilePeer();
    const startHeights = await Promise.all(validators().map((n) => n.height()));
    const start = startHeights.reduce((a, b) => (a > b ? a : b));

    // Every 20 ms a vote for the next height or the one after (alternately), each with a fresh random
    // signature, until the chain has moved on. The height is read before each vote: a validator checks a
    // signature only for a vote inside its window (previous, current, next, or a future height whose set is
    // settled), and an idle chain makes many heights a second, so a height read once per 500 ms made most
    // votes stale on arrival — dropped as old without a signature check, and the test flaky.
    let running = true;
    let height = await consensusHeight(net.node(0));
    let sent = 0;
    const flood = (async () => {
      while (running) {
        height = await consensusHeight(net.node(0)).catch(() => height);
        const vote = forgedVote(height + 1n + BigInt(sent % 2), sent % 4);
        sentByHostiles.add(digest(vote));
        await peer.publish("vote", vote).catch(() => undefined);
        sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      // Blocks keep coming on all four validators while the flood goes on; a validator asking the peer
      // for blocks means its unproven height was believed (that is how the attack stalled the chain).
      const deadline = Date.now() + 240_000;
      for (;;) {
        if (blockRequests() > 0)
          throw new Error(`a validator asked the hostile peer for blocks\n${await net.describe()}`);
        const hs = await Promise.all(validators().map((n) => n.height().catch(() => 0n)));
        if (hs.every((h) => h >= start + 8n)) break;
        if (Date.now() > deadline) {
          throw new Error(`all four validators not at height ≥ ${start + 8n} in 240 s\n${await net.describe()}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      running = false;
      await flood;
    }
    console.log(`hostile votes sent: ${sent}; block requests to the hostile peer: ${blockRequests()}`);
    expect(sent).toBeGreaterThan(0);
    // Its height was never believed: no validator asked it for a block.
    expect(blockRequests()).toBe(0);
    // Nothing it sent was relayed to the validators it is not connected to (and on to the witness).
    expect([...witnessed].filter((d) => sentByHostiles.has(d))).toEqual([]);
    // The validators it talked to rejected its votes as badly signed and let it go.
    for (const n of attacked()) {
      const rejected = await metric(n, "azora_gossip_validation_error_total", {
        topic: "vote",
        error: "CONSENSUS_MESSAGE_BAD_SIGNATURE",
      });
      expect(rejected, `node${n.index} rejected forged votes`).toBeGreaterThan(0);
    }
    await waitFor("the hostile peer disconnected by both validators", () => peer.peers().length === 0, 30_000);
  }, 300_000);

  it("4 MiB future proposals with bad signatures: rejected, not relayed, not retained", async () => {
    const { peer, blockRequests } = await hostilePeer();
    const before = await Promise.all(validators().map(memoryAfterGc));
    const height = await consensusHeight(net.node(0));
    const count = 100;
    const txBytes = 4 * 1024 * 1024 - 4096; // the proposal topic's cap is 4 MiB
    // Spaced out, so they are handled rather than dropped by a full queue (which would also hold nothing).
    for (let i = 0; i < count; i++) {
      const p = forgedProposal(height + 2n, txBytes);
      sentByHostiles.add(digest(p));
      await peer.publish("proposal", p).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    const sentMiB = Math.round((count * txBytes) / 2 ** 20);
    // Wait until the attacked validators have had every proposal (handled or dropped), or let the peer go.
    const handled = async (n: NetNode) => metric(n, "azora_gossip_messages_total", { topic: "proposal" });
    const handledBefore = await Promise.all(attacked().map(handled));
    await waitFor(
      "the attacked validators to have taken in every proposal, or to have dropped the peer",
      async () => {
        if (peer.peers().length === 0) return true;
        const now = await Promise.all(attacked().map(handled));
        return now.every((h, i) => h - handledBefore[i] >= count);
      },
      120_000,
    );
    // Nothing is held: after a full collection, what each validator still holds comes back within a bound
    // far below what was sent to each attacked one (100 proposals of 4 MiB; holding 8 of them is over it; the
    // gossip limits drop most before any handler sees them: the log line says how many were handled). The
    // chain's own growth meanwhile (blocks, caches filling) measured −1 to 10 MiB on every validator, attacked or not.
    const limit = 32 * 2 ** 20;
    const mib = (x: number) => (x / 2 ** 20).toFixed(1);
    const growth = await waitFor(
      `memory reachable in every validator within ${limit / 2 ** 20} MiB of its level before ${sentMiB} MiB of proposals`,
      async () => {
        const after = await Promise.all(validators().map(memoryAfterGc));
        const g = after.map((a, i) => ({
          reachable: a.reachable - before[i].reachable,
          resident: a.resident - before[i].resident,
        }));
        if (g.every((x) => x.reachable < limit)) return g;
        throw new Error(`reachable growth per validator (MiB): ${g.map((x) => mib(x.reachable)).join(", ")}`);
      },
      60_000,
      500,
    );
    const handledAfter = await Promise.all(attacked().map(handled));
    console.log(
      `proposals handled by the attacked validators: ${handledAfter.map((h, i) => h - handledBefore[i]).join(", ")} of ${count} sent`,
    );
    console.log(
      `after a full collection, growth per validator (MiB): reachable ${growth.map((x) => mib(x.reachable)).join(", ")}; resident ${growth.map((x) => mib(x.resident)).join(", ")}`,
    );
    expect([...witnessed].filter((d) => sentByHostiles.has(d))).toEqual([]);
    expect(blockRequests()).toBe(0);
    // And the chain is still committing.
    const head = await net.node(0).height();
    await net.waitForHeight(validators(), head + 2n, 60_000);
  }, 300_000);
});
