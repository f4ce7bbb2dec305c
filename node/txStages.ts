/**
 * Where a node's CPU per transaction goes, stage by stage, admission to commit. Each stage adds the
 * process CPU time (`process.cpuUsage`, user + system) used during its own sections — CPU time, not
 * wall time, so a busy machine that deschedules the node does not inflate a stage. It is the CPU of
 * every thread of the process: what V8's GC helpers and background compiler, libuv's pool or a
 * worker burn while a section runs counts to that section (Node 20 has no per-thread clock finer than
 * the scheduler tick — `/proc/thread-self/schedstat` moves in ~1 ms steps; under the bench those
 * threads are a third of the node's CPU, and the bench shows their share apart). A per-transaction
 * section is a few tens of µs, so one such tick or GC pause inside it would outweigh it many times:
 * see `MAX_TX_SECTION_MS`. For the async sections (admission, execution, seal, persist) it includes
 * any other work that ran while they awaited (little: state reads mostly hit caches). What no stage
 * names (HTTP and JSON, the other RPC methods, GC, libuv) is the process's CPU time minus their sum,
 * which the bench derives from `/proc`.
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

/**
 * Per-height consensus work beside the transaction stages (`azora_consensus_stage_seconds_total`),
 * timed by the consensus driver's ports (node/consensus/adapters.ts). What none names (the driver's
 * state machine and vote tallies, libp2p's streams, encryption and heartbeats, timers, GC) is the
 * process's CPU time minus every stage.
 */
export const CONSENSUS_STAGES = [
  /** Building a proposal, less its execution and seal: selection, evidence, header. */
  "propose",
  /** Checking a peer's proposal, less its execution and seal: header rules, the parent's commit certificate. */
  "verify_proposal",
  /** Committing the decided block, less its persist: the mempool's update, evidence bookkeeping. */
  "commit",
  /** Own votes and proposals signed through the double-sign guard, with its state-file sync. */
  "sign",
  /** Consensus write-ahead log: records, syncs, the new height's file. */
  "wal",
  /** Receiving proposals, votes and evidence: decoding, signature checks, admission to the driver. */
  "gossip_in",
  /** Publishing and sending own proposals and votes (the synchronous part of libp2p's publish). */
  "gossip_out",
] as const;

export type ConsensusStage = (typeof CONSENSUS_STAGES)[number];

type Stage = TxStage | ConsensusStage;
const ALL_STAGES: readonly Stage[] = [...TX_STAGES, ...CONSENSUS_STAGES];

/** Process CPU time in ms (one getrusage call: microseconds, as it sums every thread of the process). */
export function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Per-transaction sections are timed on one transaction in this many (each counts for them all). */
export const DEFAULT_SAMPLE_EVERY = 16;

/**
 * A sampled per-transaction section that read more process CPU than this did not spend it on its
 * own work: timed on every transaction under the bench, a decode's section read 15–30 µs at the
 * median and below 85 µs at p90, but 0.7–4 ms at p99 and up to 9 ms — a GC pause, or a tick's worth
 * of another thread's CPU, that fell inside it. Those 1–2 % of sections were most of the decode
 * figure (280 µs/tx in one run, scaled by the sampling), so such a reading counts to no stage, as
 * the same pause between sections does (it is in the bench's remainder).
 */
export const MAX_TX_SECTION_MS = 1;

/**
 * Accumulated CPU milliseconds per stage. Per-block sections are timed every time; per-transaction
 * sections (decode, recover, admission) on one transaction in `sampleEvery`, scaled up: one clock
 * read is a getrusage call (~2.5 µs here), which would be a tenth of a decode; and the wall clock,
 * cheap as it is, counts the time a busy machine deschedules the node.
 */
export class TxStageClock {
  private readonly totals: Record<Stage, number> = Object.fromEntries(ALL_STAGES.map((s) => [s, 0])) as Record<
    Stage,
    number
  >;
  /** CPU ms charged to any stage so far (what an enclosing or overlapping section must not count again). */
  private charged = 0;
  private readonly sampleEvery: number;
  /** Per sampling site (decode, admission): each transaction passes each site once. */
  private readonly txCounts = new Map<string, number>();
  /** `untimed` runs in progress: sections that start meanwhile read no clock. */
  private untimedRuns = 0;

  constructor(opts: { sampleEvery?: number } = {}) {
    this.sampleEvery = opts.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
  }

  /**
   * Whether this transaction's section at `site` is timed (one in `sampleEvery`). Each site counts
   * its own calls: with one shared counter, two sites per transaction would always sample the same one.
   */
  sampleTx(site: string): boolean {
    if (this.untimedRuns > 0) return false;
    const n = ((this.txCounts.get(site) ?? 0) + 1) % this.sampleEvery;
    this.txCounts.set(site, n);
    return n === 0;
  }

