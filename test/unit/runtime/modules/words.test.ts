import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressToWord, wordToAddress } from "../../../../runtime/modules/nft/storage.js";
import { bytesToUint, uintToAddress, uintToWord } from "../../../../runtime/modules/words.js";

/**
 * words.ts's 64-bit-limb conversions against the per-byte loops they replaced (kept here as the
 * reference): every length 0..40 (the head-byte cases around each limb), the limb and word
 * boundaries, values above 2^256 and negative ones, then random bytes and bigints.
 */

function refBytesToUint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function refUintToWord(v: bigint): Uint8Array {
  const w = new Uint8Array(32);
  let n = v;
  for (let i = 31; i >= 0 && n > 0n; i--) {
    w[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return w;
}

function refUintToAddress(word: bigint): Uint8Array {
  const out = new Uint8Array(20);
  let n = word & ((1n << 160n) - 1n);
  for (let i = 19; i >= 0 && n > 0n; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

const EDGES = [
  0n,
  1n,
  255n,
  256n,
  2n ** 48n - 1n,
  2n ** 48n,
  2n ** 53n + 1n,
  2n ** 56n - 1n,
  2n ** 64n - 1n,
  2n ** 64n,
];
const MORE = [2n ** 128n + 3n, 2n ** 160n - 1n, 2n ** 160n, 2n ** 192n - 1n, 2n ** 255n, 2n ** 256n - 1n, 2n ** 256n];
const VALUES = [...EDGES, ...MORE, 2n ** 300n + 12345n, -1n, -(2n ** 64n), -(2n ** 200n) - 7n];

describe("module words: 64-bit limbs against per-byte loops", () => {
  it("bytesToUint reads every length 0..40 of all-0xff, all-0x01 and sparse bytes", () => {
    for (let len = 0; len <= 40; len++) {
      for (const fill of [0xff, 0x01, 0x00]) {
        const bytes = new Uint8Array(len).fill(fill);
        if (len > 0) bytes[0] = 0x80 | fill;
        if (len > 7) bytes[len - 8] = 0xa5;
        expect(bytesToUint(bytes), `len ${len} fill ${fill}`).toBe(refBytesToUint(bytes));
      }
    }
  });

  it("bytesToUint reads views at any offset (storage values are subarrays)", () => {
    const backing = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let off = 0; off < 9; off++) {
      for (let len = 0; len <= 40; len++) {
        const view = backing.subarray(off, off + len);
        expect(bytesToUint(view)).toBe(refBytesToUint(view));
      }
    }
  });

  it("uintToWord and uintToAddress match at limb and word boundaries, above 2^256 and below zero", () => {
    for (const v of VALUES) {
      expect(uintToWord(v), `word ${v}`).toEqual(refUintToWord(v));
      expect(uintToAddress(v), `address ${v}`).toEqual(refUintToAddress(v));
      expect(wordToAddress(v)).toEqual(refUintToAddress(v));
    }
  });

  it("random bytes and bigints agree with the reference and round-trip", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        expect(bytesToUint(bytes)).toBe(refBytesToUint(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 260n), max: 2n ** 260n }), (v) => {
        expect(uintToWord(v)).toEqual(refUintToWord(v));
        expect(uintToAddress(v)).toEqual(refUintToAddress(v));
        if (v >= 0n && v < 2n ** 256n) expect(bytesToUint(uintToWord(v))).toBe(v);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (address) => {
        expect(addressToWord(address)).toBe(refBytesToUint(address));
        expect(wordToAddress(addressToWord(address))).toEqual(address);
      }),
      { numRuns: 1000 },
    );
  });
});
