import { mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InlinePolicy, RETIRE_FACTOR, RunTimes } from "../../../ai-oracle/engine/inlinePolicy.js";
import { encodeTensors } from "../../../ai-oracle/engine/tensorContainer.js";
import { InferencePool } from "../../../ai-oracle/engine/threadPool.js";
import { AIInputCode } from "../../../ai-oracle/errors.js";
import { createAIHandlers } from "../../../ai-oracle/handlers.js";
import { createGenericONNXModel, type GenericONNXModel } from "../../../ai-oracle/kinds/onnx.js";
import { importONNXModel, sha256Hex } from "../../../ai-oracle/models/store.js";
import { buildMatMulStack, buildMLP } from "../../../bench/onnxModels.js";
import { JobInputError } from "../../../services/runtime/handler.js";

const ctx = { signal: new AbortController().signal, progress() {} };
let dir: string;
let id: string;
/** A tiny MLP with a symbolic batch dimension: x [N, 16]. */
let mlpId: string;

function randomInput(seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const data = Float32Array.from({ length: 8 * 64 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
  return encodeTensors([{ name: "x", dtype: "float32", dims: [1, 8, 64], data }]);
}

const job = (seed: number) => ({ id: 1n, kind: "ai/onnx", spec: { model: id }, input: randomInput(seed) });

/** Lone calls until the model's in-thread session is ready (created in the background once the model qualifies). */
async function untilInline(m: GenericONNXModel): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if ((await m.load(id)).inline.session) return;
    await m.run(job(i), ctx);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the model never got an in-thread session");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "azora-ai-inline-"));
  writeFileSync(join(dir, "mm.onnx"), buildMatMulStack({ rows: 8, width: 64, layers: 3, seed: 7 }));
  id = await importONNXModel(dir, join(dir, "mm.onnx"));
  writeFileSync(join(dir, "mlp.onnx"), buildMLP(1));
  mlpId = await importONNXModel(dir, join(dir, "mlp.onnx"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("InlinePolicy", () => {
  it("counts calls in flight; `alone` only for a single one; ending twice counts once", () => {
    const p = new InlinePolicy({ maxMs: 20 });
    const a = p.begin();
    expect(p.alone).toBe(true);
    const b = p.begin();
    expect(p.alone).toBe(false);
    b();
    b();
    expect(p.alone).toBe(true);
    a();
    expect(p.alone).toBe(false);
  });

  it("a model qualifies after its warm runs when its mean run is within the bound; never with maxMs 0", () => {
    const runs = new RunTimes();
    const p = new InlinePolicy({ maxMs: 20, warmRuns: 3 });
    runs.observe(5, 100);
    runs.observe(5, 100);
    expect(p.fits(runs)).toBe(false); // still warming up
    expect(p.retires(runs)).toBe(false);
    runs.observe(5, 100);
    expect(p.fits(runs)).toBe(true);
    expect(new InlinePolicy({ maxMs: 0 }).fits(runs)).toBe(false);
    expect(new InlinePolicy({ maxMs: 0 }).retires(runs)).toBe(true);
    expect(() => new InlinePolicy({ maxMs: -1 })).toThrow(RangeError);
  });

  it("a call predicted over the bound (a larger input than those timed) does not run inline", () => {
    const runs = new RunTimes();
    const p = new InlinePolicy({ maxMs: 20, warmRuns: 1 });
    runs.observe(10, 1000); // 0.01 ms per input element
    expect(p.fitsCall(runs, 1000)).toBe(true);
    expect(p.fitsCall(runs, 2000)).toBe(true);
    expect(p.fitsCall(runs, 2001)).toBe(false);
  });

  it("between the bound and RETIRE_FACTOR × it a model pools but keeps its session; past that it retires", () => {
    const runs = new RunTimes();
    const p = new InlinePolicy({ maxMs: 20, warmRuns: 1 });
    runs.observe(5, 1);
    expect(p.fits(runs)).toBe(true);
    for (let i = 0; i < 30; i++) runs.observe(40, 1);
    expect(p.fits(runs)).toBe(false);
    expect(p.retires(runs)).toBe(false);
    for (let i = 0; i < 30; i++) runs.observe(20 * RETIRE_FACTOR + 1, 1);
    expect(p.retires(runs)).toBe(true);
  });
});

describe("ai/onnx inline runs (lone call of a short model on the event loop)", () => {
  let pool: InferencePool;

  beforeAll(() => {
    pool = new InferencePool({ threads: 1 });
  });

  afterAll(async () => {
    await pool.close();
  });

  it("gives the same bytes and sha256 inline as pooled, random inputs", async () => {
    const inline = createGenericONNXModel({ modelsDir: dir, pool, inline: new InlinePolicy({ maxMs: 1000 }) });
    const pooled = createGenericONNXModel({ modelsDir: dir, pool, inline: new InlinePolicy({ maxMs: 0 }) });
    try {
      await untilInline(inline);
      for (let seed = 1; seed <= 12; seed++) {
        const a = await inline.run(job(seed * 977), ctx);
        const b = await pooled.run(job(seed * 977), ctx);
        expect(a.inline).toBe(true);
        expect(b.inline).toBe(false);
        expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
        expect(a.sha256).toBe(b.sha256);
        expect(a.sha256).toBe(`0x${sha256Hex(a.bytes)}`);
      }
    } finally {
      await inline.close();
      await pooled.close();
    }
  }, 60_000);

  it("pools a call while another is in flight, and runs the next lone call inline again", async () => {
    const policy = new InlinePolicy({ maxMs: 1000 });
    const m = createGenericONNXModel({ modelsDir: dir, pool, inline: policy });
    try {
      await untilInline(m);
      const both = await Promise.all([m.run(job(1), ctx), m.run(job(2), ctx)]);
      expect(both.map((r) => r.inline)).toEqual([false, false]);
      const other = policy.begin(); // e.g. another model's call, still running
      expect((await m.run(job(3), ctx)).inline).toBe(false);
      other();
      expect((await m.run(job(3), ctx)).inline).toBe(true);
    } finally {
      await m.close();
    }
  }, 60_000);

  it("a model over the bound never gets an in-thread session", async () => {
    const m = createGenericONNXModel({ modelsDir: dir, pool, inline: new InlinePolicy({ maxMs: 1e-6 }) });
    try {
      for (let seed = 1; seed <= 10; seed++) expect((await m.run(job(seed), ctx)).inline).toBe(false);
      const slot = (await m.load(id)).inline;
      expect(slot.session).toBeNull();
      expect(slot.creating).toBe(false);
      expect(slot.retired).toBe(true);
    } finally {
      await m.close();
    }
  }, 60_000);

  it("pools a call whose input is far larger than those the model was timed on (symbolic dimension)", async () => {
    const m = createGenericONNXModel({ modelsDir: dir, pool, inline: new InlinePolicy({ maxMs: 5 }) });
    const rows = (n: number) => ({
      id: 1n,
      kind: "ai/onnx",
      spec: { model: mlpId },
      input: encodeTensors([
        { name: "x", dtype: "float32", dims: [n, 16], data: Float32Array.from({ length: n * 16 }, (_, i) => i % 7) },
      ]),
    });
    try {
      for (let i = 0; i < 1000 && !(await m.load(mlpId)).inline.session; i++) {
        await m.run(rows(1), ctx);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await m.run(rows(1), ctx)).inline).toBe(true);
      expect((await m.run(rows(100_000), ctx)).inline).toBe(false); // predicted ≫ 5 ms at 1-row speed
    } finally {
      await m.close();
    }
  }, 60_000);

  it("an inline run's error fails only its call", async () => {
    const m = createGenericONNXModel({ modelsDir: dir, pool, inline: new InlinePolicy({ maxMs: 1000 }) });
    try {
      await untilInline(m);
      const slot = (await m.load(id)).inline;
      const session = slot.session!;
      slot.session = { ...session, runEncoded: () => Promise.reject(new Error("boom")) };
      const err = await m.run(job(1), ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobInputError);
      expect((err as JobInputError).code).toBe(AIInputCode.MODEL_REJECTED_INPUT);
      slot.session = session;
      const ok = await m.run(job(1), ctx);
      expect(ok.inline).toBe(true);
      expect(ok.sha256).toBe(`0x${sha256Hex(ok.bytes)}`);
    } finally {
      await m.close();
    }
  }, 60_000);

  it("the handlers wire it: off with inlineMaxMs 0, on by default and with inlineMaxMs 20", async () => {
    /** Lone calls until one runs inline (or `calls` of them): the paths taken. */
    const run = async (calls: number, inlineMaxMs?: number) => {
      const [h] = createAIHandlers({ modelsDir: dir, kinds: ["ai/onnx"], inferenceThreads: 1, inlineMaxMs });
      const paths: (boolean | undefined)[] = [];
      try {
        while (paths.length < calls && !paths.includes(true)) {
          paths.push((await h.run(job(paths.length), ctx)).inline);
          await new Promise((r) => setTimeout(r, 5)); // lets the in-thread session's creation go on
        }
      } finally {
        await h.close?.();
      }
      return paths;
    };
    expect(await run(20, 0)).toEqual(Array(20).fill(false));
    expect(await run(1000)).toContain(true);
    expect(await run(1000, 20)).toContain(true);
  }, 60_000);
});
