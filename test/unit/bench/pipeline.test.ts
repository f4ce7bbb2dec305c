import { describe, expect, it } from "vitest";
import { parseArgs } from "../../../bench/args.js";
import { cpuTable } from "../../../bench/nodeCpu.js";
import { pipelineBench, pipelineCpuRows, selectWorkloads, WORKLOAD_NAMES } from "../../../bench/pipeline.js";

// Not its timing: that the in-process pipeline commits every tx it admits, for every workload.
describe("bench/pipeline: admission to commit, in process", () => {
  it("commits every admitted tx of each workload with status 1, in blocks the head advanced through", async () => {
    const r = await pipelineBench({ txs: 50, warmup: 8, batch: 20, syncWrites: false });
    expect(r.figures.map((f) => f.name)).toEqual([
      "Value transfer",
      "ERC-20 transfer (OZ)",
      "LEARN transfer (native)",
      "NFT mint (native)",
      "NFT mint (OZ)",
    ]);
    for (const f of r.figures) {
      expect(f.txs).toBe(50);
      // 50 txs admitted 20 at a time: at least 3 blocks, each one more height.
      expect(f.blocks).toBeGreaterThanOrEqual(3);
      expect(f.headTo - f.headFrom).toBe(f.blocks);
      expect(f.cpuMicros).toBeGreaterThan(0);
    }
    // Each of the 50 fresh recipients of the timed value transfers received its 1 wei.
    expect(r.valueReceived).toBe("50");
    // In the full bench's CPU table, each row carries its workload's goal.
    const table = cpuTable(pipelineCpuRows(r));
    expect(table).toMatch(/\| Value transfer: admission → commit, in-process +\| +[\d,]+ \| +— \| +300 \|/);
    expect(table).toMatch(/\| LEARN transfer \(native\): admission → commit, in-process +\| +[\d,]+ \| +— \| +150 \|/);
  }, 120_000);
});

describe("bench --no-pipeline", () => {
  it("runs the in-process pipeline phase by default, and skips it when asked", () => {
    expect(parseArgs([])?.pipeline).toBe(true);
    expect(parseArgs(["--no-pipeline"])?.pipeline).toBe(false);
  });
});

describe("bench/pipeline --only", () => {
  const all = [...WORKLOAD_NAMES];
  const names = (only?: string[]) =>
    selectWorkloads(
      all.map((name) => ({ name })),
      only,
    ).map((w) => w.name);
  it("keeps the workloads whose names contain a pattern, case-insensitive, in the bench's order", () => {
    expect(names()).toEqual(all);
    expect(names(["learn"])).toEqual(["LEARN transfer (native)"]);
    expect(names(["MINT", "value"])).toEqual(["Value transfer", "NFT mint (native)", "NFT mint (OZ)"]);
    expect(names(["native"])).toEqual(["LEARN transfer (native)", "NFT mint (native)"]);
  });
  it("refuses a pattern that matches nothing, or none at all", () => {
    expect(() => names(["learn", "swap"])).toThrow(/--only swap matches no workload/);
    expect(() => names([""])).toThrow(/matches no workload/);
  });
});
