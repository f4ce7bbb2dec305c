import type { Libp2p } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GossipAction,
  GossipActionError,
  NetworkErrorCode,
  ReqRespErrorCode,
  stringifyProtocol,
} from "../../../../node/network/index.js";
import { decodeChunk, encodeChunk, ResponseCode } from "../../../../node/network/reqresp/codec.js";
import {
  addrOf,
  bytes,
  CHAIN_ID,
  fakeBlock,
  heightOf,
  rawHost,
  rejectsWith,
  startNode,
  type TestNode,
  waitFor,
} from "./fixtures.js";

const HEAD = 100n;
const HASH = new Uint8Array(32).fill(7);
/** Stands in for the head's commit certificate (the network layer carries it; block sync checks it). */
const PROOF = new Uint8Array(300).fill(9);

/** Opens `protocol` on `target`, writes raw bytes, half-closes and returns the first response chunk. */
async function rawExchange(host: Libp2p, target: string, protocol: string, write: Uint8Array[]) {
  const stream = await host.dialProtocol(multiaddr(target), protocol);
  for (const w of write) stream.send(w);
  await stream.close();
  const lp = lpStream(stream);
  const chunk = decodeChunk((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray());
  return chunk;
}

describe("request-response", () => {
  let a: TestNode;
  let b: TestNode;
  let bare: TestNode;
  let hostile: Libp2p;
  let failBlocks = false;
  const direct: { data: Uint8Array; from: string }[] = [];

  beforeAll(async () => {
    b = await startNode(21, { maxBlocksResponseBytes: 3 * 1024 * 1024 });
    a = await startNode(22, { bootstrap: [addrOf(b)] });
    bare = await startNode(23, { bootstrap: [addrOf(b)] }); // no handlers at all
    b.net.handleStatus(async () => ({ height: HEAD, hash: HASH, commit: PROOF }));
    b.net.handleBlockRequests(async (from, count) => {
      if (failBlocks) throw new Error("db is on fire");
      const out: Uint8Array[] = [];
      for (let h = from; h < from + BigInt(count) && h <= HEAD; h++) out.push(fakeBlock(h, h >= 90n ? 1 << 20 : 64));
      return out;
    });
    b.net.onGossip("vote", async (data, from) => {
      if (data[0] === 0xee) throw new GossipActionError(GossipAction.REJECT, { code: "VOTE_BAD", reason: "x" });
      if (data[0] === 0xef) throw new GossipActionError(GossipAction.IGNORE, { code: "VOTE_OLD", reason: "x" });
      direct.push({ data, from });
    });
    hostile = await rawHost();
    await waitFor(() => a.net.peers().length === 1 && bare.net.peers().length === 1, "A and bare connected to B");
  });

  afterAll(async () => {
    await Promise.all([a?.net.stop(), b?.net.stop(), bare?.net.stop(), hostile?.stop()]);
  });

  it("requestStatus returns the peer's head and its proof (from an async handler)", async () => {
    const s = await a.net.requestStatus(b.net.peerId);
    expect(s.height).toBe(HEAD);
    expect(s.hash).toEqual(HASH);
    expect(s.commit).toEqual(PROOF);
    expect(b.metrics.reqResp).toContainEqual({ protocol: "status", direction: "inbound", result: "ok" });
  });

  it("requestBlocks returns [from, from+count), shorter at the peer's head", async () => {
    const blocks = await a.net.requestBlocks(b.net.peerId, 5n, 10);
    expect(blocks.map(heightOf)).toEqual([5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n, 14n]);
    expect(blocks[0]).toEqual(fakeBlock(5n));
    const tail = await a.net.requestBlocks(b.net.peerId, 99n, 10);
    expect(tail.map(heightOf)).toEqual([99n, 100n]);
  });

  it("the server stops at its response byte cap; the client asks again from there", async () => {
    const big = await a.net.requestBlocks(b.net.peerId, 90n, 10); // 1 MiB each, cap 3 MiB
    expect(big.map(heightOf)).toEqual([90n, 91n, 92n]);
    const next = await a.net.requestBlocks(b.net.peerId, 93n, 2);
    expect(next.map(heightOf)).toEqual([93n, 94n]);
  });

  it("refuses requests outside the protocol bounds locally", async () => {
    await rejectsWith(a.net.requestBlocks(b.net.peerId, 0n, 0), NetworkErrorCode.INVALID_ARGUMENT);
    await rejectsWith(a.net.requestBlocks(b.net.peerId, 0n, 65), NetworkErrorCode.INVALID_ARGUMENT);
    await rejectsWith(a.net.requestBlocks("not-a-peer-id", 0n, 1), NetworkErrorCode.INVALID_PEER);
  });

  it("a failing handler is answered with SERVER_ERROR, and the server keeps serving", async () => {
    failBlocks = true;
    try {
      await rejectsWith(a.net.requestBlocks(b.net.peerId, 1n, 1), ReqRespErrorCode.SERVER_ERROR);
    } finally {
      failBlocks = false;
    }
    expect(await a.net.requestBlocks(b.net.peerId, 1n, 1)).toHaveLength(1);
  });

  it("a peer without handlers answers UNAVAILABLE", async () => {
    await rejectsWith(b.net.requestStatus(bare.net.peerId), ReqRespErrorCode.UNAVAILABLE);
    await rejectsWith(b.net.requestBlocks(bare.net.peerId, 0n, 1), ReqRespErrorCode.UNAVAILABLE);
  });

  it("garbage requests get INVALID_REQUEST, never a crash", async () => {
    const blocksProto = stringifyProtocol(CHAIN_ID, "blocks");
    const target = addrOf(b);
    const frame = (payload: Uint8Array) => {
      const out = new Uint8Array(1 + payload.length);
      out[0] = payload.length; // one-byte varint (payload < 128)
      out.set(payload, 1);
      return out;
    };
    // A well-framed non-RLP payload, an RLP list with the wrong arity, a huge length prefix, nothing.
    const cases: Uint8Array[][] = [
      [frame(bytes(0xff, 0x00, 0x13, 0x37))],
      [frame(bytes(0xc3, 0x01, 0x02, 0x03))],
      [bytes(0xff, 0xff, 0xff, 0xff, 0x0f)],
      [],
    ];
    for (const [i, write] of cases.entries()) {
      const chunk = await rawExchange(hostile, target, blocksProto, write);
      expect(chunk.code, `case ${i}`).toBe(ResponseCode.INVALID_REQUEST);
    }
    const direct = await rawExchange(hostile, target, stringifyProtocol(CHAIN_ID, "direct"), [
      frame(bytes(0xc2, 0x81, 0x7a)),
    ]);
    expect(direct.code).toBe(ResponseCode.INVALID_REQUEST);
    expect(b.metrics.reqResp.filter((r) => r.result === "INVALID_REQUEST").length).toBeGreaterThanOrEqual(5);
    expect((await a.net.requestStatus(b.net.peerId)).height).toBe(HEAD);
  });

  it("a hostile responder's garbage, flood or silence ends in INVALID_RESPONSE or TIMEOUT", async () => {
    const answer = (proto: "status" | "blocks", chunks: Uint8Array[] | null) =>
      hostile.handle(
        stringifyProtocol(CHAIN_ID, proto),
        async (stream) => {
          const lp = lpStream(stream);
          await lp.read();
          if (chunks === null) return; // never answer
          for (const c of chunks) await lp.write(c);
          await stream.close();
        },
        { force: true },
      );
    await hostile.dial(multiaddr(addrOf(a)));
    const peer = hostile.peerId.toString();
    await waitFor(() => a.net.peers().some((p) => p.id === peer), "hostile connected to A");

    await answer("status", [bytes(0x99, 1, 2)]); // unknown code
    await rejectsWith(a.net.requestStatus(peer), ReqRespErrorCode.INVALID_RESPONSE);
    await answer("status", [encodeChunk(ResponseCode.DATA, bytes(1, 2, 3)), encodeChunk(ResponseCode.END)]);
    await rejectsWith(a.net.requestStatus(peer), ReqRespErrorCode.INVALID_RESPONSE); // not a status
    await answer(
      "blocks",
      [0, 1, 2].map(() => encodeChunk(ResponseCode.DATA, bytes(1))),
    );
    await rejectsWith(a.net.requestBlocks(peer, 0n, 2), ReqRespErrorCode.INVALID_RESPONSE); // 3 chunks for 2
    await answer("status", null);
    await rejectsWith(a.net.requestStatus(peer), ReqRespErrorCode.TIMEOUT);
    expect(
      a.metrics.reqResp.filter((r) => r.direction === "outbound" && r.result === ReqRespErrorCode.TIMEOUT),
    ).toHaveLength(1);
  });

  it("sendDirect delivers to the peer's topic handler and reports its verdict", async () => {
    await a.net.sendDirect(b.net.peerId, "vote", bytes(1, 2, 3));
    expect(direct).toContainEqual({ data: bytes(1, 2, 3), from: a.net.peerId });
    await rejectsWith(a.net.sendDirect(b.net.peerId, "vote", bytes(0xee)), ReqRespErrorCode.REJECTED);
    await rejectsWith(a.net.sendDirect(b.net.peerId, "vote", bytes(0xef)), ReqRespErrorCode.IGNORED);
    await rejectsWith(a.net.sendDirect(b.net.peerId, "vote", new Uint8Array(5000)), NetworkErrorCode.MESSAGE_TOO_LARGE);
    expect(b.metrics.count("vote", GossipAction.REJECT, "VOTE_BAD")).toBe(1);
    // A topic the peer has no handler for is ignored there.
    await rejectsWith(a.net.sendDirect(b.net.peerId, "tx", bytes(1)), ReqRespErrorCode.IGNORED);
  });
});

describe("a full-size block response", () => {
  it("moves 8 × 4 MiB (the 32 MiB cap) in one request", async () => {
    // Generous deadlines: this is about sizes, and CI may share the CPU.
    const server = await startNode(24, { requestTimeoutMs: 30_000 });
    const client = await startNode(25, { bootstrap: [addrOf(server)], requestTimeoutMs: 30_000 });
    try {
      const size = 4 * 1024 * 1024;
      server.net.handleBlockRequests(async (from, count) =>
        Array.from({ length: count }, (_, i) => fakeBlock(from + BigInt(i), size)),
      );
      await waitFor(() => client.net.peers().length === 1, "connected");
      const blocks = await client.net.requestBlocks(server.net.peerId, 1000n, 8);
      expect(blocks.map(heightOf)).toEqual([1000n, 1001n, 1002n, 1003n, 1004n, 1005n, 1006n, 1007n]);
      expect(blocks.every((b) => b.length === size)).toBe(true);
    } finally {
      await Promise.all([client.net.stop(), server.net.stop()]);
    }
  });
});
