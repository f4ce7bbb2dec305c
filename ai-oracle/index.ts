/** AI inference for the worker runtime: the public surface of `ai-oracle/`. */

export { BatchQueue } from "./engine/batchQueue.js";
export { ONNX_ENGINE, ONNX_SESSION_OPTIONS } from "./engine/session.js";
export {
  AZT1_CONTENT_TYPE,
  decodeTensors,
  encodeTensors,
  type NamedTensor,
} from "./engine/tensorContainer.js";
export { AIError, AIErrorCode, AIInputCode } from "./errors.js";
export {
  AI_KINDS,
  type AIHandlersOptions,
  type AIKind,
  createAIHandlers,
  KIND_MODELS,
  missingModels,
} from "./handlers.js";
export {
  COSINE_MIN,
  cosine,
  decodeEmbeddings,
  embeddingRowsAgree,
  embeddingsAgree,
  MAX_ABS_DIFF,
} from "./kinds/embed.js";
export { BOX_TOLERANCE_PX, type OCRLine, ocrResultsAgree } from "./kinds/ocr.js";
export { FLOAT_ATOL, FLOAT_RTOL, tensorsAgree } from "./kinds/onnx.js";
export { importONNXEncoder } from "./kinds/onnxEncoder.js";
export { type Transcript, type TranscriptSegment, transcriptsAgree } from "./kinds/transcribe.js";
export { SHIPPED_MODELS, type ShippedModelKey } from "./models/catalog.js";
export { type FetchResult, fetchModels } from "./models/fetch.js";
export {
  defaultModelsDir,
  importONNXModel,
  manifestId,
  shippedModelId,
  shippedModelRegistration,
} from "./models/store.js";
export { createTextEmbedder, type TextEmbedder } from "./textEmbedder.js";
