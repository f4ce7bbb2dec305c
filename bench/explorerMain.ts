// `npm run bench:explorer [-- --blocks N --tx-blocks N --requests N --page-loads N --pg-url URL --out FILE]`: the
// explorer bench alone.
import { explorerBench, explorerTable } from "./explorer.js";
import { benchMain, numberFlag } from "./script.js";

await benchMain({
  help: `Usage: npm run bench:explorer -- [--blocks N] [--tx-blocks N] [--requests N] [--page-loads N]
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
  --out FILE      JSON result (default bench/results/explorer-latest.json)`,
  flags: ["blocks", "tx-blocks", "requests", "page-loads", "chromium", "pg-url"],
  out: "bench/results/explorer-latest.json",
  run: (f, log) =>
    explorerBench({
      blocks: numberFlag(f.blocks),
      txBlocks: numberFlag(f["tx-blocks"]),
      requests: numberFlag(f.requests),
      pageLoads: numberFlag(f["page-loads"]),
      chromium: f.chromium,
      pgUrl: f["pg-url"] ?? process.env.AZORA_TEST_PG_URL,
      log,
    }),
  heading: (r) => `${r.date}, ${r.machine}`,
  table: explorerTable,
});
