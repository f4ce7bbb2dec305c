// Block arrival per node: one `eth_subscribe newHeads` WebSocket per node. A block's arrival on a node is the moment
// (performance.now() in this process) its newHeads notification was received: what a client subscribed to that
// node sees. Block bodies (tx hashes) are fetched once per block, from the first node that announced it.
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import type { NetNode } from "./localnet.js";

export interface Head {
  node: number;
  number: number;
  hash: string;
  /** Validator address of the proposer of the decided round (header field `proposer`). */
  proposer: string;
  at: number;
}

export class HeadWatcher {
  /** First arrival per block number on this node. */
  readonly byNumber = new Map<number, Head>();
  closed = false;
  closeReason = "";
  private readonly listeners = new Set<(h: Head) => void>();

  private constructor(
    readonly node: NetNode,
    private readonly ws: WebSocket,
  ) {}

  static open(node: NetNode, timeoutMs = 10_000): Promise<HeadWatcher> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(node.wsUrl, { perMessageDeflate: false });
      const w = new HeadWatcher(node, ws);
      let subscribed = false;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${node.name}: no newHeads subscription within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on("open", () => {
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
      });
      ws.on("message", (data: Buffer) => {
        const at = performance.now();
        let msg: {
          id?: number;
          result?: unknown;
          error?: { message: string };
          method?: string;
          params?: { result?: { number: string; hash: string; proposer: string } };
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
            reject(new Error(`${node.name}: eth_subscribe newHeads: ${msg.error.message}`));
            return;
          }
          subscribed = true;
          resolve(w);
          return;
        }
        const r = msg.params?.result;
        if (msg.method !== "eth_subscription" || r === undefined) return;
        const head: Head = {
          node: node.index,
          number: Number(BigInt(r.number)),
          hash: r.hash.toLowerCase(),
          proposer: (r.proposer ?? "").toLowerCase(),
          at,
        };
        if (!w.byNumber.has(head.number)) w.byNumber.set(head.number, head);
        for (const l of w.listeners) l(head);
      });
      ws.on("error", (e) => {
        w.closeReason = e.message;
        if (!subscribed) {
          clearTimeout(timer);
          reject(new Error(`${node.name}: WebSocket ${node.wsUrl}: ${e.message}`));
        }
      });
      ws.on("close", (code) => {
        w.closed = true;
        if (w.closeReason === "") w.closeReason = `closed (${code})`;
      });
    });
  }

  onHead(l: (h: Head) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  close(): void {
    this.listeners.clear();
    if (!this.closed) this.ws.terminate();
  }
}

/** Every node's watcher plus a cache of block bodies (tx hashes by block hash). */
export class NetObserver {
  private readonly bodies = new Map<string, Promise<string[]>>();
  bodyErrors = 0;
  lastBodyError = "";

  private constructor(readonly watchers: HeadWatcher[]) {}

  static async open(nodes: NetNode[]): Promise<NetObserver> {
    const ws = await Promise.all(nodes.map((n) => HeadWatcher.open(n)));
    return new NetObserver(ws);
  }

  /** Calls `l` for every head on every node. */
  onHead(l: (h: Head) => void): () => void {
    const offs = this.watchers.map((w) => w.onHead(l));
    return () => {
      for (const off of offs) off();
    };
  }

  /** Tx hashes (lowercase) of block `hash`, read once from `node` (which announced it). */
  blockTxs(hash: string, node: NetNode): Promise<string[]> {
    let p = this.bodies.get(hash);
    if (p === undefined) {
      p = node.rpc
        .call<{ transactions: string[] } | null>("eth_getBlockByHash", [hash, false])
        .then((b) => {
          if (b === null) throw new Error(`${node.name}: block ${hash} not found right after its newHeads`);
          return b.transactions.map((t) => t.toLowerCase());
        })
        .catch((e: unknown) => {
          this.bodyErrors++;
          this.lastBodyError = (e as Error).message;
          this.bodies.delete(hash);
          throw e;
        });
      this.bodies.set(hash, p);
    }
    return p;
  }

  close(): void {
    for (const w of this.watchers) w.close();
  }
}
