import { afterAll, describe, expect, it } from "vitest";
import { GossipAction, GossipActionError } from "../../../../node/network/index.js";
import { PeerBans } from "../../../../node/network/scoring.js";
import { addrOf, startNode, type TestNode, waitFor } from "./fixtures.js";

describe("peer bans", () => {
  it("PeerBans: banned until the ban ends, bounded", () => {
    let now = 0;
    const bans = new PeerBans(1000, 2, () => now);
    bans.ban("a");
    expect(bans.isBanned("a")).toBe(true);
    now = 999;
    expect(bans.isBanned("a")).toBe(true);
    now = 1000;
    expect(bans.isBanned("a")).toBe(false);
    bans.ban("a");
    bans.ban("b");
    bans.ban("c"); // over the bound: the oldest ban goes
    expect(bans.isBanned("a")).toBe(false);
    expect(bans.isBanned("c")).toBe(true);
  });

  const nodes: TestNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.net.stop()));
  });

  it("a peer penalised to the graylist threshold is disconnected, refused while banned, and let back after", async () => {
    const a = await startNode(61, { peerBanMs: 5000 });
    const b = await startNode(62, { bootstrap: [addrOf(a)], redialMinMs: 50, redialMaxMs: 200 });
    nodes.push(a, b);
    a.net.onGossip("vote", async () => {});
    b.net.onGossip("vote", async () => {});
    await waitFor(() => a.net.peers().length === 1, "connected");
    a.net.penalize(b.net.peerId, 100, "test");
    await waitFor(() => a.net.peers().length === 0 && b.net.peers().length === 0, "b disconnected");
    expect(a.net.isBanned(b.net.peerId)).toBe(true);
    expect(a.metrics.bans).toBe(1);
    // b keeps re-dialling (a is its bootstrap peer); a's connection gater refuses it while the ban lasts.
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.net.peers()).toEqual([]);
    await waitFor(() => a.net.peers().length === 1, "b back after the ban", 30_000);
  });

  it("the third gossip message rejected as invalid gets the sender disconnected and banned", async () => {
    const a = await startNode(63);
    const b = await startNode(64, { bootstrap: [addrOf(a)] });
    nodes.push(a, b);
    a.net.onGossip("vote", async () => {
      throw new GossipActionError(GossipAction.REJECT, { code: "TEST_INVALID", reason: "forged" });
    });
    b.net.onGossip("vote", async () => {});
    await waitFor(() => a.net.meshPeers("vote").length === 1 && b.net.meshPeers("vote").length === 1, "mesh");
    for (let i = 1; i <= 2; i++) {
      await b.net.publish("vote", Uint8Array.of(i));
      await waitFor(() => a.metrics.count("vote", GossipAction.REJECT) === i, `rejection ${i}`);
    }
    expect(a.net.isBanned(b.net.peerId)).toBe(false);
    await b.net.publish("vote", Uint8Array.of(3));
    await waitFor(() => a.net.isBanned(b.net.peerId), "banned after the third");
    await waitFor(() => a.net.peers().length === 0, "disconnected");
    expect(a.metrics.bans).toBe(1);
  });
});
