import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GOSSIP_TOPICS,
  GossipAction,
  GossipActionError,
  GossipErrorCode,
  type GossipTopic,
  NetworkError,
  NetworkErrorCode,
} from "../../../../node/network/index.js";
import { addrOf, bytes, startNode, type TestNode, waitFor } from "./fixtures.js";

type Received = { topic: GossipTopic; data: Uint8Array; from: string };

/** Refusals the middle node applies to vote payloads starting with these bytes. */
const REJECT_MARK = 0xf1;
const IGNORE_MARK = 0xf2;

describe("gossip over a line A ↔ B ↔ C", () => {
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  const received = new Map<string, Received[]>();

  const got = (node: TestNode, topic: GossipTopic, first: number) =>
    (received.get(node.net.peerId) ?? []).some((r) => r.topic === topic && r.data[0] === first);

  function subscribeAll(node: TestNode, refuse = false): void {
    const list: Received[] = [];
    received.set(node.net.peerId, list);
    for (const topic of GOSSIP_TOPICS) {
      node.net.onGossip(topic, async (data, from) => {
        if (refuse && data[0] === REJECT_MARK) {
          throw new GossipActionError(GossipAction.REJECT, { code: "TEST_INVALID", reason: "bad" });
        }
        if (refuse && data[0] === IGNORE_MARK) {
          throw new GossipActionError(GossipAction.IGNORE, { code: "TEST_STALE", reason: "old" });
        }
        list.push({ topic, data, from });
      });
    }
  }

  beforeAll(async () => {
    b = await startNode(2);
    // A's vote cap is raised so it can send what B must refuse as oversize.
    a = await startNode(1, { bootstrap: [addrOf(b)], topicLimits: { vote: { maxMessageBytes: 1 << 20 } } });
    c = await startNode(3, { bootstrap: [addrOf(b)] });
    subscribeAll(a);
    subscribeAll(b, true);
    subscribeAll(c);
    // Gossipsub grafts on heartbeats: wait until B meshes with both ends on every topic.
    await waitFor(
      () =>
        GOSSIP_TOPICS.every(
          (t) => b.net.meshPeers(t).includes(a.net.peerId) && b.net.meshPeers(t).includes(c.net.peerId),
        ),
      "B meshed with A and C on every topic",
    );
  });

  afterAll(async () => {
    await Promise.all([a?.net.stop(), b?.net.stop(), c?.net.stop()]);
  });

  it("is a line: A and C are not connected", () => {
    expect(a.net.peers().map((p) => p.id)).toEqual([b.net.peerId]);
    expect(c.net.peers().map((p) => p.id)).toEqual([b.net.peerId]);
    expect(
      b.net
        .peers()
        .map((p) => p.id)
        .sort(),
    ).toEqual([a.net.peerId, c.net.peerId].sort());
    expect(b.net.peers()[0].address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/);
  });

  for (const topic of GOSSIP_TOPICS) {
    it(`relays a ${topic} published on A to C through B`, async () => {
      await a.net.publish(topic, bytes(0x10, 1, 2, 3));
      await waitFor(() => got(c, topic, 0x10), `${topic} at C`);
      const atC = received.get(c.net.peerId)!.find((r) => r.topic === topic && r.data[0] === 0x10)!;
      expect(atC.data).toEqual(bytes(0x10, 1, 2, 3));
      expect(atC.from).toBe(b.net.peerId); // the relay, not the author
      expect(got(b, topic, 0x10)).toBe(true);
      expect(b.metrics.count(topic, GossipAction.ACCEPT)).toBeGreaterThanOrEqual(1);
    });
  }

  it("drops a duplicate payload (content-hash message id)", async () => {
    await a.net.publish("tx", bytes(0x20, 9));
    await waitFor(() => got(c, "tx", 0x20), "first copy at C");
    await a.net.publish("tx", bytes(0x20, 9)); // same bytes: not re-sent, and no error
    await a.net.publish("tx", bytes(0x21)); // sentinel after it
    await waitFor(() => got(c, "tx", 0x21), "sentinel at C");
    expect(received.get(c.net.peerId)!.filter((r) => r.data[0] === 0x20)).toHaveLength(1);
  });

  it("REJECT stops propagation and lowers the sender's score", async () => {
    const before = b.net.peerScore(a.net.peerId);
    await a.net.publish("vote", bytes(REJECT_MARK, 1));
    await waitFor(() => b.metrics.count("vote", GossipAction.REJECT, "TEST_INVALID") === 1, "B rejected");
    // B forwards in order over one stream: once a later message reaches C, the rejected one never will.
    await a.net.publish("vote", bytes(0x30));
    await waitFor(() => got(c, "vote", 0x30), "sentinel at C");
    expect(got(c, "vote", REJECT_MARK)).toBe(false);
    // P4 costs 10 per first invalid message; A's positive terms (first deliveries so far) are about 5.
    // Scores are cached for one heartbeat, hence the poll.
    await waitFor(() => b.net.peerScore(a.net.peerId) < Math.min(before, 0), "A's score at B drops below 0");
    expect(b.net.peerScore(c.net.peerId)).toBeGreaterThanOrEqual(0);
  });

  it("IGNORE stops propagation without a penalty", async () => {
    await c.net.publish("evidence", bytes(IGNORE_MARK, 1));
    await waitFor(() => b.metrics.count("evidence", GossipAction.IGNORE, "TEST_STALE") === 1, "B ignored");
    await c.net.publish("evidence", bytes(0x31));
    await waitFor(() => got(a, "evidence", 0x31), "sentinel at A");
    expect(got(a, "evidence", IGNORE_MARK)).toBe(false);
    // Scores are cached for one heartbeat (100 ms here): past three, a REJECT's P4 (−10 against C's ~5 of first
    // deliveries) would show. (C's own view of B is not compared: its first-delivery terms decay every second.)
    await new Promise((r) => setTimeout(r, 300));
    expect(b.net.peerScore(c.net.peerId)).toBeGreaterThanOrEqual(0);
  });

  it("rejects an oversize message before its handler, and publish refuses one locally", async () => {
    const big = new Uint8Array(8 * 1024).fill(0x40);
    const handledBefore = received.get(b.net.peerId)!.length;
    await a.net.publish("vote", big); // within A's raised cap, above B's 4 KiB default
    await waitFor(
      () => b.metrics.count("vote", GossipAction.REJECT, GossipErrorCode.OVERSIZE) === 1,
      "B rejected size",
    );
    await a.net.publish("vote", bytes(0x32));
    await waitFor(() => got(c, "vote", 0x32), "sentinel at C");
    expect(got(c, "vote", 0x40)).toBe(false);
    expect(
      received
        .get(b.net.peerId)!
        .slice(handledBefore)
        .some((r) => r.data[0] === 0x40),
    ).toBe(false);

    await expect(b.net.publish("vote", big)).rejects.toSatisfy(
      (e) => e instanceof NetworkError && e.code === NetworkErrorCode.MESSAGE_TOO_LARGE,
    );
  });
});

