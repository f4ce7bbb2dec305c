import { AzoraError } from "../../runtime/lib/errors.js";

export enum StorageErrorCode {
  /** Not a CID string. */
  INVALID_CID = "STORAGE_INVALID_CID",
  /** A path segment that is empty, `.`/`..`, or too long. */
  INVALID_PATH = "STORAGE_INVALID_PATH",
  /** The root block is not here and could not be fetched in time. */
  NOT_FOUND = "STORAGE_NOT_FOUND",
  /** The root exists but the path under it does not. */
  PATH_NOT_FOUND = "STORAGE_PATH_NOT_FOUND",
  /** The DAG uses a codec or layout this node does not serve (e.g. dag-cbor). */
  UNSUPPORTED_CONTENT = "STORAGE_UNSUPPORTED_CONTENT",
  /** A block's bytes do not hash to its CID: the source lied or the disk rotted. */
  HASH_MISMATCH = "STORAGE_HASH_MISMATCH",
  /** More bytes than the configured cap. */
  TOO_LARGE = "STORAGE_TOO_LARGE",
  /** Retrieval did not finish before its deadline. */
  TIMEOUT = "STORAGE_TIMEOUT",
  /** The backend (e.g. a Kubo daemon) cannot be reached. */
  BACKEND_UNAVAILABLE = "STORAGE_BACKEND_UNAVAILABLE",
  /** Every source failed (HTTP status, connection refused). */
  FETCH_FAILED = "STORAGE_FETCH_FAILED",
}

export type StorageErrorType =
  | { code: StorageErrorCode.INVALID_CID; value: string }
  | { code: StorageErrorCode.INVALID_PATH; path: string }
  | { code: StorageErrorCode.NOT_FOUND; cid: string }
  | { code: StorageErrorCode.PATH_NOT_FOUND; cid: string; path: string }
  | { code: StorageErrorCode.UNSUPPORTED_CONTENT; cid: string; codec: number }
  | { code: StorageErrorCode.HASH_MISMATCH; cid: string; source: string }
  | { code: StorageErrorCode.TOO_LARGE; limitBytes: number }
  | { code: StorageErrorCode.TIMEOUT; cid: string; timeoutMs: number }
  | { code: StorageErrorCode.BACKEND_UNAVAILABLE; backend: string; reason: string }
  | { code: StorageErrorCode.FETCH_FAILED; cid: string; reasons: string[] };

export class StorageError extends AzoraError<StorageErrorType> {
  constructor(type: StorageErrorType, message?: string) {
    super(type, message ?? describe(type));
  }
}

/** A readable message for operators (the CLI prints it); programs switch on `code`. */
function describe(t: StorageErrorType): string {
  switch (t.code) {
    case StorageErrorCode.INVALID_CID:
      return `${t.code}: not a CID: ${t.value}`;
    case StorageErrorCode.INVALID_PATH:
      return `${t.code}: bad path ${t.path}`;
    case StorageErrorCode.NOT_FOUND:
      return `${t.code}: ${t.cid} is not available`;
    case StorageErrorCode.PATH_NOT_FOUND:
      return `${t.code}: no ${t.path} under ${t.cid}`;
    case StorageErrorCode.UNSUPPORTED_CONTENT:
      return `${t.code}: ${t.cid} uses codec or hash 0x${t.codec.toString(16)}, which is not served`;
    case StorageErrorCode.HASH_MISMATCH:
      return `${t.code}: block ${t.cid} from ${t.source} does not match its hash (tampered or corrupt); nothing was written`;
    case StorageErrorCode.TOO_LARGE:
      return `${t.code}: more than ${t.limitBytes} bytes`;
    case StorageErrorCode.TIMEOUT:
      return `${t.code}: ${t.cid} not retrieved within ${t.timeoutMs} ms`;
    case StorageErrorCode.BACKEND_UNAVAILABLE:
      return `${t.code}: ${t.backend}: ${t.reason}`;
    case StorageErrorCode.FETCH_FAILED:
      return `${t.code}: ${t.cid}: ${t.reasons.join("; ")}`;
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
