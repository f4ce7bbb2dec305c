// LevelDB's open-file budget (config storage.maxOpenFiles) in isolation: a fresh database filled with --mb of
// random 32-byte keys and incompressible values (the shape of trie nodes), then --reads random point reads over
// all of it, in this process. Reports the mapped table files and their resident bytes (/proc/self/smaps) and
// the CPU per read, so the RSS the budget bounds and what its table-cache misses cost are measured together.
// Run one budget per process (RSS is per process) and interleave: `node dist/bench/levelTables.js --max-open-files 74`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { levelOpenOptions } from "../node/db/chainDb.js";
import { positiveInt, readFlags, UsageError } from "./args.js";
import { mappedFiles, procMemory } from "./soakProc.js";
import { round } from "./stats.js";

const MB = 1024 * 1024;
const VALUE_BYTES = 300;
const HELP = `Usage: node dist/bench/levelTables.js [--max-open-files N] [--mb N] [--reads N]
LevelDB's open-file budget alone: mapped table files, their resident bytes and CPU per random point read.
  --max-open-files N   the budget (config storage.maxOpenFiles; default 74)
  --mb N               MB of random keys and values written first (default 300)
  --reads N            random point reads timed (default 200000)`;

async function main(): Promise<number> {
  const p = { maxOpenFiles: 74, mb: 300, reads: 200_000 };
  const ok = readFlags(process.argv.slice(2), (flag, next) => {
    if (flag === "--max-open-files") p.maxOpenFiles = positiveInt(flag, next(), 1_000_000);
    else if (flag === "--mb") p.mb = positiveInt(flag, next(), 100_000);
    else if (flag === "--reads") p.reads = positiveInt(flag, next());
    else throw new UsageError(`unknown option ${flag}`);
  });
  if (!ok) {
    console.log(HELP);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "azora-leveltables-"));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  try {
    await db.open({ createIfMissing: true, ...levelOpenOptions(p.maxOpenFiles) });
    const count = Math.ceil((p.mb * MB) / VALUE_BYTES);
    const keys = randomBytes(count * 32);
    const keyAt = (i: number) => keys.subarray(i * 32, i * 32 + 32);
    for (let i = 0; i < count; i += 1000) {
      const batch = db.batch();
      for (let j = i; j < Math.min(count, i + 1000); j++) batch.put(keyAt(j), randomBytes(VALUE_BYTES));
      await batch.write();
    }
    const smaps = () => mappedFiles(readFileSync("/proc/self/smaps", "utf8"), ".ldb");
    const afterWrites = smaps();
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < p.reads; r++) {
      const v = await db.get(keyAt(Math.floor(Math.random() * count)));
      if (v === undefined) throw new Error("a written key is missing");
    }
    const cpu = process.cpuUsage(cpu0);
    const afterReads = smaps();
    const tables = readdirSync(dir);
    console.log(
      JSON.stringify({
        maxOpenFiles: p.maxOpenFiles,
        mb: p.mb,
        tablesOnDisk: tables.filter((f) => f.endsWith(".ldb")).length,
        mappedAfterWrites: { files: afterWrites.files, mb: round(afterWrites.rss / MB, 1) },
        mappedAfterReads: { files: afterReads.files, mb: round(afterReads.rss / MB, 1) },
        rssMB: round((procMemory(process.pid)?.rss ?? 0) / MB, 1),
        cpuMicrosPerRead: round((cpu.user + cpu.system) / p.reads, 2),
      }),
    );
    return 0;
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
