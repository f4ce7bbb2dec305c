import { AzoraError } from "../../runtime/lib/errors.js";

export enum ContentErrorCode {
  /** Not a CID string. */
  INVALID_CID = "CONTENT_INVALID_CID",
  /** A CID other than v1 raw/sha2-256 (the only one whose hash is the market's sha256 hash). */
  UNSUPPORTED_CID = "CONTENT_UNSUPPORTED_CID",
  /** A URI scheme the fetcher does not speak. */
  UNSUPPORTED_URI = "CONTENT_UNSUPPORTED_URI",
  /** Every source failed (network, HTTP status, timeout). */
  FETCH_FAILED = "CONTENT_FETCH_FAILED",
  /** Bytes were fetched but their sha256 is not the expected one. */
  HASH_MISMATCH = "CONTENT_HASH_MISMATCH",
  /** More bytes than the caller allows. */
  TOO_LARGE = "CONTENT_TOO_LARGE",
}

export type ContentErrorType =
  | { code: ContentErrorCode.INVALID_CID; value: string }
  | { code: ContentErrorCode.UNSUPPORTED_CID; cid: string }
  | { code: ContentErrorCode.UNSUPPORTED_URI; uri: string }
  | { code: ContentErrorCode.FETCH_FAILED; sources: number; reasons: string[] }
  | { code: ContentErrorCode.HASH_MISMATCH; expected: string; actual: string }
  | { code: ContentErrorCode.TOO_LARGE; limitBytes: number };

export class ContentError extends AzoraError<ContentErrorType> {}

export enum SpecErrorCode {
  /** specURI is neither a data: URI nor a URI naming a CID, so the document could change after posting. */
  NOT_CONTENT_ADDRESSED = "SPEC_NOT_CONTENT_ADDRESSED",
  /** The document is not JSON or misses required fields. */
  MALFORMED = "SPEC_MALFORMED",
  /** The document's kind differs from the job's on-chain kind. */
  KIND_MISMATCH = "SPEC_KIND_MISMATCH",
}

export type SpecErrorType =
  | { code: SpecErrorCode.NOT_CONTENT_ADDRESSED; uri: string }
  | { code: SpecErrorCode.MALFORMED; reason: string }
  | { code: SpecErrorCode.KIND_MISMATCH; spec: string; job: string };

export class SpecError extends AzoraError<SpecErrorType> {}

export enum TxErrorCode {
  /** eth_estimateGas (a simulation) reverted: the call would fail now. `error` is the decoded custom error name. */
  WOULD_REVERT = "TX_WOULD_REVERT",
  /** A batch call (claimMany, submitMany, acceptMany) was mined but skipped this job's item: `error` says why. */
  BATCH_ITEM_SKIPPED = "TX_BATCH_ITEM_SKIPPED",
  /** The transaction was mined and reverted. */
  REVERTED = "TX_REVERTED",
  /** The node refused the transaction for a reason a retry cannot fix (e.g. insufficient funds). */
  REJECTED = "TX_REJECTED",
  /** Its nonce was used by another transaction that is none of this intent's attempts. */
  REPLACED = "TX_REPLACED",
}

export type TxErrorType =
  | { code: TxErrorCode.WOULD_REVERT; action: string; error: string; args: string[] }
  | { code: TxErrorCode.BATCH_ITEM_SKIPPED; action: string; txHash: string; error: string; args: string[] }
  | { code: TxErrorCode.REVERTED; action: string; txHash: string }
  | { code: TxErrorCode.REJECTED; action: string; reason: string }
  | { code: TxErrorCode.REPLACED; action: string; nonce: number };

export class TxError extends AzoraError<TxErrorType> {}

export enum ConfigErrorCode {
  INVALID = "WORKER_CONFIG_INVALID",
  KEY_FILE = "WORKER_CONFIG_KEY_FILE",
  UNKNOWN_KIND = "WORKER_CONFIG_UNKNOWN_KIND",
}

export type ConfigErrorType =
  | { code: ConfigErrorCode.INVALID; key: string; reason: string }
  | { code: ConfigErrorCode.KEY_FILE; file: string; reason: string }
  | { code: ConfigErrorCode.UNKNOWN_KIND; kind: string; known: string[] };

export class WorkerConfigError extends AzoraError<ConfigErrorType> {}
