// `npm run bench:ai [-- --jobs N --concurrency C --out FILE]`: the AI inference bench alone (see bench/ai.ts).

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { aiBench, aiTable } from "./ai.js";

const HELP = `Usage: npm run bench:ai -- [--jobs N] [--concurrency C] [--out FILE]
Per model (Moonshine tiny, PP-OCRv4, USE-lite, two onnx-proto models): jobs/s and p50/p99 latency through the
worker's handler and calling the model directly, one at a time and with C jobs in flight.
  --jobs N         jobs per one-at-a-time measurement (default 20; concurrent runs use 4N)
  --concurrency C  jobs in flight (default 8)
  --out FILE       JSON result (default bench/results/ai-latest.json)`;

const { values } = parseArgs({
  options: {
    jobs: { type: "string" },
    concurrency: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const result = await aiBench({
  jobs: values.jobs ? Number(values.jobs) : undefined,
  concurrency: values.concurrency ? Number(values.concurrency) : undefined,
  log: (l) => console.log(l),
});
console.log(`\n${result.machine}; ${result.engine}\n`);
console.log(aiTable(result));
console.log(`\nhandler p50 / direct p50: ${JSON.stringify(result.handlerOverhead)}`);
const out = resolve(values.out ?? "bench/results/ai-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
