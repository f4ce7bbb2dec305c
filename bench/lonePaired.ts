// Phase (2b)'s lone calls in paired cycles (issue 8, est8): each cycle makes one lone call of every path — the
// model in this process, the free HTTP path, the metered path — in bench/pairedOverhead.ts's alternating order, so
// a path's overhead is read per cycle against the direct call beside it (pairedEstimate) rather than from the p50s
// of blocks run minutes apart. The direct run is timed as the worker times its own (`timedRun`: from an immediate
// queued before onnxruntime's), so the worker's model time per call is read beside it: a direct run faster than
// the worker's own run inflates the overhead, a slower one deflates it.

import { performance } from "node:perf_hooks";
import { encodeOutputs } from "../ai-oracle/engine/encodedRun.js";
import { type ONNXFeeds, type ONNXSession, timedRun } from "../ai-oracle/engine/session.js";
import type { Inference } from "../services/client/inferenceClient.js";
import { cycleOrder, type Pair, type PairedEstimate, pairedEstimate } from "./pairedOverhead.js";
import { median, round } from "./stats.js";

export type LonePath = "direct" | "plain" | "metered";

/** One lone call: its latency, and the model's own run time where it ran (the worker's from its server-timing). */
export interface LoneCall {
  ms: number;
  modelMs: number | null;
  /** The worker ran the model on its event loop (server-timing `inline`); direct runs always do. */
  inline: boolean | null;
}

export interface LonePaired {
  /** Cycles measured (after `warmup` cycles dropped, one call of every path each). */
  cycles: number;
  warmup: number;
  /** Metered and free HTTP against the direct call of the same cycle. */
  metered: PairedEstimate;
  plain: PairedEstimate;
  /** p50 over the measured cycles, ms: each path's latency and model run (direct: timed as the worker times its). */
  p50Ms: Record<LonePath, number | null>;
  modelP50Ms: Record<LonePath, number | null>;
  /**
   * The metered call's worker model run against the same cycle's direct model run: `diffMs` (worker − direct, ms)
   * and its interval are the reading (`overhead` here is that gap's share of the worker's run).
   */
  modelGap: PairedEstimate;
  /** Share of metered calls the worker ran inline (as the direct run is). */
  meteredInline: number | null;
  /** The direct run's output hashes to the metered result hash (the same model and input on both). */
  sameOutput: boolean | null;
  failed: number;
}

export interface LonePairedOptions {
  session: ONNXSession;
  feeds: ONNXFeeds;
  metered: () => Promise<Inference>;
  plain: () => Promise<Inference>;
  /** Cycles dropped at the start of the run. */
  warmup: number;
}

/** The worker's `name;dur=ms` entry of a server-timing header, or null. */
export function serverTimingOf(header: string | undefined, name: string): number | null {
  const m = header?.match(new RegExp(`(?:^|[ ,])${name};dur=([0-9.]+)`));
  return m ? Number(m[1]) : null;
}

/**
 * Cycle i's base call against its path call (the same index: one call of each path per cycle), in run order; a
 * cycle where either call failed or lacks `key` is left out, the others keep their own partners.
 */
export function pairsOf(
  base: readonly (LoneCall | null)[],
  path: readonly (LoneCall | null)[],
  key: "ms" | "modelMs",
): Pair[] {
  return path.flatMap((c, i) => {
    const b = base[i]?.[key];
    const v = c?.[key];
    return b === null || b === undefined || v === null || v === undefined ? [] : [{ base: b, path: v }];
  });
}

/** Cycles run in slices (`cyclesOf`, so a caller can spread them over its rounds), then one `result()`. */
export class LonePairedRun {
  private readonly calls: Record<LonePath, (LoneCall | null)[]> = { direct: [], plain: [], metered: [] };
  private k = 0;
  private failed = 0;
  private sameOutput: boolean | null = null;
  private lastHash: string | null = null;

  constructor(private readonly o: LonePairedOptions) {}

