/**
 * Who is calling: Azora Auth's access tokens (JWTs signed with its rotating EdDSA keys, published as a JWKS),
 * checked by Azora Auth's own verifier (`services/auth/verifier.ts`), so both services agree on what a valid
 * token is. The port — `(token) => Identity` — keeps the hub and the server free of JWT details.
 */
import { readFileSync } from "node:fs";
import type { JSONWebKeySet } from "jose";
import { createAccessTokenVerifier } from "../auth/verifier.js";
import type { Identity } from "./channels.js";
import { PushError, PushErrorCode } from "./errors.js";

export type TokenVerifier = (token: string) => Promise<Identity>;

export interface TokenVerifierOptions {
  /** Azora Auth's JWKS URL (e.g. https://auth.example/.well-known/jwks.json). */
  jwksUrl?: string;
  /** A JWKS file instead (offline deployments and tests). */
  jwksFile?: string;
  /** Azora Auth's issuer (its public URL). */
  issuer?: string;
  /** `aud` of Azora Auth's access tokens (its `audience` key; "azora" by default there and here). */
  audience?: string;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockToleranceSec?: number;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Azora Auth's own verifier (EdDSA, `at+jwt`, issuer, audience, expiry), its errors mapped to this service's. */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  if (opts.issuer === undefined) throw new Error("push: auth.issuer (--issuer) is required: Azora Auth's issuer URL");
  let jwks: URL | JSONWebKeySet;
  if (opts.jwksUrl !== undefined) jwks = new URL(opts.jwksUrl);
  else if (opts.jwksFile !== undefined) jwks = JSON.parse(readFileSync(opts.jwksFile, "utf8")) as JSONWebKeySet;
  else throw new Error("push: auth.jwksUrl (--jwks-url) or auth.jwksFile is required: Azora Auth's key set");
  const verify = createAccessTokenVerifier({
    issuer: opts.issuer,
    audience: opts.audience ?? "azora",
    jwks,
    clockToleranceSec: opts.clockToleranceSec,
  });
  return async (token) => {
    let claims: Awaited<ReturnType<typeof verify>>;
    try {
      claims = await verify(token);
    } catch (e) {
      throw new PushError({ code: PushErrorCode.UNAUTHENTICATED, reason: (e as Error).message });
    }
    const wallet = claims.wallet !== undefined && ADDRESS.test(claims.wallet) ? claims.wallet.toLowerCase() : undefined;
    return wallet === undefined ? { sub: claims.sub } : { sub: claims.sub, wallet };
  };
}

/** The bearer token of a request: `Authorization: Bearer …`, or `access_token` in the query (browsers' WebSockets cannot set headers). */
export function bearerOf(headers: Record<string, string | string[] | undefined>, query: unknown): string | undefined {
  const h = headers.authorization;
  const v = Array.isArray(h) ? h[0] : h;
  if (v !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(v);
    return m?.[1];
  }
  const q = (query as { access_token?: unknown } | undefined)?.access_token;
  return typeof q === "string" && q.length > 0 ? q : undefined;
}
