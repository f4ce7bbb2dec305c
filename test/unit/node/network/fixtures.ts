import { identify } from "@libp2p/identify";
import type { Libp2p } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { createLibp2p } from "libp2p";
import { expect } from "vitest";
import {
  type GossipAction,
  type GossipTopic,
  NetworkError,
  type NetworkMetrics,
  P2PNetwork,
  type P2POptions,
  ReqRespError,
  type ReqRespProtocol,
} from "../../../../node/network/index.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";

export const CHAIN_ID = 4242n;

/** Records every metrics call so tests can await outcomes instead of sleeping. */
export class RecordingMetrics implements NetworkMetrics {
  readonly outcomes: { topic: GossipTopic; action: GossipAction; code: string | null }[] = [];
  readonly drops: GossipTopic[] = [];
  readonly reqResp: { protocol: ReqRespProtocol; direction: string; result: string }[] = [];
  peers = 0;
  bans = 0;

  onGossipOutcome(topic: GossipTopic, action: GossipAction, code: string | null): void {
    this.outcomes.push({ topic, action, code });
  }
  onGossipQueueDrop(topic: GossipTopic): void {
    this.drops.push(topic);
  }
  setGossipQueueLength(): void {}
  setPeers(count: number): void {
    this.peers = count;
  }
  onPeerBanned(): void {
    this.bans++;
  }
  onReqResp(protocol: ReqRespProtocol, direction: "inbound" | "outbound", result: string): void {
    this.reqResp.push({ protocol, direction, result });
  }
  count(topic: GossipTopic, action: GossipAction, code?: string): number {
    return this.outcomes.filter(
      (o) => o.topic === topic && o.action === action && (code === undefined || o.code === code),
    ).length;
  }
}

export function seed(n: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = n;
  s[31] = 0xaa;
  return s;
}

export type TestNode = { net: P2PNetwork; metrics: RecordingMetrics };

/** A node on 127.0.0.1, port 0 unless given, with a fast gossipsub heartbeat. */
export async function startNode(n: number, overrides: Partial<P2POptions> = {}): Promise<TestNode> {
  const metrics = new RecordingMetrics();
  const net = await P2PNetwork.create(
    {
      chainId: CHAIN_ID,
      listen: ["/ip4/127.0.0.1/tcp/0"],
      nodeKeySeed: seed(n),
      bootstrap: [],
      heartbeatIntervalMs: 100,
      requestTimeoutMs: 6_000,
      redialMinMs: 50,
      redialMaxMs: 500,
      ...overrides,
    },
    { log: nullLogger, metrics },
  );
  return { net, metrics };
}

export function addrOf(node: TestNode): string {
  const addr = node.net.multiaddrs().find((a) => a.startsWith("/ip4/127.0.0.1/tcp/"));
  if (addr === undefined) throw new Error("node has no loopback address");
  return addr;
}

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. For state that settles asynchronously. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A promise plus its resolver, for handlers that tests release on cue. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** A stand-in for an encoded block-with-commit: 8 bytes of height plus filler. */
export function fakeBlock(height: bigint, size = 64): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setBigUint64(0, height);
  return b;
}

export function heightOf(block: Uint8Array): bigint {
  return new DataView(block.buffer, block.byteOffset, block.byteLength).getBigUint64(0);
}

export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy(
    (e) => (e instanceof ReqRespError || e instanceof NetworkError) && e.code === code,
    `error ${code}`,
  );
}

/** A bare libp2p host that speaks the transport stack but none of the node's rules: our hostile peer. */
export async function rawHost(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
}
