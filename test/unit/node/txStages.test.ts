import { describe, expect, it, vi } from "vitest";
import { cpuPerTx } from "../../../bench/nodeCpu.js";
import { createMetrics } from "../../../node/metrics.js";
import { MAX_TX_SECTION_MS, TX_STAGES, TxStageClock } from "../../../node/txStages.js";

/** Burns CPU on this thread (the clock measures process CPU time, so waiting would not count). */
function burn(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

const yieldMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("TxStageClock", () => {
  it("starts every stage at zero", () => {
    const s = new TxStageClock().secondsByStage();
    expect(Object.keys(s)).toEqual([...TX_STAGES]);
    expect(Object.values(s).every((v) => v === 0)).toBe(true);
  });

  it("does not count a nested stage's time again in the enclosing stage", async () => {
    const clock = new TxStageClock();
    await clock.time("block_other", async () => {
      burn(200_000);
      clock.add("decode", 1_000); // a nested section that claims 1 s: more than the whole section took
      burn(200_000);
    });
    const s = clock.secondsByStage();
    expect(s.decode).toBe(1);
    // The enclosing stage keeps only what is left after the nested one, never less than zero.
    expect(s.block_other).toBe(0);
  });

  it("counts work done while a stage awaits to no stage when the wait is marked outside", async () => {
    const clock = new TxStageClock();
    let otherWork = 0;
    await clock.time("persist", async () => {
      await clock.outside(async () => {
        await yieldMacrotask();
        otherWork = burn(2_000_000); // e.g. an RPC request served during the batch write
      });
    });
    const withOutside = clock.secondsByStage().persist;

    const plain = new TxStageClock();
    await plain.time("persist", async () => {
      await yieldMacrotask();
      otherWork += burn(2_000_000);
    });
    expect(otherWork).toBeGreaterThanOrEqual(0);
    expect(plain.secondsByStage().persist).toBeGreaterThan(withOutside);
  });

  it("times one per-transaction section in sampleEvery and counts it for all of them", async () => {
    const clock = new TxStageClock({ sampleEvery: 4 });
    const sampled: boolean[] = [];
    for (let i = 0; i < 8; i++) sampled.push(clock.sampleTx("decode"));
    expect(sampled).toEqual([false, false, false, true, false, false, false, true]);
    // Each site counts on its own: transactions passing two sites are sampled at both, not always at one.
    const perSite = { decode: 0, admission: 0 };
    for (let tx = 0; tx < 8; tx++)
      for (const site of ["decode", "admission"] as const) if (clock.sampleTx(site)) perSite[site]++;
    expect(perSite).toEqual({ decode: 2, admission: 2 });
    clock.addSampled("recover", 0.5);
    expect(clock.secondsByStage().recover).toBeCloseTo(0.002, 9);

    let calls = 0;
    for (let i = 0; i < 4; i++) {
      const r = await clock.timeSampled("admission", async () => {
        calls++;
        burn(100_000);
        return i;
      });
      expect(r).toBe(i);
    }
    expect(calls).toBe(4);
    expect(clock.secondsByStage().admission).toBeGreaterThan(0);
  });

  it("counts a sampled section over MAX_TX_SECTION_MS to no stage, nor to the section around it", async () => {
    const clock = new TxStageClock({ sampleEvery: 4 });
    clock.addSampled("decode", 0.02);
    clock.addSampled("decode", MAX_TX_SECTION_MS * 3); // a GC pause inside one decode: not decode's work
    expect(clock.secondsByStage().decode).toBeCloseTo(0.00008, 9);

    const t0 = performance.now();
    await clock.time("block_other", async () => {
      // Runs while the block section awaits, as a submission does: the enclosing stage must not take it.
      clock.addSampled("decode", 1_000);
      while (performance.now() - t0 < 5) burn(10_000);
    });
    expect(clock.secondsByStage().decode).toBeCloseTo(0.00008, 9);
    expect(clock.secondsByStage().block_other).toBe(0);
  });

  it("reads no clock in sections inside an untimed run, and counts the run's CPU to no stage", async () => {
    const clock = new TxStageClock({ sampleEvery: 1 });
    const reads = vi.spyOn(process, "cpuUsage");
    try {
      await clock.time("persist", async () => {
        await clock.untimed(async () => {
          const before = reads.mock.calls.length;
          await clock.time("execution", async () => burn(2_000_000));
          await clock.outside(yieldMacrotask);
          clock.timeSync("sign", () => burn(10));
          expect(clock.sampleTx("decode")).toBe(false);
          expect(reads.mock.calls.length).toBe(before); // each would be a getrusage over every thread
        });
      });
      // Outside the run the same sections are timed again.
      await clock.time("seal", async () => burn(100_000));
    } finally {
      reads.mockRestore();
    }
    const s = clock.secondsByStage();
    expect(s.execution).toBe(0);
    expect(s.seal).toBeGreaterThan(0);
    expect(clock.secondsByConsensusStage().sign).toBe(0);
    // The 2M-iteration burn inside the run is not the enclosing persist's: compare with the same burn timed.
    const timed = new TxStageClock();
    await timed.time("persist", async () => burn(2_000_000));
    expect(s.persist).toBeLessThan(timed.secondsByStage().persist);
  });

  it("adds synchronous sections as given", () => {
    const clock = new TxStageClock();
    clock.add("recover", 0.25);
    clock.add("recover", 0.25);
    expect(clock.secondsByStage().recover).toBeCloseTo(0.0005, 9);
  });

  it("is exported on /metrics as azora_tx_stage_seconds_total{stage}, the lines the bench reads", async () => {
    const metrics = createMetrics();
    metrics.txStages.add("decode", 5);
    metrics.txStages.add("persist", 250);
    const text = await metrics.register.metrics();
    expect(text).toContain('azora_tx_stage_seconds_total{stage="decode"} 0.005');
    expect(text).toContain('azora_tx_stage_seconds_total{stage="persist"} 0.25');
    expect(text).toContain('azora_tx_stage_seconds_total{stage="block_other"} 0');
  });
});

describe("bench cpuPerTx", () => {
  it("divides the stage deltas by the included txs and leaves the rest of the process CPU to rpc_other", () => {
    const before = { decode: 1, recover: 1, admission: 1, execution: 1, seal: 1, persist: 1, block_other: 1 };
    const after = {
      decode: 1.1,
      recover: 1.05,
      admission: 1.02,
      execution: 1.2,
      seal: 1.1,
      persist: 1.03,
      block_other: 1,
    };
    const r = cpuPerTx(1000, 1, before, { ...after, gc: 0.05 }, 0.75);
    expect(r.totalMicros).toBe(1000);
    // Parts of the total shown apart: the threads besides the main one, and GC pauses (here only after: unknown).
    expect(r.otherThreadsMicros).toBe(250);
    expect(r.gcPauseMicros).toBeNull();
    expect(cpuPerTx(1000, 1, { ...before, gc: 0.25 }, { ...after, gc: 0.3 }).gcPauseMicros).toBe(50);
    expect(r.stagesMicros).toEqual({
      decode: 100,
      recover: 50,
      admission: 20,
      execution: 200,
      seal: 100,
      persist: 30,
      block_other: 0,
      rpc_other: 500,
    });
    expect(cpuPerTx(0, 1, before, after)).toEqual({ totalMicros: null, stagesMicros: null });
    expect(cpuPerTx(10, null, null, null)).toEqual({ totalMicros: null, stagesMicros: null, otherThreadsMicros: null });
  });
});
