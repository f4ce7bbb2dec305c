import { sha256Hex } from "../../services/runtime/content/cid.js";
import { AIError, AIErrorCode } from "../errors.js";
import type { NumericDType, ONNXTensor } from "./session.js";
import { DTYPES, encodeTensors, type NamedTensor, type TensorData } from "./tensorContainer.js";

/**
 * A lone job's outputs as its result: the canonical AZT1 container of the wanted outputs and its sha256, made
 * where the model ran. In an inference thread this keeps the event loop's part of a call to a receive and a
 * resolve: no tensor rebuilding, encoding or hashing after the thread hop (engine/threadPool.ts).
 */
export interface EncodedRun {
  /** AZT1 container (engine/tensorContainer.ts) of the wanted outputs, in a buffer of its own. */
  readonly bytes: Uint8Array;
  /** sha256 of `bytes`, `0x` + hex: the result hash. */
  readonly sha256: `0x${string}`;
  /** onnxruntime's own `run` time (ms). */
  readonly modelMs: number;
  /** When onnxruntime's `run` returned (µs, monotonic clock: EngineRun). */
  readonly modelEndUs?: number;
}

/** An engine output as a container tensor; an output dtype AZT1 has no code for is the model's fault. */
export function outputTensor(name: string, t: ONNXTensor): NamedTensor {
  if (!(t.type in DTYPES)) {
    throw new AIError({ code: AIErrorCode.MODEL_INCOMPATIBLE, model: "onnx", reason: `output ${name} is ${t.type}` });
  }
  const dtype = t.type as NumericDType;
  let data = t.data as TensorData;
  if (dtype === "bool" && !(data instanceof Uint8Array)) data = Uint8Array.from(data as unknown as ArrayLike<number>);
  return { name, dtype, dims: [...t.dims], data };
}

/** The wanted outputs (by name) encoded and hashed. */
export function encodeOutputs(
  outputs: Readonly<Record<string, ONNXTensor>>,
  wanted: readonly string[],
): { bytes: Uint8Array; sha256: `0x${string}` } {
  const names = Object.keys(outputs).filter((n) => wanted.includes(n));
  const bytes = encodeTensors(names.map((n) => outputTensor(n, outputs[n])));
  return { bytes, sha256: sha256Hex(bytes) };
}
