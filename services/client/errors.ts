import { AzoraError } from "../../runtime/lib/errors.js";

export enum ClientErrorCode {
  /** The market reverted the call; `error` is the decoded custom error (JobNoFreeSlot, JobTooEarly, …). */
  MARKET_REVERT = "CLIENT_MARKET_REVERT",
  /** Staking or governance reverted the call; `error` is the decoded custom error (ValidatorNotFound, …). */
  MODULE_REVERT = "CLIENT_MODULE_REVERT",
  /** No slot of the job has delivered a result yet. */
  NOT_DELIVERED = "CLIENT_NOT_DELIVERED",
  /** The input is larger than fits inline and no host was given to serve it. */
  INPUT_NEEDS_HOST = "CLIENT_INPUT_NEEDS_HOST",
  /** waitFor gave up. */
  TIMEOUT = "CLIENT_TIMEOUT",
  /** The runner cannot sign (a provider was given where a signer is needed). */
  NO_SIGNER = "CLIENT_NO_SIGNER",
}

export type ClientErrorType =
  | { code: ClientErrorCode.MARKET_REVERT; fn: string; error: string; args: string[] }
  | { code: ClientErrorCode.MODULE_REVERT; fn: string; error: string; args: string[] }
  | { code: ClientErrorCode.NOT_DELIVERED; id: string }
  | { code: ClientErrorCode.INPUT_NEEDS_HOST; size: number; inlineLimit: number }
  | { code: ClientErrorCode.TIMEOUT; id: string; waitedMs: number; status: string }
  | { code: ClientErrorCode.NO_SIGNER };

export class ClientError extends AzoraError<ClientErrorType> {}
