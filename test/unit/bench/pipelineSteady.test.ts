import { describe, expect, it } from "vitest";
import type { PipelineFigure } from "../../../bench/pipeline.js";
import { mergeFigures, pipelineSteadyBench, platformSettled, steadyTable } from "../../../bench/pipelineSteady.js";

describe("bench/pipelineSteady: when the warm-up ends", () => {
  it("waits while the platform threads' CPU per tx keeps falling", () => {
    expect(platformSettled([200], 10)).toBe(false);
    expect(platformSettled([200, 120], 10)).toBe(false);
    expect(platformSettled([200, 120, 90], 10)).toBe(false); // the last two are far below the first
    expect(platformSettled([200, 120, 90, 70], 10)).toBe(false); // 70 < 120 − 12: still falling
  });
  it("ends once the last two chunks are within 10 % or one tick of the lowest before them", () => {
    expect(platformSettled([200, 70, 80, 65], 10)).toBe(true); // 65 ≥ 70 − 10
    expect(platformSettled([200, 100, 95, 92], 5)).toBe(true); // 92 ≥ 100 − 10 %
    expect(platformSettled([200, 100, 95, 89], 5)).toBe(false); // 89 < 100 − 10
    expect(platformSettled([60, 60, 70], 10)).toBe(true); // no fall at all
  });
});

function figure(over: Partial<PipelineFigure>): PipelineFigure {
  return {
    name: "Value transfer",
    txs: 1000,
    cpuMicros: 300,
    mainThreadMicros: 200,
    stagesMicros: { decode: 10, recover: 80, admission: 40, execution: 100, seal: 20, persist: 30, block_other: 10 },
    unstagedMicros: 10,
    gcPauseMicros: 50,
    threadsMicros: { "main (JS)": 200, "V8 platform (GC, compile)": 100 },
    heapBytesPerTx: 60_000,
    txPerSec: 1000,
    blocks: 2,
    txsPerBlock: 500,
    goalMicros: 300,
    monotonicMicros: [0, 1_000_000],
    headFrom: 10,
    headTo: 12,
    ...over,
  };
}

describe("bench/pipelineSteady: the steady chunks as one window", () => {
  it("weights per-tx figures by txs and sums counts", () => {
    const m = mergeFigures([
      figure({}),
      figure({
        txs: 3000,
        cpuMicros: 400,
        mainThreadMicros: 240,
        threadsMicros: { "main (JS)": 240, "V8 platform (GC, compile)": 60, "libuv pool (LevelDB, fs)": 40 },
        txPerSec: 500,
        blocks: 6,
        monotonicMicros: [1_000_000, 7_000_000],
        headFrom: 12,
        headTo: 18,
      }),
    ]);
    expect(m.txs).toBe(4000);
    expect(m.cpuMicros).toBe(375); // (300 + 3 × 400) / 4
    expect(m.mainThreadMicros).toBe(230);
    expect(m.threadsMicros).toEqual({
      "main (JS)": 230,
      "V8 platform (GC, compile)": 70,
      "libuv pool (LevelDB, fs)": 30,
    });
    expect(m.txPerSec).toBe(571); // 4000 txs in 1 s + 6 s
    expect([m.blocks, m.txsPerBlock, m.headFrom, m.headTo]).toEqual([8, 500, 10, 18]);
    expect(m.monotonicMicros).toEqual([0, 7_000_000]);
  });
  it("has no main-thread figure when a window has none", () => {
    expect(mergeFigures([figure({}), figure({ mainThreadMicros: null })]).mainThreadMicros).toBeNull();
  });
});

// Not its timing: chunks, phases, a fresh chain per workload, every tx committed.
describe("bench/pipelineSteady: chunks on a fresh chain per workload", () => {
  it("runs warm-up chunks then steady ones on the same set-up state for each workload", async () => {
    const r = await pipelineSteadyBench({
      chunk: 20,
      maxWarmupChunks: 2,
      steadyChunks: 2,
      batch: 10,
      syncWrites: false,
      only: ["value", "learn"],
    });
    expect(r.workloads.map((w) => w.name)).toEqual(["Value transfer", "LEARN transfer (native)"]);
    const [value, learn] = r.workloads;
    // Each workload starts at the same height: its own chain, after the same set-up.
    expect(learn.cold.headFrom).toBe(value.cold.headFrom);
    for (const w of r.workloads) {
      const phases = w.chunks.map((c) => c.phase);
      expect(phases.slice(-2)).toEqual(["steady", "steady"]);
      expect(phases.filter((p) => p === "warm-up")).toHaveLength(w.warmupChunks);
      expect(w.warmupChunks).toBeGreaterThanOrEqual(1);
      expect(w.steady.txs).toBe(40);
      expect(w.cold.txs).toBe(20);
      expect(w.steady.headTo).toBe(w.chunks[w.chunks.length - 1].height);
      // The state grows chunk by chunk: nodes written only go up.
      const written = w.chunks.map((c) => c.trieNodesWritten);
      expect(written).toEqual([...written].sort((a, b) => a - b));
      expect(written[0]).toBeGreaterThan(0);
    }
    // Every value-transfer recipient of every chunk got its 1 wei.
    expect(r.valueReceived).toBe(String(20 * value.chunks.length));
    expect(r.figures).toEqual([value.steady, learn.steady]);
    expect(steadyTable(r)).toMatch(/\| Value transfer +\| +1 \| +warm-up \|/);
  }, 180_000);
});
