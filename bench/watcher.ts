// Inclusion tracking without a receipt poll per tx: poll eth_blockNumber every few ms and, for each new block,
// read its tx hashes (eth_getBlockByNumber(n, false)). A tx counts as included at the moment its block number
// was first seen, which is what a client polling the node would observe.
import { performance } from "node:perf_hooks";
import { hexToBigInt, type RpcClient, sleep, toHex } from "./rpc.js";

const POLL_MS = 5;

export interface BlockSeen {
  number: number;
  txs: number;
  gasUsed: number;
  /** performance.now() when its number was first returned by eth_blockNumber. */
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

  constructor(
    private readonly rpc: RpcClient,
    startBlock: number,
  ) {
    this.last = startBlock;
  }

  static async create(rpc: RpcClient): Promise<BlockWatcher> {
    return new BlockWatcher(rpc, Number(hexToBigInt(await rpc.call("eth_blockNumber"))));
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const head = Number(hexToBigInt(await this.rpc.call("eth_blockNumber")));
        const seenAt = performance.now();
        if (head > this.last) {
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
      } catch (e) {
        this.pollErrors++;
        this.lastPollError = (e as Error).message;
      }
      await sleep(POLL_MS);
    }
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
          const errs = this.pollErrors > 0 ? `; ${this.pollErrors} poll errors, last: ${this.lastPollError}` : "";
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
