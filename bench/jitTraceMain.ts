// CLI of bench/jitTrace.ts: `node dist/bench/jitTraceMain.js <stamped node stdout> <bench result JSON>`.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { benchWindows, jitByWindow } from "./jitTrace.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/jitTraceMain.js <stamped node stdout> <bench result JSON>

Per timed phase of a bench run: the dev node's TurboFan compiles, deopts and GC from its stdout, recorded with
AZORA_BENCH_NODE_FLAGS="--trace-opt --trace-deopt --trace-gc" AZORA_BENCH_NODE_TRACE=<file> (bench/jitTrace.ts).
No options but -h, --help.`;

const { positionals: argv } = parseOrUsage(HELP, () => parseArgs({ options: {}, allowPositionals: true }));
if (argv.length !== 2) {
  console.error(HELP);
  process.exit(2);
}
const windows = benchWindows(JSON.parse(readFileSync(argv[1], "utf8")));
for (const w of jitByWindow(readFileSync(argv[0], "utf8"), windows)) {
  console.log(
    `${w.name} (${w.seconds} s): ${w.compiles} TurboFan compiles (${w.recompiles} again), ${w.compileMs} ms ` +
      `background; ${w.deopts} deopts; ${w.scavenges} scavenges ${w.scavengeMs} ms, ` +
      `${w.markCompacts} mark-compacts ${w.markCompactMs} ms`,
  );
  for (const [name, n, ms] of w.topCompiles) console.log(`  compile ${ms} ms ×${n} ${name}`);
  for (const [key, n] of w.topDeopts) console.log(`  deopt ×${n} ${key}`);
}
