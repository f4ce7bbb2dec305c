import { AzoraError } from "../../runtime/lib/errors.js";

export enum KeyErrorCode {
  /** The mnemonic is not a valid BIP-39 phrase (word list or checksum). */
  INVALID_MNEMONIC = "KEY_ERROR_INVALID_MNEMONIC",
  /** The derivation path is not a Substrate hard path (`//a//b`); ed25519 has no soft derivation. */
  INVALID_PATH = "KEY_ERROR_INVALID_PATH",
  /** The key file cannot be read or is neither a keystore nor a devnet plain key. */
  BAD_FILE = "KEY_ERROR_BAD_FILE",
  /** Authenticated decryption failed: wrong password, or the file was altered. */
  WRONG_PASSWORD = "KEY_ERROR_WRONG_PASSWORD",
  /** No password was given for an encrypted key (and no terminal to ask on). */
  NO_PASSWORD = "KEY_ERROR_NO_PASSWORD",
  /** A new password is too short. */
  WEAK_PASSWORD = "KEY_ERROR_WEAK_PASSWORD",
  /** The output file exists (keys are never overwritten). */
  EXISTS = "KEY_ERROR_EXISTS",
}

export type KeyErrorType =
  | { code: KeyErrorCode.INVALID_MNEMONIC }
  | { code: KeyErrorCode.INVALID_PATH; path: string }
  | { code: KeyErrorCode.BAD_FILE; file: string; reason: string }
  | { code: KeyErrorCode.WRONG_PASSWORD; file: string }
  | { code: KeyErrorCode.NO_PASSWORD; file: string }
  | { code: KeyErrorCode.WEAK_PASSWORD; minLength: number }
  | { code: KeyErrorCode.EXISTS; file: string };

export class KeyError extends AzoraError<KeyErrorType> {}
