import { mkdtempSync, writeFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeTensors, encodeTensors, type NamedTensor } from "../../../ai-oracle/engine/tensorContainer.js";
import { AIError, AIErrorCode, AIInputCode } from "../../../ai-oracle/errors.js";
import { createAIHandlers } from "../../../ai-oracle/handlers.js";
import { cosine, decodeEmbeddings, embeddingsAgree, encodeEmbeddings } from "../../../ai-oracle/kinds/embed.js";
import { createGenericONNXModel, tensorsAgree } from "../../../ai-oracle/kinds/onnx.js";
import { importONNXEncoder } from "../../../ai-oracle/kinds/onnxEncoder.js";
import { importONNXModel, manifestId, onnxModelPath, sha256Hex } from "../../../ai-oracle/models/store.js";
import { buildMLP, buildToyEncoder, toyTokenizerJSON } from "../../../bench/onnxModels.js";
import { JobInputError } from "../../../services/runtime/handler.js";

const ctx = { signal: new AbortController().signal, progress() {} };
let dir: string;
let mlpId: string;
let quantLikeId: string;

function job(spec: Record<string, unknown>, input: Uint8Array, kind = "ai/onnx") {
  return { id: 1n, kind, spec, input };
}

function xTensor(rows: number, seed: number): NamedTensor {
  return {
    name: "x",
    dtype: "float32",
    dims: [rows, 16],
    data: Float32Array.from({ length: rows * 16 }, (_, i) => Math.sin(seed * 31 + i)),
  };
}

