// CLI of bench/jitTrace.ts: `node dist/bench/jitTraceMain.js <stamped node stdout> <bench result JSON>`.
import { readFileSync } from "node:fs";
import { benchWindows, jitByWindow } from "./jitTrace.js";

const argv = process.argv.slice(2);
if (argv.length !== 2) {
  console.error("usage: node dist/bench/jitTraceMain.js <stamped node stdout> <bench result JSON>");
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
