import type { Libp2p, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReqRespErrorCode, stringifyBlocksSessionProtocol, stringifyProtocol } from "../../../../node/network/index.js";
import {
  decodeBlocksRequest,
  decodeChunk,
  encodeBlocksRequest,
  encodeChunk,
  ResponseCode,
} from "../../../../node/network/reqresp/codec.js";
import {
  addrOf,
  CHAIN_ID,
  fakeBlock,
  heightOf,
  rawHost,
  rejectsWith,
  startNode,
  type TestNode,
  waitFor,
} from "./fixtures.js";

/** blocks/2: one long-lived stream per peer carrying many blocks requests (node/network/reqresp/blocksSession.ts). */
const SESSION = stringifyBlocksSessionProtocol(CHAIN_ID);
const HEAD = 100n;

function range(from: bigint, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => from + BigInt(i));
}

/** Answers blocks requests on `stream` in order until it ends; `misbehave` may take over one request. */
async function serveRaw(stream: Stream, misbehave?: (lp: ReturnType<typeof lpStream>) => Promise<boolean>) {
  const lp = lpStream(stream);
  try {
    for (;;) {
      const { from, count } = decodeBlocksRequest((await lp.read()).subarray());
      if (misbehave !== undefined && (await misbehave(lp))) return;
      const chunks = range(from, count).map((h) => encodeChunk(ResponseCode.DATA, fakeBlock(h)));
      await lp.writeV([...chunks, encodeChunk(ResponseCode.END)]);
    }
  } catch {
    // the requester went away
  }
}

