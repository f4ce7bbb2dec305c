import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { createONNXSession, ONNX_ENGINE, type ONNXTensor, Tensor } from "../engine/session.js";
import { AIError, AIErrorCode } from "../errors.js";
import { manifestId, sha256Hex } from "../models/store.js";
import { l2normalise, type SentenceEncoder } from "./embed.js";

/**
 * An ONNX sentence encoder an operator drops in for `ai/embed` (e.g. all-MiniLM-L6-v2 with its `tokenizer.json`):
 * `<modelsDir>/embed/<id>/` holds `model.onnx`, `tokenizer.json` and optionally `tokenizer_config.json`; the id is
 * the manifest hash of those files (models/store.ts `manifestId`), checked at load. Inputs `input_ids`,
 * `attention_mask` and, if the graph has it, `token_type_ids` (int64, [batch, tokens], padded with 0); the output
 * is `sentence_embedding` [batch, d] when the graph has it, else the first output [batch, tokens, d] mean-pooled
 * over the attention mask. Vectors are L2-normalised. Tokenisation: `@huggingface/tokenizers` (pure JS).
 */
const FILES = ["model.onnx", "tokenizer.json", "tokenizer_config.json"] as const;
const MAX_TOKENS = 256;

export function encoderDir(modelsDir: string, id: string): string {
  return join(modelsDir, "embed", id);
}

async function readEncoderFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of FILES) {
    const path = join(dir, name);
    if (existsSync(path)) files.set(name, await readFile(path));
  }
  return files;
}

function idOf(files: Map<string, Buffer>): string {
  return manifestId([...files].map(([name, b]) => ({ name, sha256: sha256Hex(b) })));
}

/** Copies an encoder's files (from a folder holding model.onnx + tokenizer.json) in under their id. */
export async function importONNXEncoder(modelsDir: string, from: string): Promise<string> {
  const files = await readEncoderFiles(from);
  if (!files.has("model.onnx") || !files.has("tokenizer.json")) {
    throw new Error(`${from} must hold model.onnx and tokenizer.json`);
  }
  const id = idOf(files);
  const dest = encoderDir(modelsDir, id);
  if (existsSync(dest)) return id;
  const tmp = `${dest}.${process.pid}.tmp`;
  await mkdir(tmp, { recursive: true });
  for (const name of files.keys()) await copyFile(join(from, name), join(tmp, name));
  await rename(tmp, dest).catch(async (e) => {
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(dest)) throw e;
  });
  return id;
}

export async function createONNXEncoder(modelsDir: string, id: string): Promise<SentenceEncoder> {
  const dir = encoderDir(modelsDir, id);
  const files = await readEncoderFiles(dir);
  if (!files.has("model.onnx") || !files.has("tokenizer.json")) {
    throw new AIError(
      { code: AIErrorCode.MODEL_MISSING, model: id, file: dir },
      `no ONNX encoder 0x${id} in ${dir}: add it with \`npm run models:fetch -- --add-encoder DIR\``,
    );
  }
  const actual = idOf(files);
  if (actual !== id) {
    throw new AIError(
      { code: AIErrorCode.MODEL_HASH_MISMATCH, model: id, file: dir, expected: id, actual },
      `ONNX encoder files in ${dir} hash to 0x${actual}, not 0x${id}: refusing them`,
    );
  }
  const tokenizer = new Tokenizer(
    JSON.parse(files.get("tokenizer.json")!.toString("utf8")),
    JSON.parse(files.get("tokenizer_config.json")?.toString("utf8") ?? "{}"),
  );
  const session = await createONNXSession(files.get("model.onnx")!);
  for (const name of ["input_ids", "attention_mask"]) {
    if (!session.inputNames.includes(name)) {
      throw new AIError({ code: AIErrorCode.MODEL_INCOMPATIBLE, model: id, reason: `no input ${name}` });
    }
  }
  const typeIds = session.inputNames.includes("token_type_ids");
  const pooled = session.outputNames.includes("sentence_embedding");
  const outName = pooled ? "sentence_embedding" : session.outputNames[0];

  async function encode(texts: string[]): Promise<Float32Array[]> {
    const enc = texts.map((t) => tokenizer.encode(t).ids.slice(0, MAX_TOKENS));
    const len = Math.max(1, ...enc.map((e) => e.length));
    const ids = new BigInt64Array(texts.length * len);
    const mask = new BigInt64Array(texts.length * len);
    enc.forEach((e, i) => {
      e.forEach((id: number, j: number) => {
        ids[i * len + j] = BigInt(id);
        mask[i * len + j] = 1n;
      });
    });
    const dims = [texts.length, len];
    const feeds: Record<string, ONNXTensor> = {
      input_ids: new Tensor("int64", ids, dims),
      attention_mask: new Tensor("int64", mask, dims),
    };
    if (typeIds) feeds.token_type_ids = new Tensor("int64", new BigInt64Array(ids.length), dims);
    const out = (await session.run(feeds))[outName];
    const data = out.data as Float32Array;
    const d = out.dims[out.dims.length - 1];
    return texts.map((_, i) => {
      const v = new Float32Array(d);
      if (out.dims.length === 2) v.set(data.subarray(i * d, (i + 1) * d));
      else {
        const n = enc[i].length;
        for (let j = 0; j < n; j++) for (let k = 0; k < d; k++) v[k] += data[(i * len + j) * d + k];
        for (let k = 0; k < d; k++) v[k] /= Math.max(1, n);
      }
      return l2normalise(v);
    });
  }

  const dims = (await encode(["probe"]))[0].length;
  return {
    modelId: id,
    dims,
    engine: `${ONNX_ENGINE}; onnx encoder 0x${id} ${pooled ? "sentence_embedding" : "mean-pool"} l2 max ${MAX_TOKENS} tokens; @huggingface/tokenizers@0.2.0`,
    encode,
    async close() {
      await session.release();
    },
  };
}
