// The pipeline bench's steady state (bench/pipeline.ts runs the node's admission → commit in process).
// A fixed warm-up leaves V8's background compiler still at work on once-per-block code in the timed
// window (README jit14: ~120–200 µs/tx of platform-thread CPU at 1,000 warm-up txs, ~65 at 8,000), and
// the full run's later workloads run on the state the earlier ones grew. Here each workload gets a
// fresh chain (the same set-up state for every workload and every build: the process, and so its
// JIT, is shared, as in a node) and runs in chunks: warm-up chunks until the V8 platform threads'
// CPU per tx stops falling (capped), then the steady chunks, whose sum is the reported figure. Every
// chunk is printed — process / main / platform CPU, GC pauses, heap KB/tx and the state's growth —
// so one sees when compiling stops and whether later chunks cost more as the state grows.
import { mkdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  balancesAtHead,
  type InProcessNode,
  openWorkloads,
  type PipelineFigure,
  type PipelineOptions,
  type PipelineResults,
  pipelineTable,
  plan,
  recipients,
  selectWorkloads,
  timed,
  WORKLOAD_NAMES,
} from "./pipeline.js";
import { markdownTable } from "./script.js";
import { round } from "./stats.js";
import { THREAD_GROUPS } from "./threadCpu.js";

export interface SteadyOptions extends Omit<PipelineOptions, "txs" | "warmup" | "heapProfileDir"> {
  /** Txs per chunk. */
  chunk: number;
  /** Warm-up chunks at most, when the platform threads' CPU keeps falling (0: none, every chunk timed). */
  maxWarmupChunks: number;
  /** Chunks after the warm-up; their sum is the workload's steady figure. */
  steadyChunks: number;
}

export const DEFAULT_STEADY_OPTIONS: SteadyOptions = {
  chunk: 1_000,
  maxWarmupChunks: 12,
  steadyChunks: 4,
  batch: 500,
  syncWrites: true,
};

/** One chunk's figures and the state it ran on. */
export interface ChunkRow {
  chunk: number;
  phase: "warm-up" | "steady";
  cpuMicros: number;
  mainThreadMicros: number | null;
  /** V8's platform threads (GC helpers, background compilation), µs/tx; null off Linux. */
  platformMicros: number | null;
  gcPauseMicros: number;
  heapBytesPerTx: number;
  /** Head height after the chunk. */
  height: number;
  /** Trie nodes written since the chain was opened (nodes are never pruned: the stored state's size). */
  trieNodesWritten: number;
  /** Trie nodes read from LevelDB per tx (both node caches missed). */
  dbNodeReadsPerTx: number;
  /** Decoded-node cache lookups that hit (%), the state managers' trie reads. */
  decodedHitPercent: number;
}

export interface SteadyWorkload {
  name: string;
  /** The first chunk: what a fixed 0-tx warm-up would read. */
  cold: PipelineFigure;
  /** The steady chunks together. */
  steady: PipelineFigure;
  warmupChunks: number;
  /** False when the cap ended the warm-up with the platform threads' CPU still falling. */
  converged: boolean;
  chunks: ChunkRow[];
}

export interface SteadyResults extends PipelineResults {
  steadyOptions: Omit<SteadyOptions, "log">;
  workloads: SteadyWorkload[];
}

/**
 * Whether the platform threads' CPU per tx (one figure per chunk so far) stopped falling: the lowest
 * of the last two chunks is not below the lowest before them by more than 10 % or `tolerance` µs
 * (/proc counts 10 ms ticks per thread: a 1,000-tx chunk reads in steps of 10 µs/tx).
 */
export function platformSettled(perChunk: readonly number[], tolerance: number): boolean {
  const recent = 2;
  if (perChunk.length < recent + 1) return false;
  const before = Math.min(...perChunk.slice(0, -recent));
  const last = Math.min(...perChunk.slice(-recent));
  return last >= before - Math.max(0.1 * before, tolerance);
}

