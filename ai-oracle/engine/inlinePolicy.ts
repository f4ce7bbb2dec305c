/**
 * When a pooled model may run on the event loop instead (the lone-call fast path).
 *
 * A pooled run (engine/threadPool.ts) costs two thread hops on top of the model: the loop posts the feeds, the
 * thread wakes, runs, posts back, the loop wakes — ~0.5–0.7 ms per call on a 2-core VM, 5–7 % of a 10 ms job. The
 * hops buy one thing: the loop stays free for other work while the model runs. When no other inference call is in
 * flight, the only work that could want the loop is a request arriving during the run, and it would wait at most
 * one short run. So a call runs inline (on the event loop, in a second, in-thread session of the same model) only
 * when all of these hold:
 * - the policy is on (`maxMs` > 0) and the model is short: the mean of its observed lone (unbatched) runs (EWMA,
 *   after `warmRuns` runs) is at most `maxMs`, which bounds how long an arriving request can wait behind it. A
 *   model over the bound never gets an in-thread session (big models keep one copy in memory); one whose mean
 *   drifts past `RETIRE_FACTOR` × the bound loses it for good (between the two it pools, keeping the session, so
 *   a model near the bound on a loaded machine does not load and drop sessions over and over);
 * - this call is predicted short too: its input's element count × the model's mean time per input element is at
 *   most `maxMs` (a model with a symbolic dimension can be sent a far larger input than those it was timed on);
 * - the call is the only inference call of the kind in flight (`alone`), and the model's pooled queue is idle;
 * - its in-thread session is ready (created in the background once the model qualifies; calls meanwhile pool).
 * Outputs are the same bytes either way: both sessions use the engine's options and `encodeOutputs` (tested).
 * The price: while an inline run lasts (≤ `maxMs` on average) the loop parses, pays and answers nothing else, and
 * a metered call's receipt journal row (~0.2 ms, server-timing `commit`) can no longer be written during the model
 * run (services/runtime/payments/meteredRoutes.ts), so a paid call saves that much less. HTTP requests still being
 * received or paid for are not counted as in flight: one may wait behind an inline run.
 */
export interface InlinePolicyOptions {
  /** Largest mean run time (ms) a model may have to run inline; 0 turns inline runs off. */
  readonly maxMs: number;
  /** Runs observed (pooled) before a model may qualify (default 3: the first runs include warm-up). */
  readonly warmRuns?: number;
}

/**
 * Default `inlineMaxMs`: 20 ms, two 10 ms jobs' worth of waiting for a request that arrives during an inline run.
 * On a quiet 2-core VM, 5 interleaved pairs (README, issue 8) cut the metered lone call's p50 in every pair
 * (median 12.74 → 12.19 ms, overhead over direct 19.9 → 17.1 %); on a loaded one the gain hid in the noise.
 */
export const DEFAULT_INLINE_MAX_MS = 20;
/** Weight of the newest run in a model's mean run time. */
const EWMA_WEIGHT = 0.2;
/** A model whose mean run passes this many times the bound loses its in-thread session for good. */
export const RETIRE_FACTOR = 4;

export class InlinePolicy {
  readonly maxMs: number;
  readonly warmRuns: number;
  private inFlight = 0;

  constructor(opts: InlinePolicyOptions) {
    if (!(Number.isFinite(opts.maxMs) && opts.maxMs >= 0)) throw new RangeError("inline maxMs must be >= 0");
    this.maxMs = opts.maxMs;
    this.warmRuns = opts.warmRuns ?? 3;
  }

  /** Counts an inference call in flight until the returned function is called (once; later calls do nothing). */
  begin(): () => void {
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
    };
  }

  /** True when the caller's own call (begun) is the only one in flight. */
  get alone(): boolean {
    return this.inFlight === 1;
  }

  /** Whether a model with this record of runs may have (and use) an in-thread session. */
  fits(runs: RunTimes): boolean {
    return this.maxMs > 0 && runs.count >= this.warmRuns && runs.meanMs <= this.maxMs;
  }

  /** Whether a model with this record of runs should lose its in-thread session for good. */
  retires(runs: RunTimes): boolean {
    return runs.count >= this.warmRuns && !(this.maxMs > 0 && runs.meanMs <= RETIRE_FACTOR * this.maxMs);
  }

  /** Whether a call with this many input elements may run inline now, by the model's record. */
  fitsCall(runs: RunTimes, elements: number): boolean {
    return this.fits(runs) && runs.msPerElement * elements <= this.maxMs;
  }
}

/** A model's observed lone runs: count, exponentially weighted mean (ms) and mean ms per input element. */
export class RunTimes {
  count = 0;
  meanMs = 0;
  msPerElement = 0;

  /** One run's time and its inputs' total element count. */
  observe(ms: number, elements: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) return;
    const perElement = ms / Math.max(1, elements);
    const first = this.count === 0;
    this.meanMs = first ? ms : this.meanMs + EWMA_WEIGHT * (ms - this.meanMs);
    this.msPerElement = first ? perElement : this.msPerElement + EWMA_WEIGHT * (perElement - this.msPerElement);
    this.count++;
  }
}
