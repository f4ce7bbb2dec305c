import { AzoraError } from "../../runtime/lib/errors.js";

/** Every way Azora Auth refuses a request. One code, one HTTP status (`httpStatusOf`), mapped once in `server.ts`. */
export enum AuthErrorCode {
  /** The request body or a field in it is malformed. */
  INVALID_REQUEST = "AUTH_INVALID_REQUEST",
  /** Wrong email/password pair, or no such account (the two are never told apart). */
  INVALID_CREDENTIALS = "AUTH_INVALID_CREDENTIALS",
  /** Too many wrong passwords: the account is locked until `until`. */
  ACCOUNT_LOCKED = "AUTH_ACCOUNT_LOCKED",
  /** The email is already registered. */
  EMAIL_TAKEN = "AUTH_EMAIL_TAKEN",
  /** The wallet is linked to another account. */
  WALLET_TAKEN = "AUTH_WALLET_TAKEN",
  /** The email address is not verified yet (password sign-in needs it). */
  EMAIL_NOT_VERIFIED = "AUTH_EMAIL_NOT_VERIFIED",
  /** A verification or reset token that is unknown, used or expired. */
  INVALID_MAIL_TOKEN = "AUTH_INVALID_MAIL_TOKEN",
  /** The SIWE message does not parse, or names another domain, URI or chain. */
  SIWE_INVALID_MESSAGE = "AUTH_SIWE_INVALID_MESSAGE",
  /** The SIWE message's expirationTime has passed (or notBefore is ahead). */
  SIWE_EXPIRED = "AUTH_SIWE_EXPIRED",
  /** The nonce was never issued, already used, or expired. */
  SIWE_BAD_NONCE = "AUTH_SIWE_BAD_NONCE",
  /** Neither an EOA signature by the address nor an ERC-1271 `isValidSignature` by the contract at it. */
  SIWE_BAD_SIGNATURE = "AUTH_SIWE_BAD_SIGNATURE",
  /** The access token is missing, malformed, expired, or not signed by one of our keys with EdDSA. */
  INVALID_TOKEN = "AUTH_INVALID_TOKEN",
  /** The refresh token is unknown or expired. */
  INVALID_REFRESH_TOKEN = "AUTH_INVALID_REFRESH_TOKEN",
  /** A refresh token was presented a second time: its whole family is revoked. */
  REFRESH_TOKEN_REUSED = "AUTH_REFRESH_TOKEN_REUSED",
  /** The account has a second factor and none (or a wrong one) was given. */
  MFA_REQUIRED = "AUTH_MFA_REQUIRED",
  MFA_INVALID_CODE = "AUTH_MFA_INVALID_CODE",
  /** The operation needs MFA to be set up first (or it is already on). */
  MFA_STATE = "AUTH_MFA_STATE",
  /** WebAuthn ceremony failed: unknown challenge, bad attestation/assertion, unknown credential. */
  WEBAUTHN_FAILED = "AUTH_WEBAUTHN_FAILED",
  /** The chain's JSON-RPC could not be reached to check an ERC-1271 signature. */
  CHAIN_UNAVAILABLE = "AUTH_CHAIN_UNAVAILABLE",
  NOT_FOUND = "AUTH_NOT_FOUND",
}

export type AuthErrorType =
  | { code: AuthErrorCode.INVALID_REQUEST; reason: string }
  | { code: AuthErrorCode.INVALID_CREDENTIALS }
  | { code: AuthErrorCode.ACCOUNT_LOCKED; until: number }
  | { code: AuthErrorCode.EMAIL_TAKEN }
  | { code: AuthErrorCode.WALLET_TAKEN }
  | { code: AuthErrorCode.EMAIL_NOT_VERIFIED }
  | { code: AuthErrorCode.INVALID_MAIL_TOKEN }
  | { code: AuthErrorCode.SIWE_INVALID_MESSAGE; reason: string }
  | { code: AuthErrorCode.SIWE_EXPIRED; reason: string }
  | { code: AuthErrorCode.SIWE_BAD_NONCE }
  | { code: AuthErrorCode.SIWE_BAD_SIGNATURE }
  | { code: AuthErrorCode.INVALID_TOKEN; reason: string }
  | { code: AuthErrorCode.INVALID_REFRESH_TOKEN }
  | { code: AuthErrorCode.REFRESH_TOKEN_REUSED }
  | { code: AuthErrorCode.MFA_REQUIRED; mfaToken: string; methods: string[] }
  | { code: AuthErrorCode.MFA_INVALID_CODE }
  | { code: AuthErrorCode.MFA_STATE; reason: string }
  | { code: AuthErrorCode.WEBAUTHN_FAILED; reason: string }
  | { code: AuthErrorCode.CHAIN_UNAVAILABLE; reason: string }
  | { code: AuthErrorCode.NOT_FOUND };

