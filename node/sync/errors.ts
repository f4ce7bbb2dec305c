import { AzoraError } from "../../runtime/lib/errors.js";

export enum SyncErrorCode {
  /** A status claims a height above ours without a commit certificate that verifies for it. */
  BAD_PROOF = "SYNC_ERROR_BAD_PROOF",
  /**
   * A status for a height whose validators this node does not know yet, signed by too few of the
   * validators it trusts to believe it (no fault of the peer: the set may have changed a lot since).
   */
  UNVERIFIABLE = "SYNC_ERROR_UNVERIFIABLE",
  /** A served block is undecodable, out of order, off the chain, or its commit or body does not verify. */
  INVALID_BLOCK = "SYNC_ERROR_INVALID_BLOCK",
}

export type SyncErrorType = {
  code: SyncErrorCode;
  height: bigint;
  /** For debug logs only: may describe peer-supplied data. */
  reason: string;
};

export class SyncError extends AzoraError<SyncErrorType> {
  constructor(code: SyncErrorCode, height: bigint, reason: string) {
    super({ code, height, reason }, `${code} at ${height}: ${reason}`);
  }
}
