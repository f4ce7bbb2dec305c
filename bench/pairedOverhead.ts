// The lone-call overhead estimated from paired calls (issue 8, est8). The old figure — (metered p50 − direct p50) /
// metered p50 over blocks of 25 calls per path — swings 8–30 % between quiet runs: the two p50s come from different
// blocks of time, and the direct block runs its session back to back (hot) while the worker's run follows an idle
// gap. Here each cycle makes one lone call of every path, in an order that alternates (ABBA over all orders), so a
// metered call's baseline is the direct call of its own cycle, under the same moment's load and after a gap like
// the worker's; the figure is the median of the cycles' own overheads, with a block-bootstrap interval that says
// how far another run of the same machine could put it.

import { median, mulberry32, percentile, round } from "./stats.js";

/**
 * The order of the paths in cycle `k`: every order of the paths, each right after its reverse (A B C, C B A, A C B,
 * B C A, …), so over `2 × n!/2` cycles each path takes each position equally often and each of two paths goes first
 * in half the cycles — a drift inside a cycle, or what one call leaves behind for the next, hits both sides alike.
 */
export function cycleOrder<T>(paths: readonly T[], k: number): T[] {
  const bases = permutations(paths.map((_, i) => i)).filter((p) => compare(p, [...p].reverse()) <= 0);
  const base = bases[Math.floor(k / 2) % bases.length];
  const order = k % 2 === 0 ? base : [...base].reverse();
  return order.map((i) => paths[i]);
}

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export interface BootstrapOptions {
  /** Resamples drawn (default 2,000). */
  resamples?: number;
  /**
   * Consecutive values resampled together (default 6: one full set of cycle orders). A run's load drifts, so
   * neighbouring cycles are alike; resampling single values would treat them as independent and draw the
   * interval too narrow.
   */
  block?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
  /** PRNG seed (default fixed: the same values give the same interval). */
  seed?: number;
}

/**
 * A moving-block bootstrap percentile interval of `stat` over `values` (in their run order): each resample is
 * `values.length` values made of blocks of consecutive values starting at random positions.
 */
export function blockBootstrap(
  values: readonly number[],
  stat: (xs: readonly number[]) => number,
  o: BootstrapOptions = {},
): [number, number] | null {
  const n = values.length;
  if (n === 0) return null;
  const resamples = o.resamples ?? 2000;
  const block = Math.max(1, Math.min(n, o.block ?? 6));
  const level = o.level ?? 0.95;
  const rnd = mulberry32(o.seed ?? 0x8e57);
  const stats: number[] = [];
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; ) {
      const start = Math.floor(rnd() * (n - block + 1));
      for (let j = 0; j < block && i < n; j++) sample[i++] = values[start + j];
    }
    stats.push(stat(sample));
  }
  stats.sort((a, b) => a - b);
  return [percentile(stats, ((1 - level) / 2) * 100), percentile(stats, ((1 + level) / 2) * 100)];
}

/** One cycle's lone call of a path and of the baseline, ms. */
export interface Pair {
  base: number;
  path: number;
}

export interface PairedEstimate {
  pairs: number;
  /** Median over the pairs of (path − base) / path: the share of a lone call that is not the model. */
  overhead: number | null;
  /** Its bootstrap interval (`level`, default 95 %). */
  overheadInterval: [number, number] | null;
  /** Median over the pairs of path − base, ms, and its interval. */
  diffMs: number | null;
  diffInterval: [number, number] | null;
}

/** The paired overhead of `pairs` (in run order): medians of the per-pair overheads and differences, intervals. */
export function pairedEstimate(pairs: readonly Pair[], o: BootstrapOptions = {}): PairedEstimate {
  const ok = pairs.filter((p) => p.path > 0 && Number.isFinite(p.base) && Number.isFinite(p.path));
  const shares = ok.map((p) => (p.path - p.base) / p.path);
  const diffs = ok.map((p) => p.path - p.base);
  const r = (v: number, d: number) => round(v, d);
  const interval = (xs: number[], d: number): [number, number] | null => {
    const i = blockBootstrap(xs, median, o);
    return i === null ? null : [r(i[0], d), r(i[1], d)];
  };
  return {
    pairs: ok.length,
    overhead: ok.length === 0 ? null : r(median(shares), 3),
    overheadInterval: interval(shares, 3),
    diffMs: ok.length === 0 ? null : r(median(diffs), 3),
    diffInterval: interval(diffs, 3),
  };
}
