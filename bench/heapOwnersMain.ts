// CLI of bench/heapOwners.ts: `node --max-old-space-size=8000 dist/bench/heapOwnersMain.js <file.heapsnapshot> [top]`.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { heapOwners, type SnapshotGraphJson } from "./heapOwners.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node --max-old-space-size=8000 dist/bench/heapOwnersMain.js <file.heapsnapshot> [top]

Who holds a V8 heap: its live bytes by owner — the nearest dominating object of a specific class, with the field the
bytes hang from ("NodeBackend.headCalls"); plain Objects, Arrays, Maps, typed arrays, closures and V8 internals are
charged to what dominates them. Top 40 rows unless [top]. A snapshot of the bench's dev node:
AZORA_BENCH_NODE_FLAGS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>", then kill -USR2 <node pid>.
No options but -h, --help.`;

const { positionals: argv } = parseOrUsage(HELP, () => parseArgs({ options: {}, allowPositionals: true }));
if (argv.length < 1 || argv.length > 2) {
  console.error(HELP);
  process.exit(2);
}
const r = heapOwners(JSON.parse(readFileSync(argv[0], "utf8")) as SnapshotGraphJson);
const mb = (b: number) => (b / 1048576).toFixed(2).padStart(8);
console.log(`${argv[0]}: ${r.objects} live objects, ${mb(r.totalBytes).trim()} MB`);
for (const o of r.owners.slice(0, Number(argv[1] ?? 40))) console.log(`${mb(o.bytes)} MB  ${o.owner}`);
