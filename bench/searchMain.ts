// `npm run bench:search [-- --docs N --queries N --vectors N --pg-url URL --out FILE]`: the search bench alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { searchBench, searchTable } from "./search.js";

const HELP = `Usage: npm run bench:search -- [--docs N] [--queries N] [--vectors N] [--pg-url URL] [--out FILE]
Azora Search on the package descriptions of apt-cache dumpavail: embedded (SQLite FTS5 + usearch), PostgreSQL
(when --pg-url or AZORA_TEST_PG_URL is set) and MiniSearch in-process (see bench/search.ts).
  --docs N      documents (default 50000)
  --queries N   queries per kind (default 300)
  --vectors N   documents embedded for the hybrid run (default 5000; 0 skips it)
  --pg-url URL  PostgreSQL for the PostgreSQL run
  --out FILE    JSON result (default bench/results/search-latest.json)`;

const { values } = parseArgs({
  options: {
    docs: { type: "string" },
    queries: { type: "string" },
    vectors: { type: "string" },
    "pg-url": { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const result = await searchBench({
  docs: values.docs ? Number(values.docs) : undefined,
  queries: values.queries ? Number(values.queries) : undefined,
  vectors: values.vectors ? Number(values.vectors) : undefined,
  pgUrl: values["pg-url"],
  log: (l) => console.log(l),
});
console.log(`\n${result.date}, ${result.machine}\n`);
console.log(searchTable(result));
const out = resolve(values.out ?? "bench/results/search-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
