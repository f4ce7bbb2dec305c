// `npm run bench:ai [-- --jobs N --concurrency C --out FILE]`: the AI inference bench alone (see bench/ai.ts).
import { aiBench, aiTable } from "./ai.js";
import { benchMain, numberFlag } from "./script.js";

await benchMain({
  help: `Usage: npm run bench:ai -- [--jobs N] [--concurrency C] [--out FILE]
Per model (Moonshine tiny, PP-OCRv4, USE-lite, two onnx-proto models): jobs/s and p50/p99 latency through the
worker's handler and calling the model directly, one at a time and with C jobs in flight.
  --jobs N         jobs per one-at-a-time measurement (default 20; concurrent runs use 4N)
  --concurrency C  jobs in flight (default 8)
  --out FILE       JSON result (default bench/results/ai-latest.json)`,
  flags: ["jobs", "concurrency"],
  out: "bench/results/ai-latest.json",
  run: (f, log) => aiBench({ jobs: numberFlag(f.jobs), concurrency: numberFlag(f.concurrency), log }),
  heading: (r) => `${r.machine}; ${r.engine}`,
  table: (r) => `${aiTable(r)}\n\nhandler p50 / direct p50: ${JSON.stringify(r.handlerOverhead)}`,
});