  /** `n` more cycles (the first `warmup` of the whole run are dropped from the estimate). */
  async cyclesOf(n: number): Promise<void> {
    for (let i = 0; i < n; i++, this.k++) {
      for (const path of cycleOrder<LonePath>(["direct", "metered", "plain"], this.k)) {
        let c: LoneCall | null = null;
        try {
          c = await this.call(path);
        } catch {
          this.failed++; // (the cycle keeps its other calls; a pair with a failed side is left out)
        }
        this.calls[path].push(c);
      }
    }
  }

  private async call(path: LonePath): Promise<LoneCall> {
    const t = performance.now();
    if (path === "direct") {
      const run = await timedRun(this.o.session, this.o.feeds);
      const ms = performance.now() - t;
      if (this.sameOutput === null && this.calls.metered.length > 0) this.checkOutput(run.outputs);
      return { ms, modelMs: run.modelMs, inline: true };
    }
    const r = await (path === "metered" ? this.o.metered() : this.o.plain());
    const ms = performance.now() - t;
    if (path === "metered") this.lastHash = r.resultHash;
    const inline = serverTimingOf(r.serverTiming, "inline");
    return { ms, modelMs: serverTimingOf(r.serverTiming, "model"), inline: inline === null ? null : inline === 1 };
  }

  private checkOutput(outputs: Awaited<ReturnType<typeof timedRun>>["outputs"]): void {
    if (this.lastHash === null) return;
    this.sameOutput = encodeOutputs(outputs, this.o.session.outputNames).sha256 === this.lastHash;
  }

  result(): LonePaired {
    const w = this.o.warmup;
    const measured = (p: LonePath) => this.calls[p].slice(w);
    const [d, m, f] = [measured("direct"), measured("metered"), measured("plain")];
    const pairs = (path: (LoneCall | null)[], key: "ms" | "modelMs") => pairsOf(d, path, key);
    const p50 = (xs: (LoneCall | null)[], key: "ms" | "modelMs") => {
      const v = xs.flatMap((c) => (c?.[key] == null ? [] : [c[key] as number]));
      return v.length === 0 ? null : round(median(v), 2);
    };
    const inline = m.flatMap((c) => (c?.inline == null ? [] : [c.inline]));
    return {
      cycles: Math.max(0, this.k - w),
      warmup: w,
      metered: pairedEstimate(pairs(m, "ms")),
      plain: pairedEstimate(pairs(f, "ms")),
      p50Ms: { direct: p50(d, "ms"), plain: p50(f, "ms"), metered: p50(m, "ms") },
      modelP50Ms: { direct: p50(d, "modelMs"), plain: p50(f, "modelMs"), metered: p50(m, "modelMs") },
      modelGap: pairedEstimate(pairs(m, "modelMs")),
      meteredInline: inline.length === 0 ? null : round(inline.filter(Boolean).length / inline.length, 3),
      sameOutput: this.sameOutput,
      failed: this.failed,
    };
  }
}

/** A share as `12.3 %`, or `—`. */
export const pct = (v: number | null) => (v === null ? "—" : `${round(v * 100, 1)} %`);

/** A paired estimate's overhead as `12.3 % [9.8 … 15.0 %]`. */
export function pctInterval(e: PairedEstimate): string {
  const i = e.overheadInterval;
  return `${pct(e.overhead)} [${i === null ? "—" : `${round(i[0] * 100, 1)} … ${pct(i[1])}`}]`;
}

/** The log line: overheads with intervals, p50s, the worker's model run against the direct one. */
export function formatPaired(p: LonePaired): string {
  const g = p.modelGap;
  return [
    `${p.cycles} cycles (${p.warmup} dropped, ${p.failed} failed)`,
    `metered ${pctInterval(p.metered)} (metered − direct ${p.metered.diffMs ?? "?"} ms)`,
    `free HTTP ${pctInterval(p.plain)}`,
    `p50 direct / free / metered ${p.p50Ms.direct} / ${p.p50Ms.plain} / ${p.p50Ms.metered} ms`,
    `model run p50 direct ${p.modelP50Ms.direct} / worker ${p.modelP50Ms.metered} ms (worker − direct ${g.diffMs ?? "?"} ms [${g.diffInterval?.join(" … ") ?? "—"}]; ${pct(p.meteredInline)} inline)`,
    `same output ${p.sameOutput ?? "?"}`,
  ].join("; ");
}
