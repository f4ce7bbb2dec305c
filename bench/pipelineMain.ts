// `node dist/bench/pipelineMain.js [--mode steady|fixed] …`: admission to commit, in process, alone
// (bench/pipeline.ts; the steady mode is bench/pipelineSteady.ts).

import { nonNegativeInt, positiveInt, UsageError } from "./args.js";
import { DEFAULT_PIPELINE_OPTIONS as D, type PipelineResults, pipelineBench, pipelineTable } from "./pipeline.js";
import { pipelineSteadyBench, DEFAULT_STEADY_OPTIONS as S, type SteadyResults, steadyTable } from "./pipelineSteady.js";
import { benchMain } from "./script.js";

const FIXED_ONLY = ["txs", "warmup", "heap-prof"] as const;
const STEADY_ONLY = ["chunk", "max-warmup-chunks", "steady-chunks"] as const;

await benchMain<string, PipelineResults | SteadyResults>({
  help: `Usage: node dist/bench/pipelineMain.js [--mode steady|fixed] [--chunk N] [--max-warmup-chunks N]
       [--steady-chunks N] [--txs N] [--warmup N] [--batch N] [--sync 0|1] [--only NAMES] [--out FILE]
Per-node CPU per transaction, admission to commit, in process (issue 14's goal): a single-validator chain on
LevelDB in a temp dir, pre-signed raw txs decoded, recovered and admitted as eth_sendRawTransaction does, blocks
made by the dev node's producer until the pool is empty; µs/tx from process CPU time, split by the node's stages.
  --mode steady  (default) each workload on a fresh chain, in chunks: warm-up chunks until the V8 platform
              threads' CPU per tx stops falling (the lowest of the last two chunks within 10 % or one 10 ms
              tick of the lowest before), at most --max-warmup-chunks, then --steady-chunks timed chunks, whose
              sum is the figure; prints the first ("cold") chunk beside it and every chunk with the state's
              growth (trie nodes written, LevelDB node reads/tx, decoded-node cache hits)
  --chunk N   txs per chunk (default ${S.chunk})
  --max-warmup-chunks N  (default ${S.maxWarmupChunks}; 0: no warm-up, every chunk steady — to watch a long run)
  --steady-chunks N  (default ${S.steadyChunks})
  --mode fixed  the earlier mode: one chain, the workloads in turn, each --warmup untimed txs then --txs timed
              (implied when --txs, --warmup or --heap-prof is given without --mode)
  --txs N     fixed: timed txs per workload (default ${D.txs})
  --warmup N  fixed: untimed txs per workload first (default ${D.warmup})
  --heap-prof DIR  fixed: a sampling heap profile of each workload's timed window, collected objects kept, as
              DIR/<workload>.heapprofile: where "heap KB/tx" is allocated (this run's µs are not comparable)
  --batch N   txs admitted before blocks are made; the largest block (default ${D.batch})
  --sync 0|1  LevelDB writes synced per block, as the node's storage.syncWrites (default 1)
  --only NAMES  only the workloads whose names contain one of these comma-separated words, case-insensitive
              (value, erc-20, learn, native, oz, mint…; default all): to profile one workload (--cpu-prof)
  --out FILE  JSON result (default bench/results/pipeline-latest.json)`,
  flags: ["mode", ...FIXED_ONLY, ...STEADY_ONLY, "batch", "sync", "only"],
  out: "bench/results/pipeline-latest.json",
  run: (f, log) => {
    // Without --mode, a fixed-only flag (--txs, --warmup, --heap-prof) means the fixed mode, so the commands
    // written before the steady mode existed still run as they did.
    const mode = f.mode ?? (FIXED_ONLY.some((k) => f[k] !== undefined) ? "fixed" : "steady");
    if (mode !== "steady" && mode !== "fixed") throw new UsageError(`--mode ${mode}: steady or fixed`);
    const other = mode === "steady" ? FIXED_ONLY : STEADY_ONLY;
    const stray = other.filter((k) => f[k] !== undefined);
    if (stray.length > 0) throw new UsageError(`--${stray.join(", --")}: not with --mode ${mode}`);
    const common = {
      batch: f.batch === undefined ? D.batch : positiveInt("--batch", f.batch),
      syncWrites: f.sync === undefined ? D.syncWrites : f.sync !== "0",
      only: f.only?.split(","),
      log,
    };
    if (mode === "steady") {
      return pipelineSteadyBench({
        ...common,
        chunk: f.chunk === undefined ? S.chunk : positiveInt("--chunk", f.chunk),
        maxWarmupChunks:
          f["max-warmup-chunks"] === undefined
            ? S.maxWarmupChunks
            : nonNegativeInt("--max-warmup-chunks", f["max-warmup-chunks"]),
        steadyChunks:
          f["steady-chunks"] === undefined ? S.steadyChunks : positiveInt("--steady-chunks", f["steady-chunks"]),
      });
    }
    return pipelineBench({
      ...common,
      txs: f.txs === undefined ? D.txs : positiveInt("--txs", f.txs),
      warmup: f.warmup === undefined ? D.warmup : nonNegativeInt("--warmup", f.warmup),
      heapProfileDir: f["heap-prof"],
    });
  },
  heading: (r) =>
    `${r.date}, ${r.machine}, load ${r.loadavg.join(" ")}, decode workers ${r.decodeWorkers}${"workloads" in r ? ", steady mode" : ""}`,
  table: (r) => ("workloads" in r ? steadyTable(r) : pipelineTable(r)),
});