describe("publish without peers", () => {
  it("does not throw", async () => {
    const lone = await startNode(9);
    try {
      lone.net.onGossip("tx", async () => {});
      await expect(lone.net.publish("tx", bytes(1))).resolves.toBeUndefined();
      await expect(lone.net.publish("vote", bytes(1))).resolves.toBeUndefined(); // not even subscribed
    } finally {
      await lone.net.stop();
    }
  });
});

describe("a gossip flood", () => {
  it("fills the topic queue, then is dropped as IGNORE and counted; memory stays bounded", async () => {
    const b = await startNode(11, { topicLimits: { tx: { maxQueueLength: 2, concurrency: 1 } } });
    const a = await startNode(12, { bootstrap: [addrOf(b)] });
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let handled = 0;
      b.net.onGossip("tx", async () => {
        await gate;
        handled++;
      });
      a.net.onGossip("tx", async () => {});
      await waitFor(() => a.net.meshPeers("tx").includes(b.net.peerId), "A meshed with B");
      for (let i = 0; i < 50; i++) await a.net.publish("tx", bytes(0x50, i));
      // 1 in the handler + 2 queued; the other 47 are dropped unprocessed.
      await waitFor(() => b.metrics.drops.length === 47, "47 drops at B");
      expect(b.metrics.count("tx", GossipAction.IGNORE, GossipErrorCode.QUEUE_FULL)).toBe(47);
      release();
      await waitFor(() => handled === 3, "the 3 admitted messages handled");
      expect(b.metrics.count("tx", GossipAction.ACCEPT)).toBe(3);
      // Dropped messages were ignored, not rejected: A keeps a non-negative score.
      expect(b.net.peerScore(a.net.peerId)).toBeGreaterThanOrEqual(0);
    } finally {
      await Promise.all([a.net.stop(), b.net.stop()]);
    }
  });
});
