import { describe, expect, it } from "vitest";
import { NetworkError, NetworkErrorCode, P2PNetwork } from "../../../../node/network/index.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import { addrOf, bytes, CHAIN_ID, seed, startNode, waitFor } from "./fixtures.js";

/** Sockets and listeners this process holds (timers are not counted: libp2p's are unref'd). */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length;
}

describe("P2PNetwork lifecycle", () => {
  it("derives the same peer id from the same seed", async () => {
    const x = await startNode(31);
    const y = await startNode(31);
    try {
      expect(x.net.peerId).toBe(y.net.peerId);
      expect(x.net.peerId).toMatch(/^12D3KooW/); // ed25519
      expect(addrOf(x)).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${x.net.peerId}$`));
    } finally {
      await Promise.all([x.net.stop(), y.net.stop()]);
    }
  });

  it("refuses a bad seed or bootstrap address", async () => {
    const base = { chainId: CHAIN_ID, listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [] as string[] };
    await expect(
      P2PNetwork.create({ ...base, nodeKeySeed: new Uint8Array(31) }, { log: nullLogger }),
    ).rejects.toSatisfy((e) => e instanceof NetworkError && e.code === NetworkErrorCode.INVALID_ARGUMENT);
    await expect(
      P2PNetwork.create(
        { ...base, nodeKeySeed: seed(1), bootstrap: ["/ip4/127.0.0.1/tcp/1"] }, // no /p2p/<id>
        { log: nullLogger },
      ),
    ).rejects.toSatisfy((e) => e instanceof NetworkError && e.code === NetworkErrorCode.INVALID_PEER);
  });

  it("skips itself in the bootstrap list", async () => {
    const b = await startNode(36);
    const self = await startNode(37);
    const selfAddr = addrOf(self);
    await self.net.stop();
    // Same seed as `self`: its own address is in the list next to B's.
    const a = await startNode(37, { bootstrap: [selfAddr, addrOf(b)] });
    try {
      await waitFor(() => a.net.peers().length === 1, "A connected to B");
      expect(a.net.peers()[0].id).toBe(b.net.peerId);
    } finally {
      await Promise.all([a.net.stop(), b.net.stop()]);
    }
  });

  it("re-dials a persistent peer that went away, with backoff, until it is back", async () => {
    const b1 = await startNode(32);
    const bAddr = addrOf(b1);
    const port = bAddr.split("/")[4];
    const a = await startNode(33, { bootstrap: [bAddr] });
    const connected: string[] = [];
    let b2: Awaited<ReturnType<typeof startNode>> | undefined;
    try {
      await waitFor(() => a.net.peers().length === 1, "A connected to B");
      expect(a.metrics.peers).toBe(1);
      await b1.net.stop();
      await waitFor(() => a.net.peers().length === 0, "A sees B gone");
      expect(a.metrics.peers).toBe(0);
      const off = a.net.onPeerConnected((p) => connected.push(p));
      // B comes back on the same address; A's backoff timer finds it without any help.
      b2 = await startNode(32, { listen: [`/ip4/127.0.0.1/tcp/${port}`] });
      await waitFor(() => connected.includes(b2!.net.peerId), "A re-dialled B");
      off();
      expect(a.net.peers().map((p) => p.id)).toEqual([b2.net.peerId]);
    } finally {
      await Promise.all([a.net.stop(), b1.net.stop(), b2?.net.stop()]);
    }
  });

  // Last in this file: it also proves the tests above released everything.
  it("stop() closes every socket and listener, is idempotent, and later calls fail with STOPPED", async () => {
    const b = await startNode(34);
    const a = await startNode(35, { bootstrap: [addrOf(b)] });
    b.net.handleStatus(() => ({ height: 1n, hash: new Uint8Array(32), commit: new Uint8Array(0) }));
    a.net.onGossip("tx", async () => {});
    b.net.onGossip("tx", async () => {});
    await waitFor(() => a.net.peers().length === 1, "connected");
    await a.net.requestStatus(b.net.peerId);
    await a.net.publish("tx", bytes(1));
    expect(tcpHandles()).toBeGreaterThanOrEqual(4); // 2 listeners, 2 ends of the connection
    await Promise.all([a.net.stop(), b.net.stop()]);
    await a.net.stop();
    await waitFor(() => tcpHandles() === 0, "all TCP handles released", 5_000);
    await expect(a.net.publish("tx", bytes(2))).rejects.toSatisfy(
      (e) => e instanceof NetworkError && e.code === NetworkErrorCode.STOPPED,
    );
  });
});
