// `node dist/bench/pipelineMain.js [--txs N --warmup N --batch N --sync 0|1 --only NAMES --heap-prof DIR --out FILE]`: admission to commit,
// in process, alone (see bench/pipeline.ts).

import { nonNegativeInt, positiveInt } from "./args.js";
import { DEFAULT_PIPELINE_OPTIONS as D, pipelineBench, pipelineTable } from "./pipeline.js";
import { benchMain } from "./script.js";

await benchMain({
  help: `Usage: node dist/bench/pipelineMain.js [--txs N] [--warmup N] [--batch N] [--sync 0|1] [--only NAMES] [--out FILE]
Per-node CPU per transaction, admission to commit, in process (issue 14's goal): a single-validator chain on
LevelDB in a temp dir, pre-signed raw txs decoded, recovered and admitted as eth_sendRawTransaction does, blocks
made by the dev node's producer until the pool is empty; µs/tx from process CPU time, split by the node's stages.
  --txs N     timed txs per workload (default ${D.txs})
  --warmup N  untimed txs per workload first (default ${D.warmup})
  --batch N   txs admitted before blocks are made; the largest block (default ${D.batch})
  --sync 0|1  LevelDB writes synced per block, as the node's storage.syncWrites (default 1)
  --only NAMES  only the workloads whose names contain one of these comma-separated words, case-insensitive
              (value, erc-20, learn, native, oz, mint…; default all): to profile one workload (--cpu-prof)
  --heap-prof DIR  a sampling heap profile of each workload's timed window, collected objects kept, as
              DIR/<workload>.heapprofile: where "heap KB/tx" is allocated (this run's µs are not comparable)
  --out FILE  JSON result (default bench/results/pipeline-latest.json)`,
  flags: ["txs", "warmup", "batch", "sync", "only", "heap-prof"],
  out: "bench/results/pipeline-latest.json",
  run: (f, log) =>
    pipelineBench({
      txs: f.txs === undefined ? D.txs : positiveInt("--txs", f.txs),
      warmup: f.warmup === undefined ? D.warmup : nonNegativeInt("--warmup", f.warmup),
      batch: f.batch === undefined ? D.batch : positiveInt("--batch", f.batch),
      syncWrites: f.sync === undefined ? D.syncWrites : f.sync !== "0",
      only: f.only?.split(","),
      heapProfileDir: f["heap-prof"],
      log,
    }),
  heading: (r) => `${r.date}, ${r.machine}, load ${r.loadavg.join(" ")}, decode workers ${r.decodeWorkers}`,
  table: pipelineTable,
});
