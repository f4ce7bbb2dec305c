/**
 * How Azora Mail checks who is signing in (SMTP AUTH, IMAP, the JSON API): access JWTs are verified against Azora
 * Auth's JWKS (`createAccessTokenVerifier`), and a password is exchanged for one at Auth's password sign-in. The
 * token's `email` claim is the mailbox.
 */
import { type AccessClaims, type AccessTokenVerifier, createAccessTokenVerifier } from "../auth/verifier.js";
import type { MailConfig } from "./config.js";
import { MailError, MailErrorCode } from "./errors.js";
import type { SubmissionAuth } from "./smtp.js";

export interface MailAuth extends SubmissionAuth {
  /** Verifies an access token; resolves with the claims (the mailbox is `email`). */
  verify(token: string): Promise<AccessClaims & { email: string }>;
}

const unauthenticated = (reason: string) => new MailError({ code: MailErrorCode.UNAUTHENTICATED, reason });

export function createMailAuth(cfg: MailConfig["auth"], verifier?: AccessTokenVerifier): MailAuth {
  const base = cfg.url?.replace(/\/$/, "");
  const issuer = cfg.issuer ?? base;
  let verifyToken = verifier;
  if (verifyToken === undefined) {
    if (issuer === undefined || (cfg.jwksUrl === undefined && base === undefined))
      throw new MailError({
        code: MailErrorCode.CONFIG,
        reason: "auth.url (or auth.issuer + auth.jwksUrl) is required",
      });
    verifyToken = createAccessTokenVerifier({
      issuer,
      audience: cfg.audience,
      jwks: new URL(cfg.jwksUrl ?? `${base}/.well-known/jwks.json`),
    });
  }
  const check = verifyToken;
  const verify = async (token: string) => {
    let claims: AccessClaims;
    try {
      claims = await check(token);
    } catch (e) {
      throw unauthenticated((e as Error).message);
    }
    if (claims.email === undefined) throw unauthenticated("the token carries no email (no mailbox)");
    return { ...claims, email: claims.email.toLowerCase() };
  };
  const sameUser = (username: string, email: string) => {
    if (username.toLowerCase() !== email) throw unauthenticated("the token belongs to another address");
    return email;
  };
  return {
    verify,
    async bearer(username, token) {
      return sameUser(username, (await verify(token)).email);
    },
    async password(username, password) {
      if (base === undefined) throw unauthenticated("password sign-in needs auth.url");
      const r = await fetch(`${base}/v1/password/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: username, password }),
      });
      const body = (await r.json().catch(() => ({}))) as { accessToken?: string };
      if (r.status !== 200 || typeof body.accessToken !== "string")
        throw unauthenticated(`Azora Auth refused the sign-in (HTTP ${r.status})`);
      return sameUser(username, (await verify(body.accessToken)).email);
    },
  };
}
