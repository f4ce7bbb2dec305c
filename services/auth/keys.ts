/**
 * Access tokens: short-lived JWTs signed with EdDSA (Ed25519) keys that rotate. The newest key signs; retired keys
 * stay in the published JWKS until every token they signed has expired, so verifiers that cached the JWKS keep
 * working across a rotation. Keys live in the repository, so restarts and several instances agree on them.
 */
import { randomUUID } from "node:crypto";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import type { AuthRepository } from "./store/repository.js";

/** `typ` header of access tokens (RFC 9068), so no other JWT we sign (e.g. an MFA ticket) passes as one. */
export const ACCESS_TOKEN_TYP = "at+jwt";
export const MFA_TICKET_TYP = "azora-mfa+jwt";
export const ALG = "EdDSA";

interface LiveKey {
  kid: string;
  privateKey: CryptoKey;
  /** The private key as stored; only the OIDC provider (which wants JWKs) reads it. */
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: number;
  retiresAt: number;
}

export class SigningKeys {
  private keys: LiveKey[] = [];

  constructor(
    private readonly repo: AuthRepository,
    private readonly opts: { rotationMs: number; maxTokenTtlMs: number; now: () => number },
  ) {}

  /** The current signing key, made (and stored) when there is none or the newest is due for rotation. */
  async current(): Promise<LiveKey> {
    const now = this.opts.now();
    if (this.keys.length === 0 || this.keys[0].retiresAt <= now) await this.load();
    if (this.keys.length === 0 || this.keys[0].retiresAt <= now) await this.rotate();
    return this.keys[0];
  }

  /** Makes a new key the signing key at once (operators call this after a suspected leak, with old keys kept). */
  async rotate(): Promise<void> {
    const now = this.opts.now();
    const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG };
    await this.repo.saveSigningKey({
      kid,
      privateJwk: JSON.stringify(privateJwk),
      publicJwk: JSON.stringify(publicJwk),
      createdAt: now,
      retiresAt: now + this.opts.rotationMs,
    });
    await this.load();
  }

  private async load(): Promise<void> {
    const rows = await this.repo.signingKeys(this.opts.now(), this.opts.maxTokenTtlMs);
    this.keys = await Promise.all(
      rows.map(async (r) => ({
        kid: r.kid,
        privateKey: (await importJWK(JSON.parse(r.privateJwk) as JWK, ALG)) as CryptoKey,
        privateJwk: JSON.parse(r.privateJwk) as JWK,
        publicJwk: JSON.parse(r.publicJwk) as JWK,
        createdAt: r.createdAt,
        retiresAt: r.retiresAt,
      })),
    );
  }

  async jwks(): Promise<JSONWebKeySet> {
    await this.current();
    const now = this.opts.now();
    return {
      keys: this.keys.filter((k) => k.retiresAt + this.opts.maxTokenTtlMs > now).map((k) => k.publicJwk),
    };
  }

  async sign(claims: JWTPayload, o: { typ: string; ttlSec: number; issuer: string; audience?: string }) {
    const key = await this.current();
    const now = Math.floor(this.opts.now() / 1000);
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: o.typ })
      .setIssuer(o.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + o.ttlSec)
      .setJti(randomUUID());
    if (o.audience !== undefined) jwt = jwt.setAudience(o.audience);
    return jwt.sign(key.privateKey);
  }
}
