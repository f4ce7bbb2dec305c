// `npm run bench:explorer [-- --blocks N --requests N --pg-url URL --out FILE]`: the explorer bench alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { explorerBench, explorerTable } from "./explorer.js";

const HELP = `Usage: npm run bench:explorer -- [--blocks N] [--requests N] [--pg-url URL] [--out FILE]
Azora Explorer: backfill blocks/s and tx/s on SQLite (and PostgreSQL with --pg-url or AZORA_TEST_PG_URL), then API
latency p50/p99 for address and transaction pages (see bench/explorer.ts).
  --blocks N    blocks the dev node makes first (default 1000)
  --requests N  requests per API figure (default 500)
  --pg-url URL  PostgreSQL for the PostgreSQL backfill
  --out FILE    JSON result (default bench/results/explorer-latest.json)`;

const { values } = parseArgs({
  options: {
    blocks: { type: "string" },
    requests: { type: "string" },
    "pg-url": { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const result = await explorerBench({
  blocks: values.blocks ? Number(values.blocks) : undefined,
  requests: values.requests ? Number(values.requests) : undefined,
  pgUrl: values["pg-url"] ?? process.env.AZORA_TEST_PG_URL,
  log: (l) => console.log(l),
});
console.log(`\n${result.date}, ${result.machine}\n`);
console.log(explorerTable(result));
const out = resolve(values.out ?? "bench/results/explorer-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
process.exit(0);
