/**
 * Follows the chain's finalized blocks and stores them: new heads over WebSocket (`eth_subscribe newHeads`, with
 * HTTP polling as fallback), catch-up by ranges over HTTP, bounded batches of consecutive blocks each written in one
 * transaction with the cursor. A restart reads the cursor and continues at the next block: no gap, no duplicate.
 *
 * No reorg handling, on purpose: Azora's Tendermint consensus commits a block only with +2/3 precommits, and a
 * committed block is final — `latest`, `safe` and `finalized` name the same block (DESIGN.md). The node announces a
 * head only after the commit, so every block the indexer reads is already final and can never be replaced. (Two
 * conflicting commits at one height would need a third of the stake to equivocate; the chain halts on that rather
 * than forking, and an explorer keeping what it has indexed is then the right thing.) The indexer still checks each
 * batch's parent hash against the stored block, and stops loudly if the chain it follows ever disagrees.
 */
import type { Logger } from "../../runtime/lib/logger.js";
import { createHeadWatcher, type HeadWatcher } from "../runtime/chain/heads.js";
import type { RPCClient } from "../runtime/chain/rpcClient.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import type { BlockFetcher } from "./fetcher.js";
import type { ExplorerMetrics } from "./metrics.js";
import type { ExplorerStore } from "./store.js";

export interface IndexerOptions {
  store: ExplorerStore;
  fetcher: BlockFetcher;
  rpc: RPCClient;
  /** The node's WebSocket for newHeads; polling alone when absent. */
  wsUrl?: string;
  logger: Logger;
  metrics?: ExplorerMetrics;
  /** First block on an empty store. */
  fromBlock: number;
  /** Blocks per fetch-and-store transaction. */
  batchBlocks: number;
  /** Stop following after this block (a backfill of a fixed range: bench, tests); unbounded when absent. */
  untilBlock?: number;
  pollMs?: number;
  /** Progress line interval while catching up. */
  progressEveryMs?: number;
}

