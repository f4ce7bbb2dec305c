// CPU per transaction at the node: the process's CPU time (from /proc) per included tx, and for Azora the
// split by stage from its `azora_tx_stage_seconds_total` counters (node/txStages.ts), read from /metrics
// before and after a phase.

import { markdownTable } from "./script.js";
import { round } from "./stats.js";

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
   * and the bench's block watcher polling eth_blockNumber / eth_getBlockByNumber), GC, libuv.
   */
  "rpc_other",
] as const;

export interface CpuPerTx {
  /** Process CPU µs per included tx over the phase (submission to last inclusion). */
  totalMicros: number | null;
  /** µs per included tx by stage (Azora only; null when /metrics was not readable). */
  stagesMicros: Record<(typeof CPU_STAGES)[number], number> | null;
}

const STAGE_LINE = /^azora_tx_stage_seconds_total\{stage="([a-z_]+)"\} ([0-9.e+-]+)$/;

/** Reads the stage counters from `<rpc url>/metrics`; null when the node exports none (Anvil). */
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
    }
    return seen ? out : null;
  } catch {
    return null;
  }
}

/** The per-tx figures of a phase from the node's CPU seconds and the stage counters before and after. */
export function cpuPerTx(
  included: number,
  nodeCpuSec: number | null,
  before: StageSeconds | null,
  after: StageSeconds | null,
): CpuPerTx {
  if (included === 0) return { totalMicros: null, stagesMicros: null };
  const perTx = (sec: number) => round((sec * 1e6) / included, 0);
  const totalMicros = nodeCpuSec === null ? null : perTx(nodeCpuSec);
  if (before === null || after === null) return { totalMicros, stagesMicros: null };
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
  return { totalMicros, stagesMicros };
}

/** The per-node goals (µs of CPU per tx, admission to commit). */
export const CPU_GOALS_MICROS: Record<string, number> = {
  "Value transfer": 300,
  "ERC-20 transfer (OZ)": 500,
  "LEARN transfer (native)": 150,
  "NFT mint (native)": 400,
};

/** One row per workload: total µs/tx at Azora and Anvil, the goal, and Azora's split by stage. */
export function cpuTable(rows: Array<{ name: string; azora: CpuPerTx | null; anvil: CpuPerTx | null }>): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : v.toLocaleString("en-US"));
  const head = ["CPU µs per tx (node process)", "Azora", "Anvil", "goal", ...CPU_STAGES];
  const body = rows.map((r) => [
    r.name,
    fmt(r.azora?.totalMicros),
    fmt(r.anvil?.totalMicros),
    fmt(CPU_GOALS_MICROS[r.name]),
    ...CPU_STAGES.map((s) => fmt(r.azora?.stagesMicros?.[s])),
  ]);
  return markdownTable(head, body);
}
