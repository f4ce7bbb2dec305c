// `npm run bench:storage [-- --requests N --concurrency C --out FILE]`: the storage gateway bench alone (the
// script loads the Promise.withResolvers polyfill with --import, as Helia on Node 20 needs).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { storageBench, storageTable } from "./storage.js";

const HELP = `Usage: npm run bench:storage -- [--requests N] [--concurrency C] [--segments S] [--out FILE]
The IPFS gateway (azora storage serve) against @fastify/static serving the same files: time to first byte and
MB/s for ~1 MB segments, 1 MiB ranges of a 64 MiB file, and that file whole (see bench/storage.ts).
  --requests N     requests per measurement (default 200; the concurrent segment run uses 4N)
  --concurrency C  requests in flight for the concurrent runs (default 8)
  --segments S     distinct ~1 MB segments (default 32)
  --out FILE       JSON result (default bench/results/storage-latest.json)`;

const { values } = parseArgs({
  options: {
    requests: { type: "string" },
    concurrency: { type: "string" },
    segments: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const result = await storageBench({
  requests: values.requests ? Number(values.requests) : undefined,
  concurrency: values.concurrency ? Number(values.concurrency) : undefined,
  segments: values.segments ? Number(values.segments) : undefined,
  log: (l) => console.log(l),
});
console.log(`\n${result.date}, ${result.machine}\n`);
console.log(storageTable(result));
const out = resolve(values.out ?? "bench/results/storage-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