async function inputCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JobInputError) return e.code;
    throw e;
  }
  return undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "azora-ai-onnx-"));
  const src = join(dir, "mlp.onnx");
  writeFileSync(src, buildMLP(1));
  mlpId = await importONNXModel(dir, src);
  // Same graph, but its name contains a dynamic-quantization op type: batching must be refused.
  writeFileSync(join(dir, "q.onnx"), buildMLP(1, { opName: "uses DynamicQuantizeLinear" }));
  quantLikeId = await importONNXModel(dir, join(dir, "q.onnx"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ai/onnx (generic, tiny in-repo model)", () => {
  it("stores a model under its sha256 and refuses a file whose bytes changed", async () => {
    expect(mlpId).toBe(sha256Hex(buildMLP(1)));
    const m = createGenericONNXModel({ modelsDir: dir });
    const bad = buildMLP(1);
    bad[bad.length - 5] ^= 1;
    const other = sha256Hex(buildMLP(2));
    await mkdir(join(dir, "onnx"), { recursive: true });
    writeFileSync(onnxModelPath(dir, other), bad);
    const err = await m.load(other).catch((e) => e);
    expect(err).toBeInstanceOf(AIError);
    expect((err as AIError).code).toBe(AIErrorCode.MODEL_HASH_MISMATCH);
    await m.close();
  });

  it("runs named tensors and returns canonical AZT1 outputs", async () => {
    const [h] = createAIHandlers({ modelsDir: dir, kinds: ["ai/onnx"] });
    await h.init?.();
    const out = await h.run(job({ model: `0x${mlpId}` }, encodeTensors([xTensor(2, 1)])), ctx);
    const [probs] = decodeTensors(out.bytes);
    expect(probs.name).toBe("probs");
    expect(probs.dims).toEqual([2, 3]);
    const p = probs.data as Float32Array;
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 5);
    expect(out.modelMs).toBeGreaterThan(0); // the engine's own run time, for server-timing
    const again = await h.run(job({ model: mlpId }, encodeTensors([xTensor(2, 1)])), ctx);
    expect(Buffer.from(again.bytes).equals(Buffer.from(out.bytes))).toBe(true);
    expect(h.agrees(out, again.bytes, job({}, new Uint8Array()))).toBe(true);
    expect(h.engine).toContain("onnxruntime-node@1.30.0 cpu intra=1 inter=1 sequential");
    await h.close?.();
  });

  it("fails bad inputs with a JobInputError code and keeps serving", async () => {
    const [h] = createAIHandlers({ modelsDir: dir, kinds: ["ai/onnx"] });
    const x = xTensor(1, 2);
    const run = (spec: Record<string, unknown>, tensors: NamedTensor[] | Uint8Array) =>
      h.run(job(spec, tensors instanceof Uint8Array ? tensors : encodeTensors(tensors)), ctx);
    expect(await inputCode(run({ model: mlpId }, [{ ...x, dims: [1, 15], data: x.data.slice(0, 15) }]))).toBe(
      AIInputCode.TENSOR_SHAPE,
    );
    expect(await inputCode(run({ model: mlpId }, [{ ...x, dims: [16], data: x.data }]))).toBe(AIInputCode.TENSOR_SHAPE);
    expect(
      await inputCode(
        run({ model: mlpId }, [{ ...x, dtype: "float64", data: Float64Array.from(x.data as Float32Array) }]),
      ),
    ).toBe(AIInputCode.TENSOR_DTYPE);
    expect(await inputCode(run({ model: mlpId }, [{ ...x, name: "y" }]))).toBe(AIInputCode.TENSOR_NAME);
    expect(await inputCode(run({ model: mlpId }, [x, { ...x, name: "extra" }]))).toBe(AIInputCode.TENSOR_NAME);
    expect(await inputCode(run({ model: mlpId }, Buffer.from("not a container")))).toBe(AIInputCode.TENSOR_FORMAT);
    expect(await inputCode(run({}, [x]))).toBe(AIInputCode.SPEC_INVALID);
    expect(await inputCode(run({ model: "ab".repeat(32) }, [x]))).toBe(AIInputCode.MODEL_UNKNOWN);
    expect(await inputCode(run({ model: mlpId, outputs: ["nope"] }, [x]))).toBe(AIInputCode.SPEC_INVALID);
    const ok = await run({ model: mlpId }, [x]);
    expect(decodeTensors(ok.bytes)[0].dims).toEqual([1, 3]);
    await h.close?.();
  });

  it("gives the same bytes in an inference thread (encoded and hashed there) as on the event loop, random inputs", async () => {
    const [pooled] = createAIHandlers({ modelsDir: dir, kinds: ["ai/onnx"], inferenceThreads: 1 });
    const [inline] = createAIHandlers({ modelsDir: dir, kinds: ["ai/onnx"], inferenceThreads: 0 });
    try {
      for (let seed = 1; seed <= 10; seed++) {
        const spec = seed % 3 === 0 ? { model: mlpId, outputs: ["probs"] } : { model: mlpId };
        const input = () => encodeTensors([xTensor(1 + (seed % 3), seed)]);
        const a = await pooled.run({ ...job(spec, input()), inputDisposable: true }, ctx);
        const b = await inline.run(job(spec, input()), ctx);
        expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
        for (const r of [a, b]) expect(r.sha256).toBe(`0x${sha256Hex(r.bytes)}`); // hashed where it ran
      }
    } finally {
      await pooled.close?.();
      await inline.close?.();
    }
  });

  it("batches concurrent jobs along axis 0, each result equal to running it alone", async () => {
    const m = createGenericONNXModel({ modelsDir: dir, maxBatchJobs: 8 });
    const jobs = [1, 2, 3, 4, 5, 6].map((s) => job({ model: mlpId }, encodeTensors([xTensor(1 + (s % 2), s)])));
    const alone: Uint8Array[] = [];
    for (const j of jobs) alone.push((await m.run(j, ctx)).bytes);
    const loaded = await m.load(mlpId);
    expect(loaded.batchable).toBe(true);
    const before = loaded.queue.batchSizes.length;
    const together = await Promise.all(jobs.map((j) => m.run(j, ctx)));
    const sizes = loaded.queue.batchSizes.slice(before);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    together.forEach((r, i) => {
      expect(tensorsAgree(alone[i], r.bytes), `job ${i}`).toBe(true);
      expect(decodeTensors(r.bytes)[0].dims[0]).toBe(1 + ((i + 1) % 2));
      expect(r.modelMs).toBeGreaterThan(0);
    });
    await m.close();
  });

  it("does not batch a model holding a dynamic-quantization operator", async () => {
    const m = createGenericONNXModel({ modelsDir: dir, maxBatchJobs: 8 });
    const loaded = await m.load(quantLikeId);
    expect(loaded.batchable).toBe(false);
    await Promise.all([1, 2, 3].map((s) => m.run(job({ model: quantLikeId }, encodeTensors([xTensor(1, s)])), ctx)));
    expect(loaded.queue.batchSizes.every((n) => n === 1)).toBe(true);
    await m.close();
  });

  it("a handler compares results without loading a model (the rule is pure)", () => {
    const handlers = createAIHandlers({ modelsDir: join(dir, "nothing-here") });
    const lines = { lines: [{ text: "Total: 129.50 USD", box: [42, 106, 308, 132] }] };
    const own = { bytes: Buffer.from(JSON.stringify(lines)), contentType: "application/json" };
    const ocrHandler = handlers.find((h) => h.kinds[0] === "ai/ocr")!;
    expect(ocrHandler.agrees(own, own.bytes, job({}, new Uint8Array(), "ai/ocr"))).toBe(true);
    const other = { lines: [{ text: "Total: 129.59 USD", box: [42, 106, 308, 132] }] };
    expect(ocrHandler.agrees(own, Buffer.from(JSON.stringify(other)), job({}, new Uint8Array(), "ai/ocr"))).toBe(false);
  });

  it("comparison rule: floats within allclose(rtol 1e-3, atol 1e-4), integers exact", () => {
    const base = { name: "y", dtype: "float32" as const, dims: [3], data: Float32Array.from([1, 0.5, 0]) };
    const a = encodeTensors([base]);
    const near = encodeTensors([{ ...base, data: Float32Array.from([1.0005, 0.5, 0.00005]) }]);
    const far = encodeTensors([{ ...base, data: Float32Array.from([1.01, 0.5, 0]) }]);
    const shape = encodeTensors([{ ...base, dims: [1, 3] }]);
    expect(tensorsAgree(a, near)).toBe(true);
    expect(tensorsAgree(a, far)).toBe(false);
    expect(tensorsAgree(a, shape)).toBe(false);
    expect(tensorsAgree(a, Buffer.from("garbage"))).toBe(false);
    const ints = { name: "k", dtype: "int32" as const, dims: [2], data: Int32Array.from([1, 2]) };
    expect(tensorsAgree(encodeTensors([ints]), encodeTensors([{ ...ints, data: Int32Array.from([1, 3]) }]))).toBe(
      false,
    );
  });
});

