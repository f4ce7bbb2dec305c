/** The explorer's typed errors: a bounded code and structured data; the HTTP layer maps codes to statuses once. */
export enum ExplorerErrorCode {
  /** A batch of blocks does not start right after the stored cursor (a gap or a duplicate). */
  NOT_CONTIGUOUS = "EXPLORER_NOT_CONTIGUOUS",
  SCHEMA_MISMATCH = "EXPLORER_SCHEMA_MISMATCH",
  /** The node answered something the indexer cannot use (a missing block, receipt or trace). */
  BAD_NODE_DATA = "EXPLORER_BAD_NODE_DATA",
  NOT_FOUND = "EXPLORER_NOT_FOUND",
  INVALID_PARAMS = "EXPLORER_INVALID_PARAMS",
  /** The requested solc release is not the one this explorer has (offline: only the npm solc it ships with). */
  COMPILER_UNAVAILABLE = "EXPLORER_COMPILER_UNAVAILABLE",
  /** The sources did not compile, or compiled to other code than the chain holds; `reason` says which. */
  VERIFICATION_FAILED = "EXPLORER_VERIFICATION_FAILED",
  /** A native module's view reverted (e.g. the chain's genesis does not configure it); `error` is its custom error. */
  MODULE_REVERTED = "EXPLORER_MODULE_REVERTED",
}

export type ExplorerErrorType =
  | { code: ExplorerErrorCode.NOT_CONTIGUOUS; block: number; expected: number }
  | { code: ExplorerErrorCode.SCHEMA_MISMATCH; found: string; want: number }
  | { code: ExplorerErrorCode.BAD_NODE_DATA; block: number; what: string }
  | { code: ExplorerErrorCode.NOT_FOUND; what: string }
  | { code: ExplorerErrorCode.INVALID_PARAMS; reason: string }
  | { code: ExplorerErrorCode.COMPILER_UNAVAILABLE; requested: string; available: string }
  | { code: ExplorerErrorCode.VERIFICATION_FAILED; address: string; reason: string }
  | { code: ExplorerErrorCode.MODULE_REVERTED; module: string; call: string; error: string };

export class ExplorerError extends Error {
  override readonly name = "ExplorerError";
  constructor(readonly type: ExplorerErrorType) {
    const { code, ...data } = type;
    super(`${code} ${JSON.stringify(data)}`);
  }
  get code(): ExplorerErrorCode {
    return this.type.code;
  }
}
