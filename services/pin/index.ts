/**
 * `storage/pin`: a worker holds a DAG for the job's challenge window (the market's Retrieval mode) and answers
 * retrieval challenges with a Merkle path from the root to the challenged block. README.md here.
 */
export {
  type BlockGetter,
  type DagNode,
  type DagSummary,
  decodeNode,
  decodeProof,
  encodeProof,
  isPinnableRoot,
  MAX_DEPTH,
  type PositionProof,
  PROOF_CONTENT_TYPE,
  provePosition,
  spanOf,
  stepTowards,
  verifyPositionProof,
  walkDag,
} from "./dag.js";
export {
  decodeReceipt,
  decodeRequest,
  encodeReceipt,
  encodeRequest,
  evidenceURI,
  PIN_KIND,
  type PinReceipt,
  type PinRequest,
  positionOf,
  RECEIPT_CONTENT_TYPE,
  REQUEST_CONTENT_TYPE,
  uintField,
} from "./documents.js";
export { PinError, PinErrorCode, type PinErrorType } from "./errors.js";
export { createPinHandler, DEFAULT_PIN_LIMITS, type PinHandlerOptions, type PinLimits } from "./handler.js";
export { PinLedger } from "./ledger.js";
