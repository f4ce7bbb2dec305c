/**
 * Who is calling: Azora Auth's access tokens (JWTs signed with its rotating EdDSA keys, published as a JWKS).
 * The verifier is a port — `(token) => Identity` — so the service, its tests and the mail worker's IMAP auth
 * can share it. Only asymmetric algorithms are accepted (never `none`, never HMAC with a public key), the
 * key must be in the issuer's key set, and `exp`/`nbf`/`iss`/`aud` are checked by jose.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Identity } from "./channels.js";
import { PushError, PushErrorCode } from "./errors.js";

export type TokenVerifier = (token: string) => Promise<Identity>;

export interface TokenVerifierOptions {
  /** Azora Auth's JWKS URL (e.g. https://auth.example/.well-known/jwks.json). */
  jwksUrl?: string;
  /** A JWKS file instead (offline deployments and tests). */
  jwksFile?: string;
  issuer?: string;
  audience?: string;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockToleranceSec?: number;
}

const ALGORITHMS = ["EdDSA", "ES256", "RS256"];
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  let keys: JWTVerifyGetKey;
  if (opts.jwksUrl !== undefined) keys = createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: 30_000 });
  else if (opts.jwksFile !== undefined)
    keys = createLocalJWKSet(JSON.parse(readFileSync(opts.jwksFile, "utf8")) as JSONWebKeySet);
  else throw new Error("push: auth needs jwksUrl or jwksFile (Azora Auth's key set)");
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: opts.clockToleranceSec ?? 5,
        requiredClaims: ["sub", "exp"],
      });
      const sub = payload.sub as string;
      const wallet =
        typeof payload.wallet === "string" && ADDRESS.test(payload.wallet) ? payload.wallet.toLowerCase() : undefined;
      return wallet === undefined ? { sub } : { sub, wallet };
    } catch (e) {
      const err = e as { code?: string; message: string };
      throw new PushError({ code: PushErrorCode.UNAUTHENTICATED, reason: err.code ?? err.message });
    }
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
