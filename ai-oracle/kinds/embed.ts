import type { JobContext, JobInput, JobOutput } from "../../services/runtime/handler.js";
import { BatchQueue } from "../engine/batchQueue.js";
import { AZT1_CONTENT_TYPE, decodeTensors, encodeTensors } from "../engine/tensorContainer.js";
import { AIInputCode, inputError } from "../errors.js";
import { checkSpecModel, type KindModel, specObject } from "./kind.js";

/**
 * `ai/embed` ("Azora Embeddings"): texts in, one unit-length float32 vector per text out.
 *
 * Input: UTF-8 JSON `{"texts": ["...", ...]}` (1..`MAX_TEXTS` texts), or, with `spec.input = "text"`, the whole
 * input as one text. Output: an AZT1 container (see engine/tensorContainer.ts) with one tensor `embeddings`,
 * float32 [n, dims], row i for text i. Comparison for replay: same shape, and for every row cosine similarity
 * >= `COSINE_MIN` and largest absolute difference <= `MAX_ABS_DIFF` (float noise across CPUs and batch
 * composition stays far inside both; a different text or model does not).
 *
 * Concurrent jobs are batched into one encoder call (up to `maxBatchJobs` jobs).
 */
export const EMBED_KIND = "ai/embed";
export const COSINE_MIN = 0.9999;
export const MAX_ABS_DIFF = 1e-3;
export const MAX_TEXTS = 128;
export const MAX_TEXT_CHARS = 8192;

/** A sentence encoder behind `ai/embed`: USE-lite (shipped) or an ONNX encoder an operator adds by hash. */
export interface SentenceEncoder {
  readonly modelId: string;
  readonly dims: number;
  readonly engine: string;
  /** Unit-length vectors, one per text. */
  encode(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export interface EmbedOptions {
  readonly maxQueue?: number;
  /** Jobs merged into one encoder call (default 8; 1 turns batching off). */
  readonly maxBatchJobs?: number;
}

export type EmbedModel = KindModel & {
  readonly encoder: SentenceEncoder;
  readonly queue: BatchQueue<string[], Float32Array[]>;
};

export function parseEmbedInput(job: JobInput): string[] {
  const spec = specObject(job);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(job.input);
  } catch {
    throw inputError(AIInputCode.INPUT_NOT_TEXT, "input is not UTF-8");
  }
  let texts: unknown;
  if (spec.input === "text") texts = [text];
  else if (spec.input === undefined || spec.input === "json") {
    try {
      texts = (JSON.parse(text) as { texts?: unknown }).texts;
    } catch {
      throw inputError(AIInputCode.INPUT_NOT_TEXT, 'input is not JSON {"texts": [...]} (set spec.input "text")');
    }
  } else throw inputError(AIInputCode.SPEC_INVALID, 'spec.input must be "json" or "text"');
  if (!Array.isArray(texts) || texts.length === 0 || texts.length > MAX_TEXTS) {
    throw inputError(AIInputCode.INPUT_NOT_TEXT, `texts must be an array of 1..${MAX_TEXTS} strings`);
  }
  for (const t of texts) {
    if (typeof t !== "string" || t.length > MAX_TEXT_CHARS) {
      throw inputError(AIInputCode.INPUT_NOT_TEXT, `every text must be a string of at most ${MAX_TEXT_CHARS} chars`);
    }
  }
  return texts as string[];
}

export function createEmbedModel(encoder: SentenceEncoder, opts: EmbedOptions = {}): EmbedModel {
  const queue = new BatchQueue<string[], Float32Array[]>({
    name: `embed-${encoder.modelId.slice(0, 8)}`,
    maxBatch: opts.maxBatchJobs ?? 8,
    maxQueue: opts.maxQueue ?? 64,
    run: async (jobs) => {
      const vectors = await encoder.encode(jobs.flat());
      const out: Float32Array[][] = [];
      let at = 0;
      for (const texts of jobs) {
        out.push(vectors.slice(at, at + texts.length));
        at += texts.length;
      }
      return out;
    },
  });
  return {
    encoder,
    queue,
    kind: EMBED_KIND,
    modelId: encoder.modelId,
    engine: `${encoder.engine}; batch <= ${opts.maxBatchJobs ?? 8} jobs; compare cosine >= ${COSINE_MIN}, |diff| <= ${MAX_ABS_DIFF}`,
    async run(job: JobInput, _ctx: JobContext): Promise<JobOutput> {
      checkSpecModel(job, encoder.modelId);
      const vectors = await queue.push(parseEmbedInput(job));
      return { bytes: encodeEmbeddings(vectors, encoder.dims), contentType: AZT1_CONTENT_TYPE };
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return embeddingsAgree(own.bytes, submitted);
    },
    async close() {
      queue.close();
      await encoder.close();
    },
  };
}

export function encodeEmbeddings(vectors: Float32Array[], dims: number): Uint8Array {
  const data = new Float32Array(vectors.length * dims);
  vectors.forEach((v, i) => {
    data.set(v, i * dims);
  });
  return encodeTensors([{ name: "embeddings", dtype: "float32", dims: [vectors.length, dims], data }]);
}

/** Rows of the `embeddings` tensor of an AZT1 result. */
export function decodeEmbeddings(bytes: Uint8Array): Float32Array[] {
  const t = decodeTensors(bytes).find((x) => x.name === "embeddings");
  if (t?.dtype !== "float32" || t.dims.length !== 2) throw new Error("no float32 [n, d] embeddings tensor");
  const [n, d] = t.dims;
  return Array.from({ length: n }, (_, i) => (t.data as Float32Array).subarray(i * d, (i + 1) * d));
}

export function l2normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let k = 0; k < v.length; k++) v[k] /= n;
  return v;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export function embeddingsAgree(own: Uint8Array, submitted: Uint8Array): boolean {
  let a: Float32Array[];
  let b: Float32Array[];
  try {
    a = decodeEmbeddings(own);
    b = decodeEmbeddings(submitted);
  } catch {
    return false;
  }
  if (a.length !== b.length) return false;
  return a.every((row, i) => embeddingRowsAgree(row, b[i]));
}

/** The kind's rule for one row: same length, finite, cosine >= `COSINE_MIN`, largest |difference| <= `MAX_ABS_DIFF`. */
export function embeddingRowsAgree(row: Float32Array, o: Float32Array): boolean {
  if (o.length !== row.length || !o.every(Number.isFinite)) return false;
  let maxDiff = 0;
  for (let j = 0; j < row.length; j++) maxDiff = Math.max(maxDiff, Math.abs(row[j] - o[j]));
  return maxDiff <= MAX_ABS_DIFF && cosine(row, o) >= COSINE_MIN;
}
