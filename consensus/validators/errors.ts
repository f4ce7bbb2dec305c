import { AzoraError } from "../../runtime/lib/errors.js";

export enum ValidatorUpdateErrorCode {
  /** A key that is not 32 bytes, a fee recipient that is not 20, a negative power. */
  MALFORMED = "VALIDATOR_UPDATE_ERROR_MALFORMED",
  /** One key twice in one block's updates. */
  DUPLICATE = "VALIDATOR_UPDATE_ERROR_DUPLICATE",
  /** Power 0 for a key that is not in the set. */
  UNKNOWN_REMOVAL = "VALIDATOR_UPDATE_ERROR_UNKNOWN_REMOVAL",
  /** The updates would leave no validator. */
  EMPTY_SET = "VALIDATOR_UPDATE_ERROR_EMPTY_SET",
  /** More validators than the protocol carries, or a total power above its bound. */
  TOO_LARGE = "VALIDATOR_UPDATE_ERROR_TOO_LARGE",
}

export type ValidatorUpdateErrorType =
  | { code: ValidatorUpdateErrorCode.MALFORMED; reason: string }
  | { code: ValidatorUpdateErrorCode.DUPLICATE; publicKey: string }
  | { code: ValidatorUpdateErrorCode.UNKNOWN_REMOVAL; publicKey: string }
  | { code: ValidatorUpdateErrorCode.EMPTY_SET }
  | { code: ValidatorUpdateErrorCode.TOO_LARGE; reason: string };

/**
 * Validator updates the app reported cannot be applied. Every node computes the same updates from the
 * same block, so this is an app bug every node hits at the same height: consensus halts there
 * (CometBFT panics the same way) rather than guess a set.
 */
export class ValidatorUpdateError extends AzoraError<ValidatorUpdateErrorType> {}
