import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputTensor } from "../../../ai-oracle/engine/encodedRun.js";
import { createONNXSession, type EngineSession, inThreadSession, Tensor } from "../../../ai-oracle/engine/session.js";
import { decodeTensors, encodeTensors } from "../../../ai-oracle/engine/tensorContainer.js";
import { InferencePool } from "../../../ai-oracle/engine/threadPool.js";
import { AIError, AIErrorCode } from "../../../ai-oracle/errors.js";
import { buildMatMulStack, buildMLP } from "../../../bench/onnxModels.js";
import { monoUs } from "../../../services/runtime/callTrace.js";
import { sha256Hex } from "../../../services/runtime/content/cid.js";

// A small matmul stack: same kind of graph as the bench's 10 ms job, a few ms here.
const MODEL = buildMatMulStack({ rows: 8, width: 64, layers: 3, seed: 7 });

function randomInput(seed: number, rows = 8): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: rows * 64 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

const bytesOf = (t: { data: unknown }) => {
  const v = t.data as Float32Array;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
};

describe("InferencePool (onnxruntime sessions in worker threads)", () => {
  let pool: InferencePool;
  let pooled: EngineSession;

  beforeAll(async () => {
    pool = new InferencePool({ threads: 2 });
    pooled = await pool.createSession(MODEL);
  }, 60_000);

  afterAll(async () => {
    await pool.close();
  });

  it("gives the same output bytes as an in-thread session on random inputs, with and without moving buffers", async () => {
    const local = await createONNXSession(MODEL);
    try {
      expect(pooled.inputNames).toEqual(local.inputNames);
      expect(pooled.outputNames).toEqual(local.outputNames);
      expect(pooled.inputMetadata).toEqual(local.inputMetadata);
      for (let seed = 1; seed <= 12; seed++) {
        const x = randomInput(seed * 977);
        const want = await local.run({ x: new Tensor("float32", x, [1, 8, 64]) });
        const copied = await pooled.run({ x: new Tensor("float32", x, [1, 8, 64]) });
        expect(x.length).toBe(8 * 64); // not given away: the caller's array is intact
        // a view at an offset into a larger buffer, given away: the thread rebuilds the same view
        const big = new Float32Array(8 * 64 + 3);
        big.set(x, 3);
        const moved = await pooled.run({ x: new Tensor("float32", big.subarray(3), [1, 8, 64]) }, { giveAway: true });
        expect(big.length).toBe(0); // detached: moved, not copied
        for (const { outputs: out, modelMs } of [copied, moved]) {
          expect(modelMs).toBeGreaterThan(0); // the thread's own run time came back with the outputs
          expect(Object.keys(out)).toEqual(Object.keys(want));
          expect(out.y.dims).toEqual(want.y.dims);
          expect(bytesOf(out.y).equals(bytesOf(want.y))).toBe(true);
        }
      }
    } finally {
      await local.release();
    }
  }, 60_000);

  it("runEncoded: the thread's AZT1 container and sha256 equal encoding and hashing an in-thread run", async () => {
    const local = await createONNXSession(MODEL);
    const inThread = inThreadSession(await createONNXSession(MODEL));
    try {
      for (let seed = 1; seed <= 12; seed++) {
        const x = randomInput(seed * 7919);
        const want = await local.run({ x: new Tensor("float32", x, [1, 8, 64]) });
        const wantBytes = encodeTensors([outputTensor("y", want.y)]);
        const feeds = () => ({ x: new Tensor("float32", Float32Array.from(x), [1, 8, 64]) });
        for (const s of [pooled, inThread]) {
          const before = monoUs();
          const r = await s.runEncoded(feeds(), { giveAway: seed % 2 === 0, outputs: ["y"] });
          const after = monoUs();
          expect(Buffer.from(r.bytes).equals(Buffer.from(wantBytes))).toBe(true);
          expect(r.sha256).toBe(sha256Hex(wantBytes));
          expect(r.modelMs).toBeGreaterThan(0);
          // the run's end on the machine's one monotonic clock, taken in whichever thread ran it
          expect(r.modelEndUs! - r.modelMs * 1e3).toBeGreaterThanOrEqual(before);
          expect(r.modelEndUs).toBeLessThanOrEqual(after);
        }
      }
      // a bad input fails that call only
      const bad = pooled.runEncoded(
        { x: new Tensor("float32", new Float32Array(5 * 63), [1, 5, 63]) },
        { outputs: ["y"] },
      );
      await expect(bad).rejects.toThrow(/./);
      const ok = await pooled.runEncoded({ x: new Tensor("float32", randomInput(3), [1, 8, 64]) }, { outputs: ["y"] });
      expect(decodeTensors(ok.bytes)[0].dims).toEqual([1, 64]);
    } finally {
      await local.release();
      await inThread.release();
    }
  }, 60_000);

  it("turns an error thrown in the thread into the call's error and keeps serving", async () => {
    const bad = pooled.run({ x: new Tensor("float32", new Float32Array(5 * 63), [1, 5, 63]) }); // wrong width
    await expect(bad).rejects.toThrow(/./);
    const err = await bad.catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.length).toBeGreaterThan(0);
    // the same session and a new one still work
    const ok = await pooled.run({ x: new Tensor("float32", randomInput(5), [1, 8, 64]) });
    expect(ok.outputs.y.dims).toEqual([1, 64]);
    const other = await pool.createSession(buildMLP(1));
    const mlp = await other.run({ x: new Tensor("float32", new Float32Array(2 * 16), [2, 16]) });
    expect(Object.keys(mlp.outputs).length).toBeGreaterThan(0);
    await other.release();
    await expect(pool.createSession(new Uint8Array([1, 2, 3]))).rejects.toThrow(/./); // not a model
  }, 60_000);

  it("stops its threads on close: calls then fail with AI_CLOSED", async () => {
    const p = new InferencePool({ threads: 1 });
    const s = await p.createSession(MODEL);
    await s.run({ x: new Tensor("float32", randomInput(9), [1, 8, 64]) });
    await p.close();
    const after = await s.run({ x: new Tensor("float32", randomInput(9), [1, 8, 64]) }).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(AIError);
    expect((after as AIError).code).toBe(AIErrorCode.CLOSED);
    await expect(p.createSession(MODEL)).rejects.toBeInstanceOf(AIError);
  }, 60_000);
});
