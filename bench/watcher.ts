// Inclusion tracking without a receipt poll per tx: for each new block, read its tx hashes
// (eth_getBlockByNumber(n, false)). A tx counts as included at the moment its block's number was first seen. New
// blocks are learnt from an `eth_subscribe newHeads` WebSocket (the default: what a client of a node does, and the
// node is not woken 200 times a second by the bench itself), or by polling eth_blockNumber every few ms
// (`--watch poll`, the bench's method before 2026-12-06: each poll wakes the node, ~240 µs of its CPU per poll
// measured on a dev node, charged to the phase's transactions).
import { performance } from "node:perf_hooks";
import { type NewHeadsSubscription, openNewHeads, wsUrlOf } from "./newHeads.js";
import { hexToBigInt, type RpcClient, sleep, toHex } from "./rpc.js";

const POLL_MS = 5;

export type HeadSource = "subscribe" | "poll";

export interface BlockSeen {
  number: number;
  txs: number;
  gasUsed: number;
  /** performance.now() when its number was first seen (newHeads notification, or eth_blockNumber answer). */
  seenAt: number;
}

export class StallError extends Error {}

export class BlockWatcher {
  /** tx hash (lowercase) -> performance.now() at inclusion observation. */
  readonly included = new Map<string, number>();
  readonly blocks: BlockSeen[] = [];
  pollErrors = 0;
  lastPollError = "";
  private last: number;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private listeners = new Set<() => void>();
  private sub: NewHeadsSubscription | null = null;
  /** Subscribe mode: the highest head announced, when first seen, and the fetch that is catching up to it. */
  private announced = { number: 0, at: 0 };
  private fetching: Promise<void> | null = null;

  constructor(
    private readonly rpc: RpcClient,
    startBlock: number,
    readonly source: HeadSource = "poll",
  ) {
    this.last = startBlock;
  }

  /** A watcher from the node's current head; in subscribe mode the subscription is open when this resolves. */
  static async create(rpc: RpcClient, source: HeadSource = "subscribe"): Promise<BlockWatcher> {
    const w = new BlockWatcher(rpc, 0, source);
    if (source === "subscribe") {
      w.sub = await openNewHeads(wsUrlOf(rpc.url), (h) => w.onNotice(h.number, h.at), { label: "block watcher" });
    }
    // Read after subscribing, so that no block falls between the head read and the first notification.
    w.last = Number(hexToBigInt(await rpc.call("eth_blockNumber")));
    // A notification that arrived while the head was read may name a later block: keep it.
    if (w.announced.number < w.last) w.announced = { number: w.last, at: performance.now() };
    return w;
  }

  start(): void {
    this.running = true;
    if (this.source === "poll") this.loopDone = this.pollLoop();
    else this.catchUp();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sub?.close();
    await this.loopDone;
    await this.fetching;
  }

  private onNotice(number: number, at: number): void {
    if (number <= this.announced.number) return;
    this.announced = { number, at };
    if (this.running) this.catchUp();
  }

  /** Subscribe mode: one fetch at a time, each up to the highest head announced when it starts. */
  private catchUp(): void {
    if (this.fetching !== null || this.announced.number <= this.last) return;
    const { number, at } = this.announced;
    this.fetching = this.readBlocks(number, at)
      .catch((e: unknown) => {
        this.pollErrors++;
        this.lastPollError = (e as Error).message;
      })
      .finally(() => {
        this.fetching = null;
        if (this.running) this.catchUp();
      });
  }

  private async pollLoop(): Promise<void> {
    while (this.running) {
      try {
        const head = Number(hexToBigInt(await this.rpc.call("eth_blockNumber")));
        await this.readBlocks(head, performance.now());
      } catch (e) {
        this.pollErrors++;
        this.lastPollError = (e as Error).message;
      }
      await sleep(POLL_MS);
    }
  }

  /** Reads blocks last+1..head, each seen at `seenAt`, and tells the waiters. */
  private async readBlocks(head: number, seenAt: number): Promise<void> {
    if (head <= this.last) return;
    const calls: Array<[string, unknown[]]> = [];
    for (let n = this.last + 1; n <= head; n++) calls.push(["eth_getBlockByNumber", [toHex(n), false]]);
    const res = await this.rpc.batchAll(calls, 50, 1);
    for (let i = 0; i < res.length; i++) {
      const r = res[i];
      const blk = r.result as { transactions?: string[]; gasUsed?: string } | null | undefined;
      if (r.error !== undefined || blk === null || blk === undefined || !Array.isArray(blk.transactions))
        throw new Error(`eth_getBlockByNumber(${this.last + 1 + i}) failed: ${JSON.stringify(r.error ?? blk)}`);
      for (const h of blk.transactions) {
        const key = h.toLowerCase();
        if (!this.included.has(key)) this.included.set(key, seenAt);
      }
      this.blocks.push({
        number: this.last + 1 + i,
        txs: blk.transactions.length,
        gasUsed: Number(hexToBigInt(blk.gasUsed ?? "0x0")),
        seenAt,
      });
    }
    this.last = head;
    for (const l of this.listeners) l();
  }

  /**
   * Resolves once every hash in `hashes` was seen in a block. Rejects with StallError when none of the missing ones
   * got included for `stallMs`, or when `totalMs` passed. `isAlive` lets it fail fast when the target died.
   */
  waitFor(hashes: Iterable<string>, stallMs: number, totalMs: number, isAlive: () => boolean): Promise<void> {
    const missing = new Set<string>();
    for (const h of hashes) if (!this.included.has(h.toLowerCase())) missing.add(h.toLowerCase());
    if (missing.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let progressAt = started;
      const update = () => {
        for (const h of missing) {
          if (this.included.has(h)) {
            missing.delete(h);
            progressAt = performance.now();
          }
        }
        if (missing.size === 0) finish(null);
      };
      const timer = setInterval(() => {
        const now = performance.now();
        const why = !isAlive()
          ? "the node process exited"
          : now - progressAt > stallMs
            ? `no progress for ${(stallMs / 1000).toFixed(0)} s (head block ${this.last})`
            : now - started > totalMs
              ? `not done after ${(totalMs / 1000).toFixed(0)} s`
              : null;
        if (why !== null) {
          const errs =
            (this.pollErrors > 0 ? `; ${this.pollErrors} poll errors, last: ${this.lastPollError}` : "") +
            (this.sub?.closed === true ? `; newHeads WebSocket ${this.sub.closeReason}` : "");
          finish(new StallError(`${missing.size} tx(s) never included: ${why}${errs}`));
        }
      }, 100);
      const finish = (err: Error | null) => {
        clearInterval(timer);
        this.listeners.delete(update);
        if (err === null) resolve();
        else reject(err);
      };
      this.listeners.add(update);
      update();
    });
  }
}