  /** The clock of sampled synchronous sections: process CPU ms. */
  now(): number {
    return cpuNowMs();
  }

  /** Adds `ms` of a synchronous section to `stage`. */
  add(stage: Stage, ms: number): void {
    this.totals[stage] += ms;
    this.charged += ms;
  }

  /**
   * Adds a sampled transaction's section, counted for the `sampleEvery` transactions it stands for;
   * one over `MAX_TX_SECTION_MS` counts to no stage (see there).
   */
  addSampled(stage: TxStage, ms: number): void {
    if (ms > MAX_TX_SECTION_MS) this.charged += ms;
    else this.add(stage, ms * this.sampleEvery);
  }

  /**
   * Runs `fn`, adding its CPU time (until its promise settles) to `stage`, less what other stages
   * charged meanwhile: sections nested in it, and those that ran while it awaited (a submission
   * decoded while a block's batch is written). So the stages never count the same CPU twice.
   * For per-block sections; per-transaction ones use `timeSampled`.
   */
  time<T>(stage: Stage, fn: () => Promise<T>): Promise<T> {
    return this.timeWith(stage, fn);
  }

  /**
   * `time` for a per-transaction section: one call in `sampleEvery` is timed and scaled up, as
   * `addSampled` counts it.
   */
  timeSampled<T>(stage: TxStage, fn: () => Promise<T>): Promise<T> {
    return this.sampleTx(stage) ? this.timeWith(stage, fn, (own) => this.addSampled(stage, own)) : fn();
  }

  private async timeWith<T>(
    stage: Stage,
    fn: () => Promise<T>,
    count = (own: number) => this.add(stage, own),
  ): Promise<T> {
    if (this.untimedRuns > 0) return fn();
    const t0 = cpuNowMs();
    const charged0 = this.charged;
    try {
      return await fn();
    } finally {
      const own = cpuNowMs() - t0 - (this.charged - charged0);
      if (own > 0) count(own);
    }
  }

  /**
   * Runs `fn` (a wait for I/O) so that the CPU used meanwhile counts to no enclosing stage: the main
   * thread serves requests while a block's batch is written, and that is RPC work, not persisting.
   */
  async outside<T>(fn: () => Promise<T>): Promise<T> {
    if (this.untimedRuns > 0) return fn();
    const t0 = cpuNowMs();
    const charged0 = this.charged;
    try {
      return await fn();
    } finally {
      const uncounted = cpuNowMs() - t0 - (this.charged - charged0);
      if (uncounted > 0) this.charged += uncounted;
    }
  }

  /**
   * Runs `fn` (block sync applying a verified run) with no section timed until it settles, and counts
   * its CPU to no stage, as `outside` does. Why: one clock read is a getrusage(RUSAGE_SELF) call, which
   * sums every thread of the process — 2.3–4 µs each in a node with its worker and libuv threads, ~8
   * reads per synced block, ~25–30 µs of a ~1.3 ms empty block (6–10 % of the syncing node's profile
   * under `--cpu-prof`, which inflates each read). The stages describe blocks the node makes or checks in consensus; a synced
   * run's CPU shows in the process total (the bench's remainder) and the sync loop's own figures.
   * Sections that start while a run is in progress read no clock either (a vote's `gossip_in`),
   * sections open before it close as usual.
   */
  async untimed<T>(fn: () => Promise<T>): Promise<T> {
    return this.outside(async () => {
      this.untimedRuns++;
      try {
        return await fn();
      } finally {
        this.untimedRuns--;
      }
    });
  }

  /**
   * Runs the synchronous `fn`, adding its CPU time to `stage` less what sections nested in it charged.
   * For sections whose promise would also count unrelated work done while it waits for the network.
   */
  timeSync<T>(stage: Stage, fn: () => T): T {
    if (this.untimedRuns > 0) return fn();
    const t0 = cpuNowMs();
    const charged0 = this.charged;
    try {
      return fn();
    } finally {
      const own = cpuNowMs() - t0 - (this.charged - charged0);
      if (own > 0) this.add(stage, own);
    }
  }

  /** Seconds per consensus stage so far. */
  secondsByConsensusStage(): Record<ConsensusStage, number> {
    return Object.fromEntries(CONSENSUS_STAGES.map((s) => [s, this.totals[s] / 1000])) as Record<
      ConsensusStage,
      number
    >;
  }

  /** Seconds per stage so far. */
  secondsByStage(): Record<TxStage, number> {
    return Object.fromEntries(TX_STAGES.map((s) => [s, this.totals[s] / 1000])) as Record<TxStage, number>;
  }
}
