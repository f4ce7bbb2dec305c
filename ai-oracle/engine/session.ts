import * as ort from "onnxruntime-node";

/**
 * onnxruntime sessions with the options that make a result reproducible: CPU execution provider, one intra-op and
 * one inter-op thread, sequential execution. With the same model bytes, input and runtime version the output bytes
 * are the same (checked in tests across processes); split reductions over several threads are not guaranteed to
 * be, and the GPU providers are not deterministic at all.
 */
export const ONNX_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = Object.freeze({
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
});

/** `onnxruntime-node@<version> cpu intra=1 inter=1 sequential`: part of every ONNX handler's engine identity. */
export const ONNX_ENGINE = `onnxruntime-node@${ort.env.versions.node ?? ort.env.versions.common} cpu intra=1 inter=1 sequential`;

export type ONNXSession = ort.InferenceSession;
export type ONNXTensor = ort.Tensor;
export type ONNXFeeds = Record<string, ort.Tensor>;
export const Tensor = ort.Tensor;

/** Creates a session from bytes the caller has already hashed, so the engine runs exactly the checked model. */
export function createONNXSession(modelBytes: Uint8Array): Promise<ONNXSession> {
  return ort.InferenceSession.create(modelBytes, { ...ONNX_SESSION_OPTIONS });
}

/** Element dtypes the tensor container and the generic kind support (onnxruntime's names). */
export type NumericDType =
  | "float32"
  | "float64"
  | "float16"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool";
