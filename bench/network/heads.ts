// Block arrival per node: one `eth_subscribe newHeads` WebSocket per node. A block's arrival on a node is the moment
// (performance.now() in this process) its newHeads notification was received: what a client subscribed to that
// node sees. Block bodies (tx hashes) are fetched once per block, from the first node that announced it.
import { type NewHeadsSubscription, openNewHeads } from "../newHeads.js";
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
  private readonly listeners = new Set<(h: Head) => void>();
  private sub: NewHeadsSubscription | null = null;

  private constructor(readonly node: NetNode) {}

  static async open(node: NetNode, timeoutMs = 10_000): Promise<HeadWatcher> {
    const w = new HeadWatcher(node);
    w.sub = await openNewHeads(
      node.wsUrl,
      (n) => {
        const head: Head = { node: node.index, number: n.number, hash: n.hash, proposer: n.proposer, at: n.at };
        if (!w.byNumber.has(head.number)) w.byNumber.set(head.number, head);
        for (const l of w.listeners) l(head);
      },
      { label: node.name, timeoutMs },
    );
    return w;
  }

  get closed(): boolean {
    return this.sub?.closed ?? false;
  }

  get closeReason(): string {
    return this.sub?.closeReason ?? "";
  }

  onHead(l: (h: Head) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  close(): void {
    this.listeners.clear();
    this.sub?.close();
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
