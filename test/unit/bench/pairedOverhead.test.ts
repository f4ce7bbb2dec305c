import { describe, expect, it } from "vitest";
import { encodeOutputs } from "../../../ai-oracle/engine/encodedRun.js";
import { type ONNXSession, Tensor } from "../../../ai-oracle/engine/session.js";
import { type LoneCall, LonePairedRun, pairsOf, serverTimingOf } from "../../../bench/lonePaired.js";
import { blockBootstrap, cycleOrder, pairedEstimate } from "../../../bench/pairedOverhead.js";
import { median, mulberry32 } from "../../../bench/stats.js";
import type { Inference } from "../../../services/client/inferenceClient.js";

// The lone-call overhead's paired estimator (issue 8, est8): the call order per cycle, the pairing of each cycle's
// calls, the per-pair median and its block-bootstrap interval.
describe("paired lone-call overhead", () => {
  const paths = ["d", "m", "p"] as const;

  it("alternates the orders: each order right after its reverse, every order once per six cycles", () => {
    const cycles = Array.from({ length: 12 }, (_, k) => cycleOrder(paths, k));
    for (let k = 0; k < 12; k += 2) expect(cycles[k + 1]).toEqual([...cycles[k]].reverse());
    expect(new Set(cycles.slice(0, 6).map((c) => c.join(""))).size).toBe(6);
    expect(cycles.slice(6)).toEqual(cycles.slice(0, 6));
    for (const path of paths)
      for (let pos = 0; pos < 3; pos++) expect(cycles.slice(0, 6).filter((c) => c[pos] === path)).toHaveLength(2);
    expect(cycleOrder(["a", "b"], 0)).toEqual(["a", "b"]);
    expect(cycleOrder(["a", "b"], 1)).toEqual(["b", "a"]);
  });

  it("takes the median of each pair's own overhead, not of the two sides' p50s", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // shares 1/6, 1/15, 7/10 and differences 2, 1, 14 — the sides' p50s (10, 15) would say 1/3 and 5 ms
    const e = pairedEstimate([
      { base: 10, path: 12 },
      { base: 14, path: 15 },
      { base: 6, path: 20 },
    ]);
    expect(e.pairs).toBe(3);
    expect(e.overhead).toBe(0.167);
    expect(e.diffMs).toBe(2);
    // a direct side that drifts with the load, its path alongside: every pair says 20 %, whatever the p50s
    const drift = Array.from({ length: 60 }, (_, i) => ({ base: 8 + (i % 7), path: (8 + (i % 7)) / 0.8 }));
    expect(pairedEstimate(drift).overhead).toBe(0.2);
    expect(pairedEstimate(drift).overheadInterval).toEqual([0.2, 0.2]);
  });

  it("leaves out pairs without a usable path time", () => {
    const e = pairedEstimate([
      { base: 10, path: 12.5 },
      { base: 10, path: 0 },
      { base: Number.NaN, path: 12 },
    ]);
    expect(e.pairs).toBe(1);
    expect(e.overhead).toBe(0.2);
    expect(pairedEstimate([]).overhead).toBeNull();
    expect(pairedEstimate([]).overheadInterval).toBeNull();
  });

  it("draws an interval around the median that covers the true share, widens with the level and repeats", () => {
    const rnd = mulberry32(7);
    // true share 18 %: noise on both sides of each pair
    const pairs = Array.from({ length: 100 }, () => {
      const base = 10 + rnd() * 2;
      return { base: base + rnd() - 0.5, path: base / 0.82 + rnd() - 0.5 };
    });
    const e = pairedEstimate(pairs);
    const [lo, hi] = e.overheadInterval!;
    expect(lo).toBeLessThanOrEqual(e.overhead!);
    expect(hi).toBeGreaterThanOrEqual(e.overhead!);
    expect(lo).toBeLessThan(0.18);
    expect(hi).toBeGreaterThan(0.18);
    expect(hi - lo).toBeGreaterThan(0.005);
    const half = pairedEstimate(pairs, { level: 0.5 }).overheadInterval!;
    expect(half[1] - half[0]).toBeLessThan(hi - lo);
    expect(pairedEstimate(pairs)).toEqual(e);
  });

  it("resamples blocks of neighbours: a drifting run gets a wider interval than independent draws would give", () => {
    // the share steps with the load: 10 % for 30 pairs, 30 % for 30, 10 % for 30 — neighbours alike
    const values = Array.from({ length: 90 }, (_, i) => (i >= 30 && i < 60 ? 0.3 : 0.1) + (i % 3) * 0.001);
    const blocks = blockBootstrap(values, median, { block: 15 })!;
    const single = blockBootstrap(values, median, { block: 1 })!;
    expect(blocks[1] - blocks[0]).toBeGreaterThan(single[1] - single[0]);
    // every resample is a full-length series of the values given
    const lengths = new Set<number>();
    const lengthOf = (xs: readonly number[]) => {
      lengths.add(xs.length);
      return 0;
    };
    blockBootstrap(values, lengthOf, { resamples: 20, block: 7 });
    expect([...lengths]).toEqual([90]);
    expect(blockBootstrap([], median)).toBeNull();
  });

  it("pairs each cycle's calls by index and leaves out only a cycle with a failed side", () => {
    const c = (ms: number, modelMs: number | null = null): LoneCall => ({ ms, modelMs, inline: true });
    const base = [c(10, 8), null, c(11, 9), c(12)];
    const path = [c(13, 9), c(14, 10), null, c(15, 10)];
    expect(pairsOf(base, path, "ms")).toEqual([
      { base: 10, path: 13 },
      { base: 12, path: 15 },
    ]);
    expect(pairsOf(base, path, "modelMs")).toEqual([{ base: 8, path: 9 }]);
  });

  it("reads the worker's server-timing entries by their exact name", () => {
    const h = "recv;dur=0.1, pay;dur=0.2, run;dur=8.3, model;dur=7.5, inline;dur=1, hash;dur=0.02";
    expect(serverTimingOf(h, "model")).toBe(7.5);
    expect(serverTimingOf(h, "inline")).toBe(1);
    expect(serverTimingOf(h, "run")).toBe(8.3);
    expect(serverTimingOf("premodel;dur=3", "model")).toBeNull();
    expect(serverTimingOf(undefined, "model")).toBeNull();
  });

  it("runs every path once per cycle in the alternating order, drops the same warm-up cycles on every path", async () => {
    const seen: string[] = [];
    const y = new Tensor("float32", Float32Array.from([1, 2]), [2]);
    const session = {
      outputNames: ["y"],
      run: async () => {
        seen.push("direct");
        return { y };
      },
    } as unknown as ONNXSession;
    const hash = encodeOutputs({ y }, ["y"]).sha256;
    let n = 0;
    const answer = (model: number, resultHash: string) =>
      ({ resultHash, serverTiming: `run;dur=9, model;dur=${model}, inline;dur=1` }) as unknown as Inference;
    const run = new LonePairedRun({
      session,
      feeds: {},
      warmup: 2,
      metered: async () => {
        seen.push("metered");
        // the metered model time counts the cycles; cycle 3's call fails
        if (++n === 4) throw new Error("refused");
        return answer(n, hash);
      },
      plain: async () => {
        seen.push("plain");
        return answer(100, hash);
      },
    });
    await run.cyclesOf(3);
    await run.cyclesOf(3);
    expect(seen).toEqual(Array.from({ length: 6 }, (_, k) => cycleOrder(["direct", "metered", "plain"], k)).flat());
    const r = run.result();
    expect(r.cycles).toBe(4);
    expect(r.failed).toBe(1);
    expect(r.sameOutput).toBe(true);
    expect(r.meteredInline).toBe(1);
    // measured metered calls: cycles 2..5 → model 3, (failed), 5, 6
    expect(r.modelP50Ms.metered).toBe(5);
    expect(r.modelP50Ms.plain).toBe(100);
    expect(r.metered.pairs).toBe(3);
    expect(r.plain.pairs).toBe(4);
    expect(r.modelGap.pairs).toBe(3);
  });

  it("says when the direct output differs from the metered result", async () => {
    const y = new Tensor("float32", Float32Array.from([1, 2]), [2]);
    const session = { outputNames: ["y"], run: async () => ({ y }) } as unknown as ONNXSession;
    const other = { resultHash: "0x00", serverTiming: "model;dur=1" } as unknown as Inference;
    const run = new LonePairedRun({
      session,
      feeds: {},
      warmup: 0,
      metered: async () => other,
      plain: async () => other,
    });
    await run.cyclesOf(2);
    expect(run.result().sameOutput).toBe(false);
  });
});
