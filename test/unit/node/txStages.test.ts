import { describe, expect, it } from "vitest";
import { TX_STAGES, TxStageClock } from "../../../node/txStages.js";

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

  it("times a per-transaction section on the wall clock, minus what nested stages charged", async () => {
    const clock = new TxStageClock();
    const result = await clock.timeWall("admission", async () => {
      clock.add("decode", 1_000);
      return 42;
    });
    expect(result).toBe(42);
    expect(clock.secondsByStage().admission).toBe(0);
    await clock.timeWall("admission", async () => {
      burn(100_000);
    });
    expect(clock.secondsByStage().admission).toBeGreaterThan(0);
  });

  it("adds synchronous sections as given", () => {
    const clock = new TxStageClock();
    clock.add("recover", 0.25);
    clock.add("recover", 0.25);
    expect(clock.secondsByStage().recover).toBeCloseTo(0.0005, 9);
  });
});
