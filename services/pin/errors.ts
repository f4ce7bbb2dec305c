import { AzoraError } from "../../runtime/lib/errors.js";

export enum PinErrorCode {
  /** The pin request (the job's input), the receipt or the challenge evidence does not parse. */
  BAD_REQUEST = "PIN_BAD_REQUEST",
  /** A root of a codec other than raw and dag-pb: its links (and so its positions) are not known here. */
  UNSUPPORTED_CODEC = "PIN_UNSUPPORTED_CODEC",
  /** A dag-pb block that does not decode, or a DAG deeper than a proof may be. */
  BAD_DAG = "PIN_BAD_DAG",
  /** The DAG spans more bytes than this worker holds for one job or in all. */
  TOO_LARGE = "PIN_TOO_LARGE",
  /** The request's dagBytes differs from what the root block commits to. */
  SIZE_MISMATCH = "PIN_SIZE_MISMATCH",
  /** A block on the way to the challenged position is not held here. */
  BLOCK_MISSING = "PIN_BLOCK_MISSING",
  /** A proof that does not lead from the root to the challenged position. */
  BAD_PROOF = "PIN_BAD_PROOF",
}

export type PinErrorType =
  | { code: PinErrorCode.BAD_REQUEST; reason: string }
  | { code: PinErrorCode.UNSUPPORTED_CODEC; cid: string; codec: number }
  | { code: PinErrorCode.BAD_DAG; reason: string }
  | { code: PinErrorCode.TOO_LARGE; reason: string }
  | { code: PinErrorCode.SIZE_MISMATCH; declared: string; actual: string }
  | { code: PinErrorCode.BLOCK_MISSING; cid: string }
  | { code: PinErrorCode.BAD_PROOF; reason: string };

export class PinError extends AzoraError<PinErrorType> {
  constructor(type: PinErrorType) {
    super(type, `${type.code}: ${describe(type)}`);
  }
}

function describe(t: PinErrorType): string {
  switch (t.code) {
    case PinErrorCode.UNSUPPORTED_CODEC:
      return `${t.cid} has codec 0x${t.codec.toString(16)} (raw and dag-pb only)`;
    case PinErrorCode.SIZE_MISMATCH:
      return `the request says ${t.declared} bytes, the DAG spans ${t.actual}`;
    case PinErrorCode.BLOCK_MISSING:
      return `block ${t.cid} is not held`;
    default:
      return t.reason;
  }
}
