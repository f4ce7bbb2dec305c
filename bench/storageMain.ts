// `npm run bench:storage [-- --requests N --concurrency C --out FILE]`: the storage gateway bench alone (the
// script loads the Promise.withResolvers polyfill with --import, as Helia on Node 20 needs).
import { benchMain, numberFlag } from "./script.js";
import { storageBench, storageTable } from "./storage.js";

await benchMain({
  help: `Usage: npm run bench:storage -- [--requests N] [--concurrency C] [--segments S] [--out FILE]
The IPFS gateway (azora storage serve) against @fastify/static serving the same files: time to first byte and
MB/s for ~1 MB segments, 1 MiB ranges of a 64 MiB file, and that file whole (see bench/storage.ts).
  --requests N     requests per measurement (default 200; the concurrent segment run uses 4N)
  --concurrency C  requests in flight for the concurrent runs (default 8)
  --segments S     distinct ~1 MB segments (default 32)
  --out FILE       JSON result (default bench/results/storage-latest.json)`,
  flags: ["requests", "concurrency", "segments"],
  out: "bench/results/storage-latest.json",
  run: (f, log) =>
    storageBench({
      requests: numberFlag(f.requests),
      concurrency: numberFlag(f.concurrency),
      segments: numberFlag(f.segments),
      log,
    }),
  heading: (r) => `${r.date}, ${r.machine}`,
  table: storageTable,
});
