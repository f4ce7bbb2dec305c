import { describe, expect, it } from "vitest";
import { DEFAULT_WARMUP_TXS, parseArgs, UsageError } from "../../../bench/args.js";
import { warmth } from "../../../bench/report.js";

describe("bench --warmup-txs", () => {
  it("defaults to steady-state figures", () => {
    expect(DEFAULT_WARMUP_TXS).toBeGreaterThan(0);
    expect(parseArgs([])?.warmupTxs).toBe(DEFAULT_WARMUP_TXS);
  });

  it("takes 0 (cold figures of a fresh node) and a count, in both flag forms", () => {
    expect(parseArgs(["--warmup-txs", "0"])?.warmupTxs).toBe(0);
    expect(parseArgs(["--warmup-txs=2500"])?.warmupTxs).toBe(2500);
  });

  it("refuses what is not a non-negative integer", () => {
    for (const v of ["-1", "1.5", "x", ""]) expect(() => parseArgs(["--warmup-txs", v])).toThrow(UsageError);
    expect(() => parseArgs(["--warmup-txs"])).toThrow(UsageError);
  });

  it("runs Anvil in automine only when asked", () => {
    expect(parseArgs([])?.anvilAutomine).toBe(false);
    expect(parseArgs(["--anvil-automine"])?.anvilAutomine).toBe(true);
  });

  it("labels the figures warm or cold", () => {
    expect(warmth(0)).toMatch(/^cold/);
    expect(warmth(1000)).toMatch(/^warm: 1,000 untimed/);
  });
});
