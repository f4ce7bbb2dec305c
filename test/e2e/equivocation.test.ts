import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { encodeSignedVote, type SignedVote } from "../../consensus/wire.js";
import { Ed25519Signer } from "../../node/crypto/ed25519.js";
import { DEFAULT_P2P_OPTIONS, GossipAction, GossipActionError, P2PNetwork } from "../../node/network/index.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import { bytesToHex, hexToBytes } from "../../runtime/primitives/bytes.js";
import { type NetNode, rpcBatch, TestNetwork, waitFor } from "../utils/network.js";

/**
 * A validator made to double-sign (issue 3, "Equivocation"): validators 0–2 run as `azora start`
 * processes; validator 3's node is never started. Instead this process joins the network with node
 * 3's libp2p identity and signs, with validator 3's key, two conflicting prevotes for the height
 * and round the network is at. The honest nodes must detect it, gossip the evidence and record it in
 * a block within 2 heights, keep committing (30 of 40 voting power is live), and never accuse an
 * honest validator.
 */

interface EvidenceJSON {
  validatorIndex: number;
  height: string;
  round: number;
  type: "prevote" | "precommit";
  blockHashes: (string | null)[];
}

let net: TestNetwork;
let byzantine: P2PNetwork | null = null;

const honest = () => net.nodes.slice(0, 3);

/** Evidence recorded in blocks [from, to] of `node`, with the block number that holds each item. */
async function evidenceIn(node: NetNode, from: bigint, to: bigint): Promise<(EvidenceJSON & { block: bigint })[]> {
  if (to < from) return [];
  const calls = [];
  for (let n = from; n <= to; n++) calls.push({ method: "azora_getBlockEvidence", params: [`0x${n.toString(16)}`] });
  const perBlock = await rpcBatch<EvidenceJSON[] | null>(node.url, calls);
  return perBlock.flatMap((items, i) => (items ?? []).map((e) => ({ ...e, block: from + BigInt(i) })));
}

beforeAll(async () => {
  net = await TestNetwork.create({ validators: 4, emptyBlockIntervalMs: 200, start: [0, 1, 2] });
  // Three of four validators (30 of 40 power) commit on their own.
  await net.waitForHeight(honest(), 3n, 60_000);
}, 120_000);

afterAll(async () => {
  await byzantine?.stop();
  if (net !== undefined) {
    await net.stopAll();
    net.saveLogs("equivocation");
    await net.destroy();
  }
}, 60_000);

describe("equivocation", () => {
  it("detects a double-signing validator, records the evidence within 2 heights and accuses no honest one", async () => {
    const node3 = net.node(3);
    const byzIndex = net.validatorIndexOf(3);
    const honestIndexes = honest().map((n) => net.validatorIndexOf(n.index));
    expect(honestIndexes).not.toContain(byzIndex);

    // Validator 3's node, run here: its libp2p identity, its listen address, the others as peers.
    const relayedBy = new Set<string>();
    byzantine = await P2PNetwork.create(
      {
        ...DEFAULT_P2P_OPTIONS,
        chainId: net.chainId,
        listen: [`/ip4/127.0.0.1/tcp/${node3.p2pPort}`],
        bootstrap: honest().map((n) => n.multiaddr()),
        nodeKeySeed: hexToBytes(node3.nodeKey().seed),
        heartbeatIntervalMs: 100,
        redialMinMs: 50,
        redialMaxMs: 500,
      },
      { log: nullLogger },
    );
    expect(byzantine.peerId).toBe(node3.nodeKey().peerId);
    // Listen on the vote topic (without relaying): a vote from each honest node means both sides know
    // the other's subscription, so our publish reaches all three.
    byzantine.onGossip("vote", (_data, from) => {
      relayedBy.add(from);
      throw new GossipActionError(GossipAction.IGNORE, { code: "TEST_LISTENER", reason: "not relayed" });
    });
    const peerIds = honest().map((n) => n.nodeKey().peerId);
    await waitFor("votes from all three honest nodes", () => peerIds.every((p) => relayedBy.has(p)), 30_000);

    // The network's current height and round, from a node.
    const status = await net.node(0).status();
    const height = BigInt(status.consensusHeight);
    const round = status.round;
    const signer = new Ed25519Signer(hexToBytes(node3.validatorKey().seed));
    expect(bytesToHex(signer.publicKey)).toBe(node3.validatorKey().publicKey.toLowerCase());
    const vote = (blockHash: Uint8Array | null): SignedVote => ({
      type: VoteType.Prevote,
      height,
      round,
      blockHash,
      validatorIndex: byzIndex,
      signature: signer.sign(voteSignBytes(net.chainId, VoteType.Prevote, height, round, blockHash)),
    });
    const forBlock = vote(new Uint8Array(randomBytes(32)));
    const forNil = vote(null);
    await byzantine.publish("vote", encodeSignedVote(forBlock));
    await byzantine.publish("vote", encodeSignedVote(forNil));

    // Evidence naming validator 3 is in a block within 2 heights of the equivocation.
    const found = await waitFor(
      `evidence against validator ${byzIndex} (equivocated at height ${height}, round ${round})`,
      async () => {
        const head = await net.node(0).height();
        const ev = await evidenceIn(net.node(0), height - 1n > 0n ? height - 1n : 1n, head);
        return ev.find((e) => e.validatorIndex === byzIndex);
      },
      30_000,
    );
    expect(found.block).toBeLessThanOrEqual(height + 2n);
    expect(BigInt(found.height)).toBe(height);
    expect(found.round).toBe(round);
    expect(found.type).toBe("prevote");
    expect(new Set(found.blockHashes)).toEqual(new Set([bytesToHex(forBlock.blockHash as Uint8Array), null]));
    console.log(`equivocation at height ${height} round ${round}: evidence in block ${found.block}`);

    // The chain keeps committing, and every honest node has the same blocks.
    const after = await net.node(0).height();
    await net.waitForHeight(honest(), after + 3n, 30_000);
    const head = (await Promise.all(honest().map((n) => n.height()))).reduce((a, b) => (a < b ? a : b));
    const chains = await Promise.all(honest().map((n) => n.blocks(1n, head)));
    for (const c of chains.slice(1)) {
      expect(c.map((b) => b.hash)).toEqual(chains[0].map((b) => b.hash));
      expect(c.map((b) => b.stateRoot)).toEqual(chains[0].map((b) => b.stateRoot));
    }
    // Across the whole chain: evidence only ever names validator 3, recorded once, identically on every node.
    const all = await Promise.all(honest().map((n) => evidenceIn(n, 1n, head)));
    for (const ev of all) {
      expect(ev.length).toBeGreaterThan(0);
      expect(ev.filter((e) => e.validatorIndex !== byzIndex)).toEqual([]);
      expect(ev).toEqual(all[0]);
    }
    expect(all[0]).toHaveLength(1);
  }, 180_000);
});
