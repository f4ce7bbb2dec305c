import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../../node/config.js";
import { applyScavengeThreads, DEFAULT_GC_PARALLEL_SCAVENGE, scavengeFlag } from "../../../node/scavengeThreads.js";

const ROOT = resolve(import.meta.dirname, "../../..");

describe("config gcParallelScavenge (V8's scavenges on the main thread only)", () => {
  it("defaults to true (V8's own split) and takes a boolean from the file", () => {
    expect(DEFAULT_GC_PARALLEL_SCAVENGE).toBe(true);
    expect(resolveConfig(undefined, {}).gcParallelScavenge).toBe(true);
    expect(resolveConfig({ gcParallelScavenge: true }, {}).gcParallelScavenge).toBe(true);
    expect(resolveConfig({ gcParallelScavenge: false }, {}).gcParallelScavenge).toBe(false);
    for (const bad of [0, 1, "true", null]) {
      expect(() => resolveConfig({ gcParallelScavenge: bad }, {})).toThrow(ConfigError);
    }
  });

  it("sets V8's flag only when scavenges stay on the main thread", () => {
    const set: string[] = [];
    applyScavengeThreads(false, (f) => set.push(f));
    applyScavengeThreads(true, (f) => set.push(f));
    expect(set).toEqual(["--no-parallel-scavenge"]);
    expect(scavengeFlag(true)).toBeNull();
  });
});

/**
 * Short-lived garbage with a survivor set each scavenge has to copy (so V8 would split the copying),
 * after the setting was applied at run time, as the node applies it. Run with `--trace-gc-nvp`: one
 * line per GC, with the time V8's platform threads spent in the scavenge.
 */
const CHILD = `
import { applyScavengeThreads } from ${JSON.stringify(join(ROOT, "node/scavengeThreads.ts"))};
applyScavengeThreads(process.argv[2] === "true");
console.log("applied");
const ring = new Array(50_000);
for (let k = 0; k < 1_500_000; k++) ring[k % ring.length] = { a: [k, k + 1], s: "k" + (k & 1023) };
console.log("done " + ring.length);
`;

describe("applyScavengeThreads keeps V8's platform threads out of scavenges (a child process)", () => {
  it("reports no background scavenge time in any scavenge once applied at run time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azora-scavenge-"));
    try {
      const script = join(dir, "child.mts");
      await writeFile(script, CHILD);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--trace-gc-nvp", "--import", "tsx", script, "false"],
        { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      );
      // Only the scavenges after the flag was set (tsx's own start-up scavenges come before it).
      const background = stdout
        .slice(stdout.indexOf("applied"))
        .split("\n")
        .filter((l) => l.includes("gc=s ") && l.includes("background.scavenge.parallel="))
        .map((l) => Number(/background\.scavenge\.parallel=([0-9.]+)/.exec(l)?.[1]));
      expect(stdout).toContain("done 50000");
      expect(background.length).toBeGreaterThan(5);
      expect(background.every((ms) => ms === 0)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
