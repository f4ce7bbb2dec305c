import { AzoraError } from "../runtime/lib/errors.js";
import { JobInputError } from "../services/runtime/handler.js";

/**
 * Codes of `JobInputError`s thrown by the AI handlers: the job's input or spec is wrong, the job fails with this
 * reason and the worker stays up. Bounded, so they can label metrics.
 */
export enum AIInputCode {
  /** The spec is not an object, or a field has the wrong type or value. */
  SPEC_INVALID = "SPEC_INVALID",
  /** The spec names a model this worker does not serve. */
  MODEL_UNKNOWN = "MODEL_UNKNOWN",
  /** Audio bytes are neither a WAV file nor a format the optional ffmpeg decodes. */
  INPUT_NOT_AUDIO = "INPUT_NOT_AUDIO",
  /** Audio is empty or longer than the limit. */
  AUDIO_LENGTH = "AUDIO_LENGTH",
  /** Image bytes are neither PNG nor JPEG, or do not decode. */
  INPUT_NOT_IMAGE = "INPUT_NOT_IMAGE",
  /** Image (or any input) is larger than the limit. */
  INPUT_TOO_LARGE = "INPUT_TOO_LARGE",
  /** Text input is not UTF-8, not the documented JSON, empty, or over the limits. */
  INPUT_NOT_TEXT = "INPUT_NOT_TEXT",
  /** Bytes are not a well-formed AZT1 tensor container. */
  TENSOR_FORMAT = "TENSOR_FORMAT",
  /** A tensor name is missing, unknown or repeated. */
  TENSOR_NAME = "TENSOR_NAME",
  /** A tensor's dtype differs from the model's input. */
  TENSOR_DTYPE = "TENSOR_DTYPE",
  /** A tensor's shape does not fit the model's input. */
  TENSOR_SHAPE = "TENSOR_SHAPE",
  /** onnxruntime refused the inputs at run time (e.g. a dimension the graph cannot handle). */
  MODEL_REJECTED_INPUT = "MODEL_REJECTED_INPUT",
}

export function inputError(code: AIInputCode, message: string): JobInputError {
  return new JobInputError(code, message);
}

/** Operator-side failures: the worker cannot serve (missing or corrupt model files, full queue). */
export enum AIErrorCode {
  /** A model file is absent from the models directory: fetch it (`npm run models:fetch`). */
  MODEL_MISSING = "AI_MODEL_MISSING",
  /** A model file's sha256 differs from the pinned or registered hash: the file is refused. */
  MODEL_HASH_MISMATCH = "AI_MODEL_HASH_MISMATCH",
  /** The model file loads but does not have the inputs/outputs the kind expects. */
  MODEL_INCOMPATIBLE = "AI_MODEL_INCOMPATIBLE",
  /** `npm pack` or extraction of a model package failed. */
  FETCH_FAILED = "AI_FETCH_FAILED",
  /** The bounded request queue of a model is full: back off, do not claim more jobs. */
  QUEUE_FULL = "AI_QUEUE_FULL",
  /** The handler was closed. */
  CLOSED = "AI_CLOSED",
}

export type AIErrorType =
  | { code: AIErrorCode.MODEL_MISSING; model: string; file: string }
  | { code: AIErrorCode.MODEL_HASH_MISMATCH; model: string; file: string; expected: string; actual: string }
  | { code: AIErrorCode.MODEL_INCOMPATIBLE; model: string; reason: string }
  | { code: AIErrorCode.FETCH_FAILED; pkg: string; reason: string }
  | { code: AIErrorCode.QUEUE_FULL; model: string; capacity: number }
  | { code: AIErrorCode.CLOSED };

export class AIError extends AzoraError<AIErrorType> {}
