// CPU per transaction at the node: the process's CPU time (from /proc) per included tx, and for Azora the
// split by stage from its `azora_tx_stage_seconds_total` counters (node/txStages.ts), read from /metrics
// before and after a phase, with the main thread's own CPU time (/proc/<pid>/task/<pid>/stat) to tell
// the JavaScript thread's unnamed work from the other threads'.

import { readFileSync } from "node:fs";
import { markdownTable } from "./script.js";
import { round } from "./stats.js";
import { parseStat } from "./threadCpu.js";

/** The node's stage counters as exported. */
type StageSeconds = Record<string, number>;

/** Stages in table order: what the node times itself, then what the bench derives. */
export const CPU_STAGES = [
  "decode",
  "recover",
  "admission",
  "execution",
  "seal",
  "persist",
  "block_other",
  /**
   * Process CPU in no stage above: HTTP, JSON and the JSON-RPC layer of every request (the submissions,
   * and the bench's block watcher polling eth_blockNumber / eth_getBlockByNumber), timers, and whatever
   * the other threads (below) did outside the stages' sections.
   */
  "rpc_other",
] as const;

/**
 * Shown after the stages, each a part of the total that the stages above already contain: the
 * process's threads other than the JavaScript one (V8's GC helpers and background compiler, libuv's
 * pool running LevelDB and fs syncs, worker threads) — the stages time process CPU, so these land in
 * whatever stage's section they ran during, and in `rpc_other` outside them — and the main thread's
 * GC pauses (prom-client's `nodejs_gc_duration_seconds`, wall time).
 */
export const PART_COLUMNS = ["other threads", "GC pauses"] as const;

export interface CpuPerTx {
  /** Process CPU µs per included tx over the phase (submission to last inclusion). */
  totalMicros: number | null;
  /** µs per included tx by stage (Azora only; null when /metrics was not readable). */
  stagesMicros: Record<(typeof CPU_STAGES)[number], number> | null;
  /** Of the total, µs per included tx on threads other than the main one (null when unknown). */
  otherThreadsMicros?: number | null;
  /** Of the total, µs per included tx of main-thread GC pauses (null when not exported). */
  gcPauseMicros?: number | null;
  /** Of the total, µs per included tx by thread group (bench/threadCpu.ts; null when unknown). */
  threadsMicros?: Record<string, number> | null;
}

const STAGE_LINE = /^azora_tx_stage_seconds_total\{stage="([a-z_]+)"\} ([0-9.e+-]+)$/;
/** prom-client's default GC histogram under the node's metric prefix, one sum per GC kind. */
const GC_SUM_LINE = /^azora_process_nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/;

/**
 * The CPU seconds (user + system) of a process's main thread — the one running JavaScript — from
 * `/proc/<pid>/task/<pid>/stat`; null off Linux or when the process is gone. Tick resolution (10 ms).
 */
export function mainThreadCpuSeconds(pid: number): number | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")).sec;
  } catch {
    return null;
  }
}

/**
 * Reads the stage counters from `<rpc url>/metrics`, and the GC pause total as `gc`; null when the
 * node exports no stages (Anvil).
 */
export async function readStageSeconds(rpcUrl: string): Promise<StageSeconds | null> {
  try {
    const res = await fetch(new URL("/metrics", rpcUrl));
    if (!res.ok) return null;
    const out: StageSeconds = {};
    let seen = false;
    for (const line of (await res.text()).split("\n")) {
      const m = STAGE_LINE.exec(line);
      if (m !== null) {
        out[m[1]] = Number(m[2]);
        seen = true;
      }
      const gc = GC_SUM_LINE.exec(line);
      if (gc !== null) out.gc = (out.gc ?? 0) + Number(gc[1]);
    }
    return seen ? out : null;
  } catch {
    return null;
  }
}

/**
 * The per-tx figures of a phase from the node's CPU seconds (the whole process's, and its main
 * thread's when known) and the stage counters before and after.
 */
export function cpuPerTx(
  included: number,
  nodeCpuSec: number | null,
  before: StageSeconds | null,
  after: StageSeconds | null,
  mainThreadCpuSec: number | null = null,
): CpuPerTx {
  if (included === 0) return { totalMicros: null, stagesMicros: null };
  const perTx = (sec: number) => round((sec * 1e6) / included, 0);
  const totalMicros = nodeCpuSec === null ? null : perTx(nodeCpuSec);
  const otherThreadsMicros =
    nodeCpuSec === null || mainThreadCpuSec === null ? null : perTx(Math.max(0, nodeCpuSec - mainThreadCpuSec));
  if (before === null || after === null) return { totalMicros, stagesMicros: null, otherThreadsMicros };
  const d = (k: string) => Math.max(0, (after[k] ?? 0) - (before[k] ?? 0));
  const timed = ["decode", "recover", "admission", "execution", "seal", "persist", "block_other"];
  const sum = timed.reduce((s, k) => s + d(k), 0);
  const other = nodeCpuSec === null ? 0 : Math.max(0, nodeCpuSec - sum);
  const stagesMicros = {
    decode: perTx(d("decode")),
    recover: perTx(d("recover")),
    admission: perTx(d("admission")),
    execution: perTx(d("execution")),
    seal: perTx(d("seal")),
    persist: perTx(d("persist")),
    block_other: perTx(d("block_other")),
    rpc_other: perTx(other),
  };
  const gcPauseMicros = after.gc === undefined || before.gc === undefined ? null : perTx(d("gc"));
  return { totalMicros, stagesMicros, otherThreadsMicros, gcPauseMicros };
}

/** The per-node goals (µs of CPU per tx, admission to commit). */
export const CPU_GOALS_MICROS: Record<string, number> = {
  "Value transfer": 300,
  "ERC-20 transfer (OZ)": 500,
  "LEARN transfer (native)": 150,
  "NFT mint (native)": 400,
};

/** One row per workload: total µs/tx at Azora and Anvil, the goal, and Azora's split by stage. */
export function cpuTable(
  rows: Array<{ name: string; azora: CpuPerTx | null; anvil: CpuPerTx | null; goal?: string }>,
): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : v.toLocaleString("en-US"));
  const head = ["CPU µs per tx (node process)", "Azora", "Anvil", "goal", ...CPU_STAGES, ...PART_COLUMNS];
  const body = rows.map((r) => [
    r.name,
    fmt(r.azora?.totalMicros),
    fmt(r.anvil?.totalMicros),
    fmt(CPU_GOALS_MICROS[r.goal ?? r.name]),
    ...CPU_STAGES.map((s) => fmt(r.azora?.stagesMicros?.[s])),
    fmt(r.azora?.otherThreadsMicros),
    fmt(r.azora?.gcPauseMicros),
  ]);
  return markdownTable(head, body);
}
