export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Nearest-rank percentile of `values` in any order (left as they are), rounded to `digits`. */
export function percentileOf(values: readonly number[], p: number, digits: number): number {
  return round(
    percentile(
      [...values].sort((a, b) => a - b),
      p,
    ),
    digits,
  );
}

export function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: null, p99: null, mean: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const v of arr) sum += v;
  return {
    count: arr.length,
    p50: round(percentile(arr, 50), 2),
    p99: round(percentile(arr, 99), 2),
    mean: round(sum / arr.length, 2),
    max: round(arr[arr.length - 1], 2),
  };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Increments `counts[key]`, keeping at most `max` distinct keys (the rest are folded into "other"). */
export function countError(counts: Record<string, number>, message: string, max = 20): void {
  const key = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  if (key in counts || Object.keys(counts).length < max) counts[key] = (counts[key] ?? 0) + 1;
  else counts["(other errors)"] = (counts["(other errors)"] ?? 0) + 1;
}

/** The median (the mean of the two middle values of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = Float64Array.from(values).sort();
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** A seeded PRNG (mulberry32): uniform in [0, 1), the same sequence for a seed on every run and machine. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
