import { AzoraError } from "../../runtime/lib/errors.js";

/** Why the double-sign guard (`signer.ts`) refused to sign or to open its state file. */
export enum SignerErrorCode {
  /** Same (height, round, step) as the last signature, but different sign bytes. */
  DOUBLE_SIGN = "SIGNER_ERROR_DOUBLE_SIGN",
  /** (height, round, step) is below the last signed one. */
  REGRESSION = "SIGNER_ERROR_REGRESSION",
  /** The state file exists but cannot be read as a valid last-sign state; it is never reset silently. */
  CORRUPT_STATE = "SIGNER_ERROR_CORRUPT_STATE",
  /** The state file records another validator's public key. */
  KEY_MISMATCH = "SIGNER_ERROR_KEY_MISMATCH",
  /** Writing the state file failed; the signer refuses everything from then on (CometBFT panics here). */
  PERSIST_FAILED = "SIGNER_ERROR_PERSIST_FAILED",
}

/** A (height, round, step) triple as plain data for error payloads and logs. */
export interface HRS {
  height: bigint;
  round: number;
  step: number;
}

export type SignerErrorType =
  | { code: SignerErrorCode.DOUBLE_SIGN; requested: HRS; last: HRS }
  | { code: SignerErrorCode.REGRESSION; requested: HRS; last: HRS }
  | { code: SignerErrorCode.CORRUPT_STATE; file: string; reason: string }
  | { code: SignerErrorCode.KEY_MISMATCH; file: string; expected: string; found: string }
  | { code: SignerErrorCode.PERSIST_FAILED; file: string; reason: string };

export class SignerError extends AzoraError<SignerErrorType> {}

/** Why the consensus write-ahead log (`wal.ts`) refused an operation. */
export enum WALErrorCode {
  /** A record above `MAX_WAL_RECORD_BYTES`. */
  RECORD_TOO_LARGE = "WAL_ERROR_RECORD_TOO_LARGE",
  /** `append` before any `startHeight` (the WAL has no current file). */
  NO_HEIGHT = "WAL_ERROR_NO_HEIGHT",
  /** `startHeight(h)` below the highest height already in the WAL. */
  HEIGHT_REGRESSION = "WAL_ERROR_HEIGHT_REGRESSION",
  /** Used after `close()`. */
  CLOSED = "WAL_ERROR_CLOSED",
  /** A write or fsync failed; the WAL refuses everything from then on (the tail is repaired on the next open). */
  WRITE_FAILED = "WAL_ERROR_WRITE_FAILED",
}

export type WALErrorType =
  | { code: WALErrorCode.RECORD_TOO_LARGE; size: number; maxSize: number }
  | { code: WALErrorCode.NO_HEIGHT }
  | { code: WALErrorCode.HEIGHT_REGRESSION; height: bigint; walHeight: bigint }
  | { code: WALErrorCode.CLOSED }
  | { code: WALErrorCode.WRITE_FAILED; file: string; reason: string };

export class WALError extends AzoraError<WALErrorType> {}
