/**
 * The access-token verifier other services import (Azora Push, Mail's IMAP auth): it checks a bearer token against
 * the JWKS Azora Auth publishes — EdDSA only (so `alg: none`, HS256 with a public key as secret, or any foreign key
 * fail), our issuer and audience, the `at+jwt` type and the expiry. It keeps the JWKS cached and refetches on an
 * unknown `kid` (key rotation).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { AuthError, AuthErrorCode } from "./errors.js";
import { ACCESS_TOKEN_TYP, ALG } from "./keys.js";

export interface AccessClaims {
  /** The account id. */
  sub: string;
  /** How the user signed in: "pwd", "siwe", "otp", "hwk" (RFC 8176 values). */
  amr: string[];
  wallet?: string;
  email?: string;
  exp: number;
  iat: number;
  jti: string;
}

export type AccessTokenVerifier = (token: string) => Promise<AccessClaims>;

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** The JWKS URL (`<issuer>/.well-known/jwks.json`), or a key set in hand (in-process use and tests). */
  jwks: URL | JSONWebKeySet | (() => Promise<JSONWebKeySet>);
  /** Allowed clock skew in seconds (default 5). */
  clockToleranceSec?: number;
  /** The clock in ms (default the wall clock). */
  now?: () => number;
}

export function createAccessTokenVerifier(o: VerifierOptions): AccessTokenVerifier {
  const keySet =
    o.jwks instanceof URL
      ? createRemoteJWKSet(o.jwks, { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000 })
      : typeof o.jwks === "function"
        ? ((async (...args: Parameters<ReturnType<typeof createLocalJWKSet>>) =>
            createLocalJWKSet(await (o.jwks as () => Promise<JSONWebKeySet>)())(...args)) as ReturnType<
            typeof createLocalJWKSet
          >)
        : createLocalJWKSet(o.jwks);
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keySet, {
        algorithms: [ALG],
        issuer: o.issuer,
        audience: o.audience,
        typ: ACCESS_TOKEN_TYP,
        clockTolerance: o.clockToleranceSec ?? 5,
        currentDate: o.now === undefined ? undefined : new Date(o.now()),
        requiredClaims: ["sub", "exp", "iat", "jti"],
      });
      return claimsOf(payload);
    } catch (e) {
      throw new AuthError({ code: AuthErrorCode.INVALID_TOKEN, reason: reasonOf(e) });
    }
  };
}

function claimsOf(p: JWTPayload): AccessClaims {
  const amr = Array.isArray(p.amr) ? (p.amr as unknown[]).filter((x): x is string => typeof x === "string") : [];
  return {
    sub: p.sub as string,
    amr,
    wallet: typeof p.wallet === "string" ? p.wallet : undefined,
    email: typeof p.email === "string" ? p.email : undefined,
    exp: p.exp as number,
    iat: p.iat as number,
    jti: p.jti as string,
  };
}

function reasonOf(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return "access token expired";
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed (EdDSA only)";
  if (e instanceof joseErrors.JWKSNoMatchingKey) return "not signed by a key in our JWKS";
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim ${e.claim} invalid (${e.reason})`;
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return "malformed token";
  if (e instanceof joseErrors.JOSEError) return e.code;
  return "token could not be verified";
}
