import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Ed25519Signer, Ed25519Verifier } from "../../../../node/crypto/ed25519.js";

// The verified-signature cache must answer exactly what node:crypto answers: differential on random
// (key, message, signature) triples, valid and tampered, through a cache smaller than the inputs.
describe("Ed25519Verifier with a verified-signature cache", () => {
  it("agrees with the uncached verifier on valid, tampered and repeated inputs", () => {
    const plain = new Ed25519Verifier();
    const cached = new Ed25519Verifier({ verifiedCacheSize: 8 });
    const signers = [0, 1, 2].map(() => new Ed25519Signer(randomBytes(32)));
    const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 40; i++) {
      const s = signers[i % signers.length];
      const msg = randomBytes(1 + (i % 90));
      const sig = s.sign(msg);
      cases.push([s.publicKey, msg, sig]);
      // The same signature under another key, another message, or with one bit flipped.
      cases.push([signers[(i + 1) % signers.length].publicKey, msg, sig]);
      const msg2 = Uint8Array.from(msg);
      msg2[0] ^= 1;
      cases.push([s.publicKey, msg2, sig]);
      const sig2 = Uint8Array.from(sig);
      sig2[i % 64] ^= 0x80;
      cases.push([s.publicKey, msg, sig2]);
      // Boundary-shifted concatenation: the key's bytes moved into the message must not hit the cache.
      cases.push([s.publicKey, Uint8Array.from([...msg, 0]), sig]);
    }
    // Twice over, in a shuffled order the second time, so hits, misses and evictions all occur.
    const order = [...cases.keys(), ...[...cases.keys()].sort(() => Math.random() - 0.5)];
    let valid = 0;
    for (const k of order) {
      const [pk, msg, sig] = cases[k];
      const want = plain.verify(pk, msg, sig);
      expect(cached.verify(pk, msg, sig)).toBe(want);
      if (want) valid++;
    }
    expect(valid).toBe(80);
  });

  it("a cached triple stays valid only for its exact bytes", () => {
    const v = new Ed25519Verifier({ verifiedCacheSize: 4 });
    const s = new Ed25519Signer(randomBytes(32));
    const msg = randomBytes(64);
    const sig = s.sign(msg);
    expect(v.verify(s.publicKey, msg, sig)).toBe(true);
    expect(v.verify(s.publicKey, msg, sig)).toBe(true);
    const other = Uint8Array.from(msg);
    other[63] ^= 1;
    expect(v.verify(s.publicKey, other, sig)).toBe(false);
    expect(v.verify(s.publicKey, msg.subarray(0, 63), sig)).toBe(false);
  });
});
