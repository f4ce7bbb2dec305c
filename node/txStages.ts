import { performance } from "node:perf_hooks";

/**
 * Where a node's CPU per transaction goes, stage by stage, admission to commit. Each stage adds the
 * process CPU time (`process.cpuUsage`, user + system) used during its own sections — CPU time, not
 * wall time, so a busy machine that deschedules the node does not inflate a stage. For the async
 * sections (admission, execution, seal, persist) it includes any other work that ran while they
 * awaited (little: state reads mostly hit caches). What no stage names (HTTP and JSON, the other RPC
 * methods, GC, libuv) is the process's CPU time minus their sum, which the bench derives from `/proc`.
 */
export const TX_STAGES = [
  /** RLP decoding, field checks and the transaction hash. */
  "decode",
  /** Sender recovery (secp256k1). */
  "recover",
  /** Mempool admission: nonce and balance from the head state, pool insertion. */
  "admission",
  /** Transactions run on the block's state (value-transfer fast path or the VM). */
  "execution",
  /** End-block hooks, the state trie hashed into the state root, the tx and receipt roots and the bloom. */
  "seal",
  /** The sealed state made the head, the block, receipts and trie nodes written in one LevelDB batch. */
  "persist",
  /** The rest of making a block: selection, header, signature, the mempool's update, listeners. */
  "block_other",
] as const;

export type TxStage = (typeof TX_STAGES)[number];

/** Process CPU time in ms (one getrusage call, well under a microsecond). */
export function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Wall-clock ms (a bound function: `performance.now` detached from `performance` throws). */
function wallNowMs(): number {
  return performance.now();
}

/** Accumulated milliseconds per stage. */
export class TxStageClock {
  private readonly totals: Record<TxStage, number> = Object.fromEntries(TX_STAGES.map((s) => [s, 0])) as Record<
    TxStage,
    number
  >;
  /** CPU ms charged to any stage so far (what an enclosing or overlapping section must not count again). */
  private charged = 0;

  /**
   * The clock of the per-transaction synchronous sections (decode, recover): wall ms, because
   * getrusage costs microseconds and those sections run without yielding (wall = CPU unless the
   * machine deschedules the node mid-section).
   */
  now(): number {
    return performance.now();
  }

  /** Adds `ms` of a synchronous section to `stage`. */
  add(stage: TxStage, ms: number): void {
    this.totals[stage] += ms;
    this.charged += ms;
  }

  /**
   * Runs `fn`, adding its CPU time (until its promise settles) to `stage`, less what other stages
   * charged meanwhile: sections nested in it, and those that ran while it awaited (a submission
   * decoded while a block's batch is written). So the stages never count the same CPU twice.
   * Process CPU time costs a getrusage call (microseconds): use it per block, not per transaction.
   */
  time<T>(stage: TxStage, fn: () => Promise<T>): Promise<T> {
    return this.timeWith(cpuNowMs, stage, fn);
  }

  /**
   * `time` on the wall clock, for per-transaction async sections whose awaits are mostly
   * microtasks (admission reads cached head state): cheap, and what ran meanwhile is still
   * subtracted when it was timed itself.
   */
  timeWall<T>(stage: TxStage, fn: () => Promise<T>): Promise<T> {
    return this.timeWith(wallNowMs, stage, fn);
  }

  private async timeWith<T>(clock: () => number, stage: TxStage, fn: () => Promise<T>): Promise<T> {
    const t0 = clock();
    const charged0 = this.charged;
    try {
      return await fn();
    } finally {
      const own = clock() - t0 - (this.charged - charged0);
      if (own > 0) this.add(stage, own);
    }
  }

  /**
   * Runs `fn` (a wait for I/O) so that the CPU used meanwhile counts to no enclosing stage: the main
   * thread serves requests while a block's batch is written, and that is RPC work, not persisting.
   */
  async outside<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = cpuNowMs();
    const charged0 = this.charged;
    try {
      return await fn();
    } finally {
      const uncounted = cpuNowMs() - t0 - (this.charged - charged0);
      if (uncounted > 0) this.charged += uncounted;
    }
  }

  /** Seconds per stage so far. */
  secondsByStage(): Record<TxStage, number> {
    return Object.fromEntries(TX_STAGES.map((s) => [s, this.totals[s] / 1000])) as Record<TxStage, number>;
  }
}
