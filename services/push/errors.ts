import { AzoraError } from "../../runtime/lib/errors.js";

export enum PushErrorCode {
  /** No token, a malformed one, a bad signature, an unknown key, a wrong issuer/audience or an expired one. */
  UNAUTHENTICATED = "PUSH_UNAUTHENTICATED",
  /** A valid identity asked for a channel that is not its own (another user's, another wallet's). */
  FORBIDDEN = "PUSH_FORBIDDEN",
  /** Not a channel name this service knows (`user:…`, `wallet:0x…`, `topic:…`). */
  INVALID_CHANNEL = "PUSH_INVALID_CHANNEL",
  /** A client frame that is not JSON or not one of the protocol's messages. */
  BAD_FRAME = "PUSH_BAD_FRAME",
  /** A payload above `limits.maxMessageBytes`. */
  TOO_LARGE = "PUSH_TOO_LARGE",
  /** More channels on one connection, or more connections for one identity, than the limits allow. */
  LIMIT = "PUSH_LIMIT",
  /** A Web Push subscription the service cannot use (not https/http URL, bad keys). */
  BAD_SUBSCRIPTION = "PUSH_BAD_SUBSCRIPTION",
}

export type PushErrorType =
  | { code: PushErrorCode.UNAUTHENTICATED; reason: string }
  | { code: PushErrorCode.FORBIDDEN; channel: string }
  | { code: PushErrorCode.INVALID_CHANNEL; channel: string }
  | { code: PushErrorCode.BAD_FRAME; reason: string }
  | { code: PushErrorCode.TOO_LARGE; bytes: number; limit: number }
  | { code: PushErrorCode.LIMIT; what: string; limit: number }
  | { code: PushErrorCode.BAD_SUBSCRIPTION; reason: string };

export class PushError extends AzoraError<PushErrorType> {
  constructor(type: PushErrorType, message?: string) {
    super(type, message ?? describe(type));
  }
}

function describe(t: PushErrorType): string {
  switch (t.code) {
    case PushErrorCode.UNAUTHENTICATED:
      return `not signed in: ${t.reason}`;
    case PushErrorCode.FORBIDDEN:
      return `channel ${t.channel} belongs to someone else`;
    case PushErrorCode.INVALID_CHANNEL:
      return `not a channel: ${t.channel.slice(0, 100)} (user:<id>, wallet:0x<address>, topic:<name>)`;
    case PushErrorCode.BAD_FRAME:
      return `bad message: ${t.reason}`;
    case PushErrorCode.TOO_LARGE:
      return `payload of ${t.bytes} bytes is above the limit of ${t.limit}`;
    case PushErrorCode.LIMIT:
      return `too many ${t.what} (limit ${t.limit})`;
    case PushErrorCode.BAD_SUBSCRIPTION:
      return `unusable Web Push subscription: ${t.reason}`;
  }
}

/** HTTP status of each code — mapped once, here, for the HTTP boundary. */
export function httpStatus(code: PushErrorCode): number {
  switch (code) {
    case PushErrorCode.UNAUTHENTICATED:
      return 401;
    case PushErrorCode.FORBIDDEN:
      return 403;
    case PushErrorCode.TOO_LARGE:
      return 413;
    case PushErrorCode.LIMIT:
      return 429;
    default:
      return 400;
  }
}

/** WebSocket close code of each code (4000–4999 are the application's; 4401/4403 mirror HTTP). */
export function closeCode(code: PushErrorCode): number {
  return 4000 + httpStatus(code);
}
