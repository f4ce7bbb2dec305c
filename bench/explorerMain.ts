// `npm run bench:explorer [-- --blocks N --tx-blocks N --requests N --page-loads N --pg-url URL --out FILE]`: the
// explorer bench alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { explorerBench, explorerTable } from "./explorer.js";

const HELP = `Usage: npm run bench:explorer -- [--blocks N] [--tx-blocks N] [--requests N] [--page-loads N]
                                    [--pg-url URL] [--chromium PATH] [--out FILE]
Azora Explorer: a dev node makes a chain, a fresh explorer backfills it on SQLite (and PostgreSQL with --pg-url or
AZORA_TEST_PG_URL) — blocks/s and tx/s — then API latency p50/p99 for address and transaction pages, then page
load time in headless Chromium for the home, block, transaction and address pages (see bench/explorer.ts).
  --blocks N      blocks in the chain (default 1000; e.g. 100000 for the figure at scale)
  --tx-blocks N   of which made by a burst of 24 transfers each (default 1000, at most --blocks); the others are
                  empty blocks mined with anvil_mine, spread evenly between the bursts
  --requests N    requests per API figure (default 500)
  --page-loads N  navigations per page in Chromium (default 30; 0 skips the browser)
  --pg-url URL    PostgreSQL for the PostgreSQL backfill
  --chromium PATH Chromium binary (default /usr/bin/chromium; skipped when missing)
  --out FILE      JSON result (default bench/results/explorer-latest.json)`;

const { values } = parseArgs({
  options: {
    blocks: { type: "string" },
    "tx-blocks": { type: "string" },
    requests: { type: "string" },
    "page-loads": { type: "string" },
    chromium: { type: "string" },
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
  txBlocks: values["tx-blocks"] ? Number(values["tx-blocks"]) : undefined,
  requests: values.requests ? Number(values.requests) : undefined,
  pageLoads: values["page-loads"] !== undefined ? Number(values["page-loads"]) : undefined,
  chromium: values.chromium,
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
