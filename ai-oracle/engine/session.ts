import * as ort from "onnxruntime-node";
import { monoUs } from "../../services/runtime/callTrace.js";
import { type EncodedRun, encodeOutputs } from "./encodedRun.js";

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

/**
 * What the kinds use of a session: an in-thread `ort.InferenceSession` or one living in an `InferencePool` thread
 * (engine/threadPool.ts). `giveAway: true` lets a pooled session move the feeds' buffers instead of copying them:
 * the caller's views over those buffers are empty afterwards (an in-thread session ignores it).
 */
export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ort.InferenceSession["inputMetadata"];
  readonly outputMetadata: ort.InferenceSession["outputMetadata"];
  run(feeds: ONNXFeeds, opts?: { giveAway?: boolean }): Promise<EngineRun>;
  /**
   * `run`, then the `outputs` named (every output of a supported dtype: the caller checks the metadata) encoded
   * as an AZT1 container and hashed where the model ran (engine/encodedRun.ts).
   */
  runEncoded(feeds: ONNXFeeds, opts: { giveAway?: boolean; outputs: readonly string[] }): Promise<EncodedRun>;
  release(): Promise<void>;
}

/** A run's outputs and how long onnxruntime's own `run` took (ms, measured where it ran: the hops excluded). */
export interface EngineRun {
  readonly outputs: Record<string, ONNXTensor>;
  readonly modelMs: number;
  /** When `run` returned, µs on the machine's monotonic clock (one clock for every thread: a call's trace). */
  readonly modelEndUs?: number;
}

/**
 * `session.run(feeds)` with its duration: what `EngineRun.modelMs` means on every thread. onnxruntime-node runs the
 * model in an immediate of its own (its backend's `run`), so whatever the loop runs before that immediate — on the
 * worker, a metered call's receipt commit queued just before an inline run — is not the model's time. An immediate
 * queued right before `run` fires right before onnxruntime's (immediates run in order): its stamp is the run's
 * start. Should a runtime version run the model without one, the stamp is missing when `run` returns, and the
 * call's own start counts.
 */
export async function timedRun(session: ONNXSession, feeds: ONNXFeeds): Promise<EngineRun> {
  const called = performance.now();
  let started: number | undefined;
  setImmediate(() => {
    started = performance.now();
  });
  const outputs = await session.run(feeds);
  const modelMs = performance.now() - (started ?? called);
  return { outputs, modelMs, modelEndUs: monoUs() };
}
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

/** An in-thread session behind the `EngineSession` interface (run options are not passed to onnxruntime). */
export function inThreadSession(s: ONNXSession): EngineSession {
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    inputMetadata: s.inputMetadata,
    outputMetadata: s.outputMetadata,
    run: (feeds) => timedRun(s, feeds),
    runEncoded: async (feeds, opts) => {
      const { outputs, modelMs, modelEndUs } = await timedRun(s, feeds);
      return { ...encodeOutputs(outputs, opts.outputs), modelMs, modelEndUs };
    },
    release: () => s.release(),
  };
}
