import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { benchWindows, copyStampedLines, jitByWindow } from "../../../bench/jitTrace.js";

// Lines as Node 20's V8 (11.3) prints them with --trace-opt --trace-deopt --trace-gc, stamped by copyStampedLines.
// Anonymous functions print without a name: `<JSFunction (sfi = …)>`.
const compiled = (sfi: string, name: string, ms: number) =>
  `[completed compiling 0x1637f24f0b59 <JSFunction ${name === "" ? "" : `${name} `}(sfi = ${sfi})> (target TURBOFAN) - took 0.007, ${ms}, 0.183 ms]`;
const TRACE = [
  `1000 ${compiled("0xaa", "writeBlock", 250)}`,
  `2000 ${compiled("0xbb", "flush", 200)}`,
  `2100 [compiling method 0x190fdf114ac1 <JSFunction flush (sfi = 0xbb)> (target TURBOFAN), mode: ConcurrencyMode::kConcurrent]`,
  `2500 [bailout (kind: deopt-eager, reason: wrong map): begin. deoptimizing 0x1637f24f0b59 <JSFunction writeBlock (sfi = 0xaa)>, 0x36c0cc159949 <Code TURBOFAN>, opt id 339]`,
  `2600 ${compiled("0xaa", "writeBlock", 76)}`,
  `2700 ${compiled("0xcc", "", 3)}`,
  `2750 [bailout (kind: deopt-eager, reason: Insufficient type feedback for call): begin. deoptimizing 0x3d9cc07a0bb1 <JSFunction (sfi = 0x2635e8d49661)>, 0x1a000ece94a9 <Code TURBOFAN>, opt id 7]`,
  `2800 [23950:0xdcb5120]      160 ms: Scavenge 4.9 (6.0) -> 4.5 (6.5) MB, 8.52 / 0.01 ms  (average mu = 1.000, current mu = 1.000) allocation failure; `,
  `2900 [23950:0xdcb5120]     5160 ms: Mark-Compact 90.1 (120.0) -> 60.5 (110.5) MB, 40.25 / 0.01 ms  (average mu = 0.9) finalize incremental marking via task; GC in old space requested`,
  `3100 ${compiled("0xdd", "late", 9)}`,
].join("\n");

describe("bench jitTrace: V8's compile/deopt/GC lines per timed window", () => {
  it("counts only what arrived inside each window, and tells recompiles from first compiles", () => {
    const [w] = jitByWindow(TRACE, [{ name: "value", startMs: 1500, endMs: 3000 }]);
    expect(w).toMatchObject({ seconds: 1.5, compiles: 3, recompiles: 1, compileMs: 279, deopts: 2 });
    expect(w).toMatchObject({ scavenges: 1, scavengeMs: 8.5, markCompacts: 1, markCompactMs: 40.3 });
    expect(w.topCompiles).toEqual([
      ["flush", 1, 200],
      ["writeBlock", 1, 76],
      ["(anonymous)", 1, 3],
    ]);
    expect(w.topDeopts).toEqual([
      ["writeBlock: wrong map", 1],
      ["(anonymous): Insufficient type feedback for call", 1],
    ]);
  });

  it("reads the windows from the bench's JSON (phases and ledger phases with CPU bounds)", () => {
    const cpu = (a: number, b: number) => ({ cpu: { startedAtMs: a, endedAtMs: b } });
    const ws = benchWindows({
      results: { azora: { phases: { value: cpu(1, 2), erc20: null }, ledger: { learnTransfers: cpu(3, 4) } } },
    });
    expect(ws).toEqual([
      { name: "value", startMs: 1, endMs: 2 },
      { name: "learnTransfers", startMs: 3, endMs: 4 },
    ]);
  });

  it("stamps each line of the node's stdout, across chunk boundaries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jittrace-"));
    try {
      const file = join(dir, "out");
      const s = new PassThrough();
      const closed = once(copyStampedLines(s, file), "close");
      s.write("first li");
      s.write("ne\nsecond\nthi");
      s.end("rd");
      await closed;
      const lines = readFileSync(file, "utf8").trimEnd().split("\n");
      expect(lines.map((l) => l.replace(/^\d+ /, ""))).toEqual(["first line", "second", "third"]);
      for (const l of lines) expect(l).toMatch(/^\d{13} /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