/** Figures of consecutive windows as one window: per-tx fields weighted by txs, counts summed. */
export function mergeFigures(figs: readonly PipelineFigure[]): PipelineFigure {
  if (figs.length === 0) throw new Error("pipeline bench: no figures to merge");
  const n = figs.reduce((s, f) => s + f.txs, 0);
  const avg = (get: (f: PipelineFigure) => number) => round(figs.reduce((s, f) => s + get(f) * f.txs, 0) / n, 0);
  const avgOrNull = (get: (f: PipelineFigure) => number | null) =>
    figs.some((f) => get(f) === null) ? null : avg((f) => get(f) as number);
  const first = figs[0];
  const last = figs[figs.length - 1];
  let threadsMicros: Record<string, number> | null = null;
  if (figs.every((f) => f.threadsMicros !== null)) {
    const groups = new Set(figs.flatMap((f) => Object.keys(f.threadsMicros ?? {})));
    threadsMicros = Object.fromEntries([...groups].map((g) => [g, avg((f) => f.threadsMicros?.[g] ?? 0)]));
  }
  const blocks = figs.reduce((s, f) => s + f.blocks, 0);
  const wallSec = figs.reduce((s, f) => s + f.txs / f.txPerSec, 0);
  return {
    name: first.name,
    txs: n,
    cpuMicros: avg((f) => f.cpuMicros),
    mainThreadMicros: avgOrNull((f) => f.mainThreadMicros),
    stagesMicros: Object.fromEntries(
      Object.keys(first.stagesMicros).map((st) => [st, avg((f) => f.stagesMicros[st as keyof typeof f.stagesMicros])]),
    ) as PipelineFigure["stagesMicros"],
    unstagedMicros: avg((f) => f.unstagedMicros),
    gcPauseMicros: avg((f) => f.gcPauseMicros),
    threadsMicros,
    heapBytesPerTx: avg((f) => f.heapBytesPerTx),
    txPerSec: round(n / wallSec, 0),
    blocks,
    txsPerBlock: round(n / blocks, 1),
    goalMicros: first.goalMicros,
    monotonicMicros: [first.monotonicMicros[0], last.monotonicMicros[1]],
    headFrom: first.headFrom,
    headTo: last.headTo,
  };
}

interface StateCounters {
  dbNodeReads: number;
  decodedGets: number;
  decodedMisses: number;
  nodesWritten: number;
}

/**
 * Counts the trie store's LevelDB reads, decoded-cache lookups and nodes written, by wrapping those
 * three calls on this node's instances (a few ns a call; it adds to the figures, never subtracts).
 */
function probeState(node: InProcessNode): () => StateCounters {
  const c: StateCounters = { dbNodeReads: 0, decodedGets: 0, decodedMisses: 0, nodesWritten: 0 };
  const db = node.db;
  const getNode = db.getNode.bind(db);
  db.getNode = (key) => {
    c.dbNodeReads++;
    return getNode(key);
  };
  const decoded = node.chain.trieStore.decodedNodes;
  const get = decoded.get.bind(decoded);
  decoded.get = (key) => {
    c.decodedGets++;
    const v = get(key);
    if (v === undefined) c.decodedMisses++;
    return v;
  };
  const store = node.chain.trieStore;
  const take = store.takeWrites.bind(store);
  store.takeWrites = () => {
    const taken = take();
    c.nodesWritten += taken.size;
    return taken;
  };
  return () => ({ ...c });
}

function chunkRow(
  chunk: number,
  phase: ChunkRow["phase"],
  f: PipelineFigure,
  s0: StateCounters,
  s1: StateCounters,
): ChunkRow {
  const gets = s1.decodedGets - s0.decodedGets;
  return {
    chunk,
    phase,
    cpuMicros: f.cpuMicros,
    mainThreadMicros: f.mainThreadMicros,
    platformMicros: f.threadsMicros?.[THREAD_GROUPS.v8] ?? null,
    gcPauseMicros: f.gcPauseMicros,
    heapBytesPerTx: f.heapBytesPerTx,
    height: f.headTo,
    trieNodesWritten: s1.nodesWritten,
    dbNodeReadsPerTx: round((s1.dbNodeReads - s0.dbNodeReads) / f.txs, 2),
    decodedHitPercent: gets === 0 ? 100 : round((100 * (gets - (s1.decodedMisses - s0.decodedMisses))) / gets, 1),
  };
}

/**
 * A full GC before a workload: the previous workload's closed chain (its ~48 MB of trie caches among
 * it) is garbage, and the major GC that frees it landed in the next workload's first steady chunk
 * (LEARN after value: 641–1,143 µs/tx against ~360 for its other chunks, in 4 of 4 runs).
 */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** One workload on its own fresh chain in `dir`: warm-up chunks to convergence, then the steady ones. */
