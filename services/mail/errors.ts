import { AzoraError } from "../../runtime/lib/errors.js";

export enum MailErrorCode {
  /** A header name or value with CR/LF (header injection), or a malformed address. */
  BAD_MESSAGE = "MAIL_BAD_MESSAGE",
  /** The sender's domain is not one this server signs for, or an authenticated user sent as someone else. */
  SENDER_NOT_ALLOWED = "MAIL_SENDER_NOT_ALLOWED",
  /** No token, a bad token, or wrong credentials. */
  UNAUTHENTICATED = "MAIL_UNAUTHENTICATED",
  /** A message or mailbox that is not there (or not the caller's). */
  NOT_FOUND = "MAIL_NOT_FOUND",
  /** A template variable the template uses but the caller did not give. */
  TEMPLATE_VARIABLE = "MAIL_TEMPLATE_VARIABLE",
  /** The configuration is inconsistent (unknown domain in a user, a key file that cannot be read). */
  CONFIG = "MAIL_CONFIG",
}

export type MailErrorType =
  | { code: MailErrorCode.BAD_MESSAGE; reason: string }
  | { code: MailErrorCode.SENDER_NOT_ALLOWED; sender: string; reason: string }
  | { code: MailErrorCode.UNAUTHENTICATED; reason: string }
  | { code: MailErrorCode.NOT_FOUND; what: string }
  | { code: MailErrorCode.TEMPLATE_VARIABLE; name: string }
  | { code: MailErrorCode.CONFIG; reason: string };

export class MailError extends AzoraError<MailErrorType> {
  constructor(type: MailErrorType, message?: string) {
    super(type, message ?? describe(type));
  }
}

function describe(t: MailErrorType): string {
  switch (t.code) {
    case MailErrorCode.BAD_MESSAGE:
      return `bad message: ${t.reason}`;
    case MailErrorCode.SENDER_NOT_ALLOWED:
      return `sender ${t.sender} not allowed: ${t.reason}`;
    case MailErrorCode.UNAUTHENTICATED:
      return `unauthenticated: ${t.reason}`;
    case MailErrorCode.NOT_FOUND:
      return `not found: ${t.what}`;
    case MailErrorCode.TEMPLATE_VARIABLE:
      return `template variable {{${t.name}}} has no value`;
    case MailErrorCode.CONFIG:
      return `mail config: ${t.reason}`;
  }
}

/** The HTTP status of each code, mapped once for the JSON API. */
export function httpStatusOf(code: MailErrorCode): number {
  switch (code) {
    case MailErrorCode.BAD_MESSAGE:
    case MailErrorCode.TEMPLATE_VARIABLE:
      return 400;
    case MailErrorCode.UNAUTHENTICATED:
      return 401;
    case MailErrorCode.SENDER_NOT_ALLOWED:
      return 403;
    case MailErrorCode.NOT_FOUND:
      return 404;
    case MailErrorCode.CONFIG:
      return 500;
  }
}
