// The table of `npm run bench:network`: one row per figure, the goal of issue 3 beside it.
import type { LatencySummary } from "../stats.js";
import type { FinalityResult } from "./finality.js";
import type { LoadStepResult } from "./load.js";
import type { TimeBreakdown } from "./metrics.js";

export interface Row {
  figure: string;
  measured: string;
  goal: string;
  /** true / false when the row has a goal and was measured, else null. */
  met: boolean | null;
}

export interface PhaseRecord<T> {
  name: string;
  result: T | null;
  error: string | null;
  time: TimeBreakdown | null;
  cpu: {
    wallSec: number;
    nodesCpuSec: number | null;
    benchCpuSec: number;
    /** Busy CPU of the whole machine minus the nodes and the bench: other work skewing the figures. */
    otherCpuSec: number | null;
    /** azora processes this bench did not start, seen at the start or end of the phase. */
    foreignAzoraProcesses: string[];
  };
}

export interface RampRecord {
  steps: Array<PhaseRecord<LoadStepResult>>;
  highestSustained: number | null;
  stoppedAt: { rate: number; why: string[] } | null;
}

export interface Phases {
  idle: PhaseRecord<FinalityResult> | null;
  idleOneDown: PhaseRecord<FinalityResult> | null;
  fixed: Array<PhaseRecord<LoadStepResult>>;
  ramp: RampRecord | null;
  loadOneDown: PhaseRecord<LoadStepResult> | null;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${v}`);

function pair(a: LatencySummary | undefined, b: LatencySummary | undefined, key: "p50" | "p99"): string {
  if (a === undefined || b === undefined) return "—";
  return `${ms(a[key])} / ${ms(b[key])} ms`;
}

function check(v: number | null | undefined, max: number): boolean | null {
  return v === null || v === undefined ? null : v <= max;
}

function lossNote(r: LoadStepResult): string {
  const lost = r.notIncluded + r.doomed + r.rejected;
  return lost > 0 ? ` (${lost} of ${r.txs} lost)` : "";
}

export function figures(p: Phases, goalRate = 500): Row[] {
  const rows: Row[] = [];
  const idle = p.idle?.result ?? null;
  rows.push({
    figure: "empty-block finality p50 (first node / all nodes)",
    measured: pair(idle?.firstNodeMs, idle?.allNodesMs, "p50"),
    goal: "≤ 50 ms (all nodes)",
    met: check(idle?.allNodesMs.p50, 50),
  });
  rows.push({
    figure: "empty-block finality p99 (first node / all nodes)",
    measured: pair(idle?.firstNodeMs, idle?.allNodesMs, "p99"),
    goal: "",
    met: null,
  });
  for (const f of p.fixed) {
    const r = f.result;
    const rate = r?.offeredTxPerSec ?? Number(/(\d+)/.exec(f.name)?.[1]);
    const goals = rate === goalRate;
    rows.push({
      figure: `tx→final p50 at ${rate} tx/s`,
      measured: r === null ? "—" : `${ms(r.latencyMs.p50)} ms${lossNote(r)}`,
      goal: goals ? "≤ 250 ms" : "",
      met: goals ? check(r?.latencyMs.p50, 250) : null,
    });
    rows.push({
      figure: `tx→final p99 at ${rate} tx/s`,
      measured: r === null ? "—" : `${ms(r.latencyMs.p99)} ms`,
      goal: goals ? "≤ 600 ms" : "",
      met: goals ? check(r?.latencyMs.p99, 600) && r !== null && r.notIncluded + r.doomed + r.rejected === 0 : null,
    });
  }
  if (p.ramp !== null) {
    const stop = p.ramp.stoppedAt;
    rows.push({
      figure: "highest sustained tx/s (p99 ≤ 2 s, inclusion ≥ 95 % of offered)",
      measured:
        `${p.ramp.highestSustained ?? "none"}` +
        (stop !== null ? ` (${stop.rate} failed: ${stop.why[0]})` : " (every ramp step sustained)"),
      goal: "",
      met: null,
    });
  }
  const down = p.idleOneDown?.result ?? null;
  if (p.idleOneDown !== null) {
    rows.push({
      figure: "1 down: empty-block finality p50 (first / all live)",
      measured: pair(down?.firstNodeMs, down?.allNodesMs, "p50"),
      goal: "",
      met: null,
    });
    rows.push({
      figure: "1 down: empty-block finality p99 (first / all live)",
      measured: pair(down?.firstNodeMs, down?.allNodesMs, "p99"),
      goal: "≤ 1 s (all live)",
      met: check(down?.allNodesMs.p99, 1000),
    });
    const dead = down?.byRound0Proposer?.dead;
    rows.push({
      figure: "1 down: heights with the dead round-0 proposer, p50 / p99 (all live)",
      measured:
        dead === undefined
          ? "—"
          : `${ms(dead.allNodesMs.p50)} / ${ms(dead.allNodesMs.p99)} ms (${dead.heights} heights)`,
      goal: "",
      met: null,
    });
  }
  if (p.loadOneDown !== null) {
    const r = p.loadOneDown.result;
    rows.push({
      figure: `1 down: tx→final p50 / p99 at ${r?.offeredTxPerSec ?? "?"} tx/s`,
      measured: r === null ? "—" : `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)} ms${lossNote(r)}`,
      goal: "p99 ≤ 1 s",
      met: r === null ? null : check(r.latencyMs.p99, 1000) && r.notIncluded + r.doomed + r.rejected === 0,
    });
  }
  return rows;
}

export function table(rows: Row[], title: string): string {
  const head = ["figure", title, "goal (issue 3)", "met"];
  const body = rows.map((r) => [r.figure, r.measured, r.goal, r.met === null ? "" : r.met ? "yes" : "NO"]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}