export class AuthError extends AzoraError<AuthErrorType> {
  constructor(type: AuthErrorType, message?: string) {
    super(type, message ?? describe(type));
  }
}

export function isAuthError(e: unknown, code?: AuthErrorCode): e is AuthError {
  return e instanceof AuthError && (code === undefined || e.code === code);
}

export function httpStatusOf(code: AuthErrorCode): number {
  switch (code) {
    case AuthErrorCode.INVALID_REQUEST:
    case AuthErrorCode.SIWE_INVALID_MESSAGE:
      return 400;
    case AuthErrorCode.INVALID_CREDENTIALS:
    case AuthErrorCode.SIWE_EXPIRED:
    case AuthErrorCode.SIWE_BAD_NONCE:
    case AuthErrorCode.SIWE_BAD_SIGNATURE:
    case AuthErrorCode.INVALID_TOKEN:
    case AuthErrorCode.INVALID_REFRESH_TOKEN:
    case AuthErrorCode.REFRESH_TOKEN_REUSED:
    case AuthErrorCode.MFA_REQUIRED:
    case AuthErrorCode.MFA_INVALID_CODE:
    case AuthErrorCode.WEBAUTHN_FAILED:
    case AuthErrorCode.INVALID_MAIL_TOKEN:
      return 401;
    case AuthErrorCode.EMAIL_NOT_VERIFIED:
      return 403;
    case AuthErrorCode.NOT_FOUND:
      return 404;
    case AuthErrorCode.EMAIL_TAKEN:
    case AuthErrorCode.WALLET_TAKEN:
    case AuthErrorCode.MFA_STATE:
      return 409;
    case AuthErrorCode.ACCOUNT_LOCKED:
      return 423;
    case AuthErrorCode.CHAIN_UNAVAILABLE:
      return 503;
  }
}

function describe(t: AuthErrorType): string {
  switch (t.code) {
    case AuthErrorCode.INVALID_REQUEST:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.INVALID_CREDENTIALS:
      return `${t.code}: wrong email or password`;
    case AuthErrorCode.ACCOUNT_LOCKED:
      return `${t.code}: too many wrong passwords; locked until ${new Date(t.until).toISOString()}`;
    case AuthErrorCode.EMAIL_TAKEN:
      return `${t.code}: this email is already registered`;
    case AuthErrorCode.WALLET_TAKEN:
      return `${t.code}: this wallet is linked to another account`;
    case AuthErrorCode.EMAIL_NOT_VERIFIED:
      return `${t.code}: verify the email address first (see the mail we sent)`;
    case AuthErrorCode.INVALID_MAIL_TOKEN:
      return `${t.code}: the link is unknown, already used or expired`;
    case AuthErrorCode.SIWE_INVALID_MESSAGE:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.SIWE_EXPIRED:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.SIWE_BAD_NONCE:
      return `${t.code}: the nonce was not issued here, is already used, or expired; ask for a new one`;
    case AuthErrorCode.SIWE_BAD_SIGNATURE:
      return `${t.code}: the signature is not the address's (EOA) nor accepted by its contract (ERC-1271)`;
    case AuthErrorCode.INVALID_TOKEN:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.INVALID_REFRESH_TOKEN:
      return `${t.code}: unknown or expired refresh token`;
    case AuthErrorCode.REFRESH_TOKEN_REUSED:
      return `${t.code}: refresh token used twice; every session of this sign-in is revoked`;
    case AuthErrorCode.MFA_REQUIRED:
      return `${t.code}: a second factor is needed (${t.methods.join(", ")})`;
    case AuthErrorCode.MFA_INVALID_CODE:
      return `${t.code}: wrong or used code`;
    case AuthErrorCode.MFA_STATE:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.WEBAUTHN_FAILED:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.CHAIN_UNAVAILABLE:
      return `${t.code}: ${t.reason}`;
    case AuthErrorCode.NOT_FOUND:
      return `${t.code}: not found`;
  }
}