export class Indexer {
  private heads: HeadWatcher | null = null;
  private head = -1;
  private height = -1;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;
  /** The store is empty: the first batch carries the seed (genesis allocations, native tokens, collections). */
  private needsSeed = false;
  private failure: Error | null = null;
  /** The last batch failure since the last success (retried), for /health and tests. */
  private lastError: Error | null = null;
  private readonly waiters: { height: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly indexedListeners = new Set<(height: number) => void>();

  constructor(private readonly o: IndexerOptions) {}

  progress() {
    return {
      height: this.height,
      head: this.head,
      catchingUp: this.head - this.height > this.o.batchBlocks,
      lastError: this.failure ?? this.lastError,
    };
  }

  async start(): Promise<void> {
    const cursor = await this.o.store.cursor();
    this.height = cursor ?? this.o.fromBlock - 1;
    this.needsSeed = cursor === null;
    this.o.metrics?.indexedHeight.set(this.height);
    // A waitFor() made before start() may already be met by what is stored (no batch would settle it).
    this.settle();
    this.heads = createHeadWatcher(this.o.rpc, {
      wsUrl: this.o.wsUrl,
      pollMs: this.o.pollMs ?? 2_000,
      logger: this.o.logger,
    });
    this.heads.onHead((h) => {
      this.head = h.number;
      this.o.metrics?.chainHead.set(h.number);
      this.wake?.();
    });
    const first = await this.heads.start();
    this.head = Math.max(this.head, first.number);
    this.o.logger.info("explorer indexer started", { from: this.height + 1, head: this.head });
    this.loop = this.run();
  }

  /** Calls `cb` with the new height after each stored batch (the UI's live feed); returns the unsubscribe. */
  onIndexed(cb: (height: number) => void): () => void {
    this.indexedListeners.add(cb);
    return () => this.indexedListeners.delete(cb);
  }

  /** Resolves once every block up to `height` is stored (tests, bench). */
  waitFor(height: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.height >= height) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ height, resolve, reject }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.heads?.close();
    await this.loop;
  }

  private settle(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (this.failure !== null) w.reject(this.failure);
      else if (this.height >= w.height) w.resolve();
      else continue;
      this.waiters.splice(i, 1);
    }
  }

  private async run(): Promise<void> {
    const { store, fetcher, logger, metrics, batchBlocks } = this.o;
    const progressEveryMs = this.o.progressEveryMs ?? 5_000;
    let lastProgress = Date.now();
    let sinceProgress = 0;
    let backoffMs = 250;
    while (!this.stopped) {
      const target = Math.min(this.head, this.o.untilBlock ?? Number.POSITIVE_INFINITY);
      if (this.height >= target) {
        await this.sleep(null);
        continue;
      }
      const from = this.height + 1;
      const to = Math.min(target, from + batchBlocks - 1);
      try {
        const t0 = process.hrtime.bigint();
        // Read at the block before the first one indexed (genesis itself when starting at 0: it has no transfers).
        const seed = this.needsSeed ? await fetcher.seed(Math.max(0, this.o.fromBlock - 1)) : undefined;
        const blocks = await fetcher.fetch(from, to, (a) => store.knownTokens(a));
        const t1 = process.hrtime.bigint();
        await this.checkParent(blocks[0].block.parentHash, from);
        await store.saveBlocks(blocks, this.o.fromBlock, seed);
        if (seed !== undefined) {
          this.needsSeed = false;
          logger.info("explorer seeded", {
            atBlock: seed.block,
            tokens: seed.tokens.length,
            accounts: seed.balances.length,
            learnHolders: seed.holdings.length,
            genesisKnown: seed.genesisKnown,
          });
        }
        const t2 = process.hrtime.bigint();
        metrics?.batchSeconds.observe({ phase: "fetch" }, Number(t1 - t0) / 1e9);
        metrics?.batchSeconds.observe({ phase: "store" }, Number(t2 - t1) / 1e9);
        const txs = blocks.reduce((n, b) => n + b.txs.length, 0);
        metrics?.blocks.inc(blocks.length);
        metrics?.txs.inc(txs);
        this.height = to;
        metrics?.indexedHeight.set(to);
        metrics?.lagBlocks.set(Math.max(0, this.head - to));
        sinceProgress += blocks.length;
        backoffMs = 250;
        this.lastError = null;
        const now = Date.now();
        if (now - lastProgress >= progressEveryMs) {
          logger.info("explorer indexing", {
            height: to,
            head: this.head,
            behind: this.head - to,
            blocksPerSecond: Math.round((sinceProgress * 1000) / (now - lastProgress)),
          });
          lastProgress = now;
          sinceProgress = 0;
        }
        this.settle();
        for (const cb of this.indexedListeners) cb(to);
      } catch (e) {
        if (e instanceof ExplorerError && e.code !== ExplorerErrorCode.BAD_NODE_DATA) {
          // A second writer or a chain that disagrees with what is stored: retrying cannot help.
          logger.error("explorer indexer stopped", { from, to }, e);
          this.failure = e;
          this.settle();
          return;
        }
        metrics?.indexerErrors.inc();
        this.lastError = e as Error;
        logger.warn("explorer batch failed; retrying", { from, to, inMs: backoffMs }, e);
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  /** Until a new head, `stop()`, or `ms` (null: no timeout). */
  private async sleep(ms: number | null): Promise<void> {
    await new Promise<void>((r) => {
      this.wake = r;
      if (ms !== null) setTimeout(r, ms).unref?.();
    });
    this.wake = null;
  }

  private async checkParent(parentHash: string, number: number): Promise<void> {
    if (number === 0) return;
    const prev = await this.o.store.block({ number: number - 1 });
    if (prev !== null && prev.hash !== parentHash)
      throw new ExplorerError({ code: ExplorerErrorCode.NOT_CONTIGUOUS, block: number, expected: number - 1 });
  }
}
