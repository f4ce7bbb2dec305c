import type { JobContext, JobInput, JobOutput } from "../../services/runtime/handler.js";
import { AIInputCode, inputError } from "../errors.js";
import { parseModelId } from "../models/store.js";

/** One model serving one job kind: what `createAIHandlers` wraps into a `JobHandler`. */
export interface KindModel {
  readonly kind: string;
  /** Model id (sha256 hex, no 0x) as registered at 0x…0A08; null for `ai/onnx`, where each job names its model. */
  readonly modelId: string | null;
  /** Runtime, model and pre/post-processing identity pinned for replay. */
  readonly engine: string;
  run(job: JobInput, ctx: JobContext): Promise<JobOutput>;
  agrees(own: JobOutput, submitted: Uint8Array, job: JobInput): boolean;
  close(): Promise<void>;
}

export function specObject(job: JobInput): Readonly<Record<string, unknown>> {
  const s = job.spec;
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw inputError(AIInputCode.SPEC_INVALID, "spec must be a JSON object");
  }
  return s;
}

/** `spec.model`, when present, must name the model this handler serves (hex sha256, 0x optional). */
export function checkSpecModel(job: JobInput, servedId: string): void {
  const m = specObject(job).model;
  if (m === undefined) return;
  const id = parseModelId(m);
  if (!id) throw inputError(AIInputCode.SPEC_INVALID, "spec.model must be a 32-byte hex sha256");
  if (id !== servedId)
    throw inputError(AIInputCode.MODEL_UNKNOWN, `this worker serves model 0x${servedId}, not 0x${id}`);
}

/** Canonical JSON: the encoder below always writes keys in the order the object literal has, no whitespace. */
export function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), "utf8");
}

export function parseJSON(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

export const JSON_CONTENT_TYPE = "application/json";

export function throwIfAborted(ctx: JobContext): void {
  ctx.signal.throwIfAborted();
}