describe("blocks/2 sessions", () => {
  let a: TestNode;
  let b: TestNode;
  const hosts: Libp2p[] = [];

  beforeAll(async () => {
    b = await startNode(31);
    a = await startNode(32, { bootstrap: [addrOf(b)] });
    b.net.handleBlockRequests(async (from, count) =>
      range(from, count)
        .filter((h) => h <= HEAD)
        .map((h) => fakeBlock(h)),
    );
    await waitFor(() => a.net.peers().length === 1, "A connected to B");
  });

  afterAll(async () => {
    await Promise.all([a?.net.stop(), b?.net.stop(), ...hosts.map((h) => h.stop())]);
  });

  /** A raw host connected to A, serving blocks/2 with `handler` per stream; returns its peer id. */
  async function rawServer(handler: (stream: Stream, index: number) => Promise<void>): Promise<string> {
    const host = await rawHost();
    hosts.push(host);
    let streams = 0;
    await host.handle(SESSION, (stream) => handler(stream, streams++));
    await host.dial(multiaddr(addrOf(a)));
    const peer = host.peerId.toString();
    await waitFor(() => a.net.peers().some((p) => p.id === peer), "raw host connected to A");
    return peer;
  }

  it("pipelined requests share one stream and each gets its own blocks, in order", async () => {
    const opened: number[] = [];
    const peer = await rawServer(async (stream, i) => {
      opened.push(i);
      await serveRaw(stream);
    });
    const asks: [bigint, number][] = [
      [1n, 3],
      [10n, 1],
      [20n, 5],
      [40n, 2],
      [60n, 4],
    ];
    const got = await Promise.all(asks.map(([from, count]) => a.net.requestBlocks(peer, from, count)));
    expect(got.map((blocks) => blocks.map(heightOf))).toEqual(asks.map(([from, count]) => range(from, count)));
    expect(await a.net.requestBlocks(peer, 90n, 2)).toHaveLength(2);
    expect(opened).toEqual([0]);
  });

  it("a peer without blocks/2 is asked over blocks/1, one stream per request", async () => {
    const host = await rawHost();
    hosts.push(host);
    let v1Streams = 0;
    await host.handle(stringifyProtocol(CHAIN_ID, "blocks"), async (stream) => {
      v1Streams++;
      await serveRaw(stream);
    });
    await host.dial(multiaddr(addrOf(a)));
    const peer = host.peerId.toString();
    await waitFor(() => a.net.peers().some((p) => p.id === peer), "v1 host connected to A");
    expect((await a.net.requestBlocks(peer, 1n, 2)).map(heightOf)).toEqual([1n, 2n]);
    expect((await a.net.requestBlocks(peer, 8n, 1)).map(heightOf)).toEqual([8n]);
    expect(v1Streams).toBe(2);
  });

  it("the node's server answers pipelined frames on one stream in order", async () => {
    const host = await rawHost();
    hosts.push(host);
    const stream = await host.dialProtocol(multiaddr(addrOf(b)), SESSION);
    const lp = lpStream(stream);
    const asks: [bigint, number][] = [
      [5n, 2],
      [99n, 10], // shorter: B's head is 100
      [7n, 1],
    ];
    for (const [from, count] of asks) stream.send(lpFrame(encodeBlocksRequest(from, count)));
    for (const [from, count] of asks) {
      const heights: bigint[] = [];
      for (;;) {
        const chunk = decodeChunk((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray());
        if (chunk.code === ResponseCode.END) break;
        expect(chunk.code).toBe(ResponseCode.DATA);
        heights.push(heightOf(chunk.payload));
      }
      expect(heights).toEqual(range(from, count).filter((h) => h <= HEAD));
    }
    await stream.close();
  });

  it("a stream reset mid-response fails that request; the one queued behind it is retried on a new stream", async () => {
    const opened: number[] = [];
    const peer = await rawServer(async (stream, i) => {
      opened.push(i);
      // The first stream sends one chunk of the first response, then resets.
      await serveRaw(stream, async (lp) => {
        if (i !== 0) return false;
        await lp.write(encodeChunk(ResponseCode.DATA, fakeBlock(1n)));
        stream.abort(new Error("reset mid-response"));
        return true;
      });
    });
    const [first, second] = await Promise.allSettled([
      a.net.requestBlocks(peer, 1n, 2),
      a.net.requestBlocks(peer, 30n, 2),
    ]);
    expect(first.status).toBe("rejected");
    expect((first as PromiseRejectedResult).reason.code).toBe(ReqRespErrorCode.STREAM_ERROR);
    expect(second.status).toBe("fulfilled");
    expect((second as PromiseFulfilledResult<Uint8Array[]>).value.map(heightOf)).toEqual([30n, 31n]);
    expect((await a.net.requestBlocks(peer, 50n, 1)).map(heightOf)).toEqual([50n]);
    expect(opened).toEqual([0, 1]);
  });

  it("a response frame above the block cap is INVALID_RESPONSE, and the next request gets a fresh stream", async () => {
    const opened: number[] = [];
    const peer = await rawServer(async (stream, i) => {
      opened.push(i);
      await serveRaw(stream, async (lp) => {
        if (i !== 0) return false;
        // A length prefix of 64 MiB: above maxBlockBytes, refused before any of it is buffered.
        stream.send(lpFrame(new Uint8Array(0), 64 * 1024 * 1024));
        await lp.read().catch(() => undefined);
        return true;
      });
    });
    await rejectsWith(a.net.requestBlocks(peer, 1n, 1), ReqRespErrorCode.INVALID_RESPONSE);
    expect((await a.net.requestBlocks(peer, 2n, 1)).map(heightOf)).toEqual([2n]);
    expect(opened).toEqual([0, 1]);
  });

  it("the server refuses an oversized request frame and a flood of unread requests, and keeps serving", async () => {
    const host = await rawHost();
    hosts.push(host);
    // A request frame above the small-request cap: the stream is reset, nothing answered.
    const big = await host.dialProtocol(multiaddr(addrOf(b)), SESSION);
    const bigLp = lpStream(big);
    big.send(lpFrame(new Uint8Array(4096)));
    await expect(bigLp.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow(/reset/);

    // 2,000 pipelined requests written at once and never read: B stops buffering them and aborts the stream
    // instead of answering all of them.
    const flood = await host.dialProtocol(multiaddr(addrOf(b)), SESSION);
    const frame = lpFrame(encodeBlocksRequest(1n, 1));
    const all = new Uint8Array(frame.length * 2000);
    for (let i = 0; i < 2000; i++) all.set(frame, i * frame.length);
    flood.send(all);
    const lp = lpStream(flood, { maxBufferSize: 64 * 1024 * 1024 });
    let answered = 0;
    try {
      for (;;) {
        const chunk = decodeChunk((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray());
        if (chunk.code === ResponseCode.END) answered++;
        if (answered === 2000) break;
      }
    } catch {
      // B aborted the stream
    }
    expect(answered).toBeLessThan(2000);
    expect(b.metrics.reqResp.filter((r) => r.direction === "inbound" && r.result === "INVALID_REQUEST").length).toBe(2);
    expect((await a.net.requestBlocks(b.net.peerId, 3n, 2)).map(heightOf)).toEqual([3n, 4n]);
  });
});

/** A length-prefixed frame; `claimed` overrides the length written (a lying prefix). */
function lpFrame(payload: Uint8Array, claimed = payload.length): Uint8Array {
  const prefix: number[] = [];
  let n = claimed;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  prefix.push(n);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}
