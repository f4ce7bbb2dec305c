// `npm run bench:search [-- --docs N --queries N --vectors N --pg-url URL --out FILE]`: the search bench alone.
import { benchMain, numberFlag } from "./script.js";
import { searchBench, searchTable } from "./search.js";

await benchMain({
  help: `Usage: npm run bench:search -- [--docs N] [--queries N] [--vectors N] [--pg-url URL] [--out FILE]
Azora Search on the package descriptions of apt-cache dumpavail: embedded (SQLite FTS5 + usearch), PostgreSQL
(when --pg-url or AZORA_TEST_PG_URL is set) and MiniSearch in-process (see bench/search.ts).
  --docs N      documents (default 50000)
  --queries N   queries per kind (default 300)
  --vectors N   documents embedded for the hybrid run (default 5000; 0 skips it)
  --pg-url URL  PostgreSQL for the PostgreSQL run
  --out FILE    JSON result (default bench/results/search-latest.json)`,
  flags: ["docs", "queries", "vectors", "pg-url"],
  out: "bench/results/search-latest.json",
  run: (f, log) =>
    searchBench({
      docs: numberFlag(f.docs),
      queries: numberFlag(f.queries),
      vectors: numberFlag(f.vectors),
      pgUrl: f["pg-url"],
      log,
    }),
  heading: (r) => `${r.date}, ${r.machine}`,
  table: searchTable,
});