describe("ai/embed with an operator-added ONNX encoder (toy model)", () => {
  const words = ["wallet", "password", "login", "forgot", "reset", "cat", "sofa", "sleeps", "my", "the", "on", "your"];
  // Token vectors: wallet words share one direction, cat words another, function words are near zero.
  const topic = (w: string) =>
    ["wallet", "password", "login", "forgot", "reset"].includes(w)
      ? 0
      : w === "cat" || w === "sofa" || w === "sleeps"
        ? 1
        : 2;
  const table = [
    [0, 0, 0],
    [0, 0, 0.1],
    [0, 0, 0.1],
    [0, 0, 0.1],
    ...words.map((w) => [topic(w) === 0 ? 1 : 0, topic(w) === 1 ? 1 : 0, topic(w) === 2 ? 0.2 : 0]),
  ];

  it("loads by manifest id, refuses altered files, embeds and ranks by topic", async () => {
    const src = mkdtempSync(join(tmpdir(), "azora-ai-enc-"));
    writeFileSync(join(src, "model.onnx"), buildToyEncoder(table));
    writeFileSync(join(src, "tokenizer.json"), toyTokenizerJSON(words));
    const id = await importONNXEncoder(dir, src);
    expect(id).toBe(
      manifestId([
        { name: "model.onnx", sha256: sha256Hex(buildToyEncoder(table)) },
        { name: "tokenizer.json", sha256: sha256Hex(Buffer.from(toyTokenizerJSON(words))) },
      ]),
    );
    const [h] = createAIHandlers({ modelsDir: dir, kinds: ["ai/embed"], embedModel: id });
    const texts = ["I forgot my wallet password", "Reset your login", "The cat sleeps on my sofa"];
    const out = await h.run(job({ model: id }, Buffer.from(JSON.stringify({ texts })), "ai/embed"), ctx);
    const v = decodeEmbeddings(out.bytes);
    expect(v.length).toBe(3);
    expect(cosine(v[0], v[1])).toBeGreaterThan(cosine(v[0], v[2]));
    expect(h.agrees(out, out.bytes, job({}, new Uint8Array(), "ai/embed"))).toBe(true);
    await h.close?.();

    const tampered = mkdtempSync(join(tmpdir(), "azora-ai-enc-"));
    writeFileSync(join(tampered, "model.onnx"), buildToyEncoder(table));
    writeFileSync(join(tampered, "tokenizer.json"), toyTokenizerJSON([...words, "extra"]));
    const otherId = await importONNXEncoder(dir, tampered);
    // Swap the files under the first id: the manifest no longer matches.
    writeFileSync(join(dir, "embed", id, "tokenizer.json"), toyTokenizerJSON([...words, "extra"]));
    const [h2] = createAIHandlers({ modelsDir: dir, kinds: ["ai/embed"], embedModel: id });
    await expect(h2.init?.()).rejects.toMatchObject({ type: { code: AIErrorCode.MODEL_HASH_MISMATCH } });
    expect(otherId).not.toBe(id);
    await rm(src, { recursive: true, force: true });
    await rm(tampered, { recursive: true, force: true });
  });

  it("comparison rule: cosine >= 0.9999 and |diff| <= 1e-3 per row", () => {
    const a = Float32Array.from([0.6, 0.8, 0]);
    const own = encodeEmbeddings([a], 3);
    expect(embeddingsAgree(own, encodeEmbeddings([Float32Array.from([0.6002, 0.7999, 0.0001])], 3))).toBe(true);
    expect(embeddingsAgree(own, encodeEmbeddings([Float32Array.from([0.8, 0.6, 0])], 3))).toBe(false);
    expect(embeddingsAgree(own, encodeEmbeddings([a, a], 3))).toBe(false);
  });
});
