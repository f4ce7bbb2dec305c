import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../utils/devnode.js";

/**
 * Every bench entry point run directly (README.md, bench/README.md) answers `--help` from dist/ with its usage and
 * exit 0 before doing any work. Not listed: modules other benches import, and the child scripts they spawn with
 * positional arguments (staticServer.js, network/forward.js, network/relay.js).
 */
const ENTRY_POINTS = [
  "run",
  "aiMain",
  "auth",
  "explorerMain",
  "mailMain",
  "pipelineMain",
  "searchMain",
  "storageMain",
  "viemMain",
  "consensusDiskSyncs",
  "dbCheck",
  "evmFrameLevers",
  "heights",
  "httpFloor",
  "jitTraceMain",
  "keccakFloor",
  "levelTables",
  "mempoolHeads",
  "meteredWorker",
  "nftGrowth",
  "pushMain",
  "receiptFormat",
  "receiptHold",
  "receiptPolls",
  "recoverFloor",
  "soak",
  "transportFloor",
  "network/chaos",
  "network/gossipCpu",
  "network/run",
];

/** The ones that parse with bench/usage.ts's parseOrUsage: an unknown flag is exit 2 with the usage. */
const STRICT = [
  "consensusDiskSyncs",
  "evmFrameLevers",
  "jitTraceMain",
  "mempoolHeads",
  "meteredWorker",
  "nftGrowth",
  "receiptHold",
  "transportFloor",
  "network/gossipCpu",
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(entry: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // The time bound only stops a bench that ignored the flag and started its work; a usage is printed at once.
    execFile(
      process.execPath,
      [join(REPO_ROOT, "dist/bench", `${entry}.js`), ...args],
      { cwd: REPO_ROOT, timeout: 45_000, killSignal: "SIGKILL" },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout, stderr }),
    );
  });
}

describe("bench entry points' --help", () => {
  // `-h` once per parser (args.ts's readFlags, bench/usage.ts, bench/args.ts of `npm run bench`): each process costs
  // ~0.5 s of CPU, and the parsers treat the two spellings alike.
  const SHORT = ["heights", "mempoolHeads", "run"];
  it.each([...ENTRY_POINTS.map((e) => [e, "--help"] as const), ...SHORT.map((e) => [e, "-h"] as const)])(
    "%s %s prints its usage and exits 0",
    async (entry, flag) => {
      const r = await run(entry, [flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: /);
      if (entry !== "jitTraceMain") expect(r.stdout).toMatch(/default/); // its flags with their defaults
    },
  );

  it.each(STRICT)("%s refuses an unknown flag with the usage, exit 2", async (entry) => {
    const r = await run(entry, ["--no-such-flag"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--no-such-flag/);
    expect(r.stderr).toMatch(/Usage: /);
  });
});