async function steadyWorkload(
  dir: string,
  name: string,
  opts: SteadyOptions,
  log: (line: string) => void,
): Promise<{ run: SteadyWorkload; valueReceived: bigint; decodeWorkers: number }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { node, loads } = await openWorkloads(dir, { ...opts, only: [name] });
  try {
    const w = loads.find((l) => l.name === name) as (typeof loads)[number];
    const state = probeState(node);
    const chunks: ChunkRow[] = [];
    const figs: PipelineFigure[] = [];
    const platform: number[] = [];
    const tolerance = (0.01 * 1e6) / opts.chunk; // one 10 ms tick over the chunk
    let warmupChunks = 0;
    let converged = opts.maxWarmupChunks === 0;
    let offset = 0;
    const chunk = async (phase: ChunkRow["phase"]) => {
      const raws = plan(w, offset, opts.chunk); // signed before the clock starts, as a wallet does
      offset += opts.chunk;
      const s0 = state();
      const f = await timed(node, name, raws, opts.batch);
      const row = chunkRow(chunks.length + 1, phase, f, s0, state());
      chunks.push(row);
      figs.push(f);
      platform.push(row.platformMicros ?? f.cpuMicros);
      log(
        `[pipeline] ${name} chunk ${row.chunk} (${phase}): ${row.cpuMicros} µs/tx, main ${row.mainThreadMicros ?? "—"}, platform ${row.platformMicros ?? "—"}, GC ${row.gcPauseMicros}`,
      );
    };
    while (!converged && warmupChunks < opts.maxWarmupChunks) {
      await chunk("warm-up");
      warmupChunks++;
      converged = platformSettled(platform, tolerance);
    }
    const steadyFrom = figs.length;
    for (let i = 0; i < opts.steadyChunks; i++) await chunk("steady");
    let received = 0n;
    if (name === WORKLOAD_NAMES[0]) {
      received = await balancesAtHead(node, recipients(0, offset));
      if (received !== BigInt(offset)) throw new Error(`pipeline bench: ${offset} wei sent, ${received} received`);
    }
    return {
      run: { name, cold: figs[0], steady: mergeFigures(figs.slice(steadyFrom)), warmupChunks, converged, chunks },
      valueReceived: received,
      decodeWorkers: node.decoder.workerCount,
    };
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function pipelineSteadyBench(opts: SteadyOptions): Promise<SteadyResults> {
  const log = opts.log ?? (() => {});
  const names = selectWorkloads(
    WORKLOAD_NAMES.map((name) => ({ name })),
    opts.only,
  ).map((w) => w.name); // a pattern matching nothing fails before any set-up
  const root = join(tmpdir(), `azora-bench-pipeline-steady-${process.pid}`);
  const runs: SteadyWorkload[] = [];
  let valueReceived = 0n;
  let decodeWorkers = 0;
  try {
    for (const [i, name] of names.entries()) {
      collectGarbage();
      log(`[pipeline] ${name}: a fresh chain, ${opts.chunk}-tx chunks…`);
      const r = await steadyWorkload(join(root, String(i)), name, opts, log);
      runs.push(r.run);
      valueReceived += r.valueReceived;
      decodeWorkers = r.decodeWorkers;
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const { log: _log, ...steadyOptions } = opts;
  return {
    date: new Date().toISOString(),
    machine: `${cpus().length}-core ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}`,
    loadavg: loadavg().map((x) => round(x, 2)),
    options: {
      txs: opts.chunk * opts.steadyChunks,
      warmup: -1,
      batch: opts.batch,
      syncWrites: opts.syncWrites,
      ...(opts.only === undefined ? {} : { only: opts.only }),
    },
    steadyOptions,
    decodeWorkers,
    figures: runs.map((r) => r.steady),
    valueReceived: valueReceived.toString(),
    workloads: runs,
  };
}

/** Cold against steady per workload, then every chunk, then the usual table of the steady figures. */
export function steadyTable(r: SteadyResults): string {
  const fmt = (v: number | null) => (v === null ? "—" : v.toLocaleString("en-US"));
  const platform = (f: PipelineFigure) => f.threadsMicros?.[THREAD_GROUPS.v8] ?? null;
  const summary = markdownTable(
    [
      "workload (µs/tx)",
      "cold: process",
      "main",
      "platform",
      "steady: process",
      "main",
      "platform",
      "GC pauses",
      "goal",
      "warm-up chunks",
      "steady chunks: process min–max",
    ],
    r.workloads.map((w) => {
      const steady = w.chunks.filter((c) => c.phase === "steady").map((c) => c.cpuMicros);
      return [
        w.name,
        fmt(w.cold.cpuMicros),
        fmt(w.cold.mainThreadMicros),
        fmt(platform(w.cold)),
        fmt(w.steady.cpuMicros),
        fmt(w.steady.mainThreadMicros),
        fmt(platform(w.steady)),
        fmt(w.steady.gcPauseMicros),
        fmt(w.steady.goalMicros),
        `${w.warmupChunks}${w.converged ? "" : " (cap)"}`,
        `${fmt(Math.min(...steady))}–${fmt(Math.max(...steady))}`,
      ];
    }),
  );
  const chunks = markdownTable(
    [
      "workload",
      "chunk",
      "phase",
      "process",
      "main",
      "platform",
      "GC pauses",
      "heap KB/tx",
      "height",
      "trie nodes written",
      "LevelDB node reads/tx",
      "decoded-node hits %",
    ],
    r.workloads.flatMap((w) =>
      w.chunks.map((c) => [
        w.name,
        String(c.chunk),
        c.phase,
        fmt(c.cpuMicros),
        fmt(c.mainThreadMicros),
        fmt(c.platformMicros),
        fmt(c.gcPauseMicros),
        (c.heapBytesPerTx / 1024).toFixed(1),
        fmt(c.height),
        fmt(c.trieNodesWritten),
        String(c.dbNodeReadsPerTx),
        String(c.decodedHitPercent),
      ]),
    ),
  );
  return `${summary}\n\n${chunks}\n\nSteady figures:\n\n${pipelineTable(r)}`;
}
