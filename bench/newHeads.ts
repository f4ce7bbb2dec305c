// One `eth_subscribe newHeads` WebSocket: what a client subscribed to a node sees, and when. Shared by the dev-node
// bench's block watcher and the localnet bench's per-node head watchers.
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";

export interface HeadNotice {
  number: number;
  hash: string;
  /** Header field `proposer` (Azora's BFT header; empty elsewhere). */
  proposer: string;
  /** performance.now() in this process when the notification arrived. */
  at: number;
}

export interface NewHeadsSubscription {
  readonly closed: boolean;
  readonly closeReason: string;
  close(): void;
}

/** The http(s) JSON-RPC URL's WebSocket twin on the same port (Azora and Anvil serve both there). */
export function wsUrlOf(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

/**
 * Subscribes to newHeads at `wsUrl` and calls `onHead` for each notification. Resolves once the node confirmed the
 * subscription; rejects when it refuses, errors or does not answer within `timeoutMs`.
 */
export function openNewHeads(
  wsUrl: string,
  onHead: (h: HeadNotice) => void,
  opts: { label?: string; timeoutMs?: number } = {},
): Promise<NewHeadsSubscription> {
  const label = opts.label ?? wsUrl;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const sub = {
      closed: false,
      closeReason: "",
      close(): void {
        if (!sub.closed) ws.terminate();
      },
    };
    let subscribed = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${label}: no newHeads subscription within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("open", () => {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    });
    ws.on("message", (data: Buffer) => {
      const at = performance.now();
      let msg: {
        id?: number;
        error?: { message: string };
        method?: string;
        params?: { result?: { number: string; hash: string; proposer?: string } };
      };
      try {
        msg = JSON.parse(data.toString("utf8"));
      } catch {
        return;
      }
      if (!subscribed && msg.id === 1) {
        clearTimeout(timer);
        if (msg.error !== undefined) {
          ws.terminate();
          reject(new Error(`${label}: eth_subscribe newHeads: ${msg.error.message}`));
          return;
        }
        subscribed = true;
        resolve(sub);
        return;
      }
      const r = msg.params?.result;
      if (msg.method !== "eth_subscription" || r === undefined) return;
      onHead({
        number: Number(BigInt(r.number)),
        hash: r.hash.toLowerCase(),
        proposer: (r.proposer ?? "").toLowerCase(),
        at,
      });
    });
    ws.on("error", (e) => {
      sub.closeReason = e.message;
      if (!subscribed) {
        clearTimeout(timer);
        reject(new Error(`${label}: WebSocket ${wsUrl}: ${e.message}`));
      }
    });
    ws.on("close", (code) => {
      sub.closed = true;
      if (sub.closeReason === "") sub.closeReason = `closed (${code})`;
    });
  });
}
