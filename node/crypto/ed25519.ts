import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { SignatureVerifier, VoteSigner } from "../../consensus/vote.js";

// DER prefixes that wrap raw 32-byte ed25519 keys as PKCS#8 / SPKI for node:crypto.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error("ed25519 seed must be 32 bytes");
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyFromSeed(seed)).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/** ed25519 through node:crypto: ~34k signs/s and ~11k verifies/s on this machine (STACK-NOTES §5). */
export class Ed25519Signer implements VoteSigner {
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;

  constructor(seed: Uint8Array) {
    this.key = privateKeyFromSeed(seed);
    this.publicKey = publicKeyFromSeed(seed);
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.key));
  }
}

/**
 * Verifier that keeps one KeyObject per public key (building it per call halves verify speed) and,
 * with `verifiedCacheSize`, remembers the last verified (key, message, signature) triples: a node checks
 * each precommit when it arrives as a vote and again in the commit certificate the next proposal carries
 * (and block sync, evidence), ~0.1–0.2 ms per signature on a 2-vCPU VM. Only successful checks are kept,
 * keyed by the exact bytes, so a hit answers what node:crypto answered for the same input.
 */
export class Ed25519Verifier implements SignatureVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private readonly verified = new Set<string>();
  private readonly verifiedCacheSize: number;

  constructor(opts: { verifiedCacheSize?: number } = {}) {
    this.verifiedCacheSize = opts.verifiedCacheSize ?? 0;
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    const cacheKey = this.verifiedCacheSize > 0 ? cacheKeyOf(publicKey, message, signature) : null;
    if (cacheKey !== null && this.verified.has(cacheKey)) return true;
    const id = Buffer.from(publicKey).toString("hex");
    let key = this.keys.get(id);
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
      if (this.keys.size > 10_000) this.keys.clear();
      this.keys.set(id, key);
    }
    const ok = verify(null, message, key, signature);
    if (ok && cacheKey !== null) this.keep(cacheKey);
    return ok;
  }

  /**
   * Records a triple that node:crypto's verify accepted on another thread (block sync checks commit certificates
   * on a worker ahead of their turn), so that `verify` of it is a cache hit. Only for such triples: the cache
   * answers true for whatever it holds.
   */
  remember(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
    if (this.verifiedCacheSize === 0 || publicKey.length !== 32 || signature.length !== 64) return;
    this.keep(cacheKeyOf(publicKey, message, signature));
  }

  private keep(cacheKey: string): void {
    if (this.verified.has(cacheKey)) return;
    // Oldest first out (a Set iterates in insertion order).
    if (this.verified.size >= this.verifiedCacheSize)
      this.verified.delete(this.verified.values().next().value as string);
    this.verified.add(cacheKey);
  }
}

/** A verified triple's key in the cache: fixed-length key and signature first, so the concatenation is unambiguous. */
function cacheKeyOf(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return Buffer.concat([publicKey, signature, message]).toString("latin1");
}
