/**
 * New-block notifications: `eth_subscribe("newHeads")` over the node's WebSocket, with a polling fallback
 * (`eth_getBlockByNumber("latest")` every `pollMs`) so a dropped socket delays the worker, never stalls it.
 * The socket reconnects with backoff. Consumers get each head at most once, in increasing order; heads
 * skipped while disconnected are not replayed one by one — the consumer catches up by block range.
 */
import WebSocket from "ws";
import type { Logger } from "../../../runtime/lib/logger.js";
import type { RPCClient } from "./rpcClient.js";

export interface Head {
  number: number;
  /** Block timestamp, unix seconds (the market's clock). */
  timestamp: number;
  hash: string;
}

export interface HeadWatcher {
  /** The newest head seen (undefined before the first). */
  readonly latest: Head | undefined;
  onHead(fn: (head: Head) => void): void;
  /** Resolves once the first head is known. */
  start(): Promise<Head>;
  close(): Promise<void>;
}

export interface HeadWatcherOptions {
  wsUrl?: string;
  pollMs: number;
  logger: Logger;
}

interface RawHead {
  number: string;
  timestamp: string;
  hash: string;
}

export function createHeadWatcher(rpc: RPCClient, opts: HeadWatcherOptions): HeadWatcher {
  const listeners: ((h: Head) => void)[] = [];
  let latest: Head | undefined;
  let closed = false;
  let ws: WebSocket | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let backoffMs = 250;

  function accept(raw: RawHead): void {
    const head = { number: Number(BigInt(raw.number)), timestamp: Number(BigInt(raw.timestamp)), hash: raw.hash };
    if (latest !== undefined && head.number <= latest.number) return;
    latest = head;
    for (const fn of listeners) {
      try {
        fn(head);
      } catch (e) {
        opts.logger.error("head listener failed", { block: head.number }, e);
      }
    }
  }

  async function poll(): Promise<void> {
    try {
      const raw = await rpc.call<RawHead | null>("eth_getBlockByNumber", ["latest", false]);
      if (raw !== null) accept(raw);
    } catch (e) {
      opts.logger.debug("head poll failed", { err: (e as Error).message });
    }
  }

  function schedulePoll(): void {
    if (closed) return;
    pollTimer = setTimeout(async () => {
      await poll();
      schedulePoll();
    }, opts.pollMs);
    pollTimer.unref?.();
  }

  function connect(): void {
    if (closed || opts.wsUrl === undefined) return;
    const sock = new WebSocket(opts.wsUrl);
    ws = sock;
    sock.on("open", () => {
      backoffMs = 250;
      sock.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    });
    sock.on("message", (data) => {
      try {
        const msg = JSON.parse(data.toString()) as { method?: string; params?: { result?: RawHead } };
        if (msg.method === "eth_subscription" && msg.params?.result !== undefined) accept(msg.params.result);
      } catch {
        // not ours / malformed: ignore
      }
    });
    sock.on("error", (e) => opts.logger.debug("head socket error", { err: e.message }));
    sock.on("close", () => {
      if (closed) return;
      opts.logger.debug("head socket closed; reconnecting", { inMs: backoffMs });
      reconnectTimer = setTimeout(connect, backoffMs);
      reconnectTimer.unref?.();
      backoffMs = Math.min(backoffMs * 2, 10_000);
    });
  }

  return {
    get latest() {
      return latest;
    },
    onHead(fn) {
      listeners.push(fn);
    },
    async start() {
      connect();
      while (latest === undefined && !closed) {
        await poll();
        if (latest === undefined) await new Promise((r) => setTimeout(r, Math.min(opts.pollMs, 500)));
      }
      schedulePoll();
      return latest as Head;
    },
    async close() {
      closed = true;
      clearTimeout(pollTimer);
      clearTimeout(reconnectTimer);
      if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((res) => {
          ws?.once("close", () => res());
          ws?.terminate();
        });
      }
    },
  };
}
