import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT } from "../../../runtime/primitives/hash.js";
import { encodeLeaf, hexPrefix, orderedTrieRoot, trieRoot } from "../../../runtime/primitives/trieRoot.js";

async function reference(entries: [Uint8Array, Uint8Array][]): Promise<string> {
  const trie = new MerklePatriciaTrie();
  for (const [k, v] of entries) await trie.put(k, v);
  return bytesToHex(trie.root());
}

const toNibbles = (b: Uint8Array) => Array.from(b).flatMap((x) => [x >> 4, x & 15]);

describe("ordered trie root (one-pass build)", () => {
  it("is the empty-trie root for no values", async () => {
    expect(bytesToHex(await orderedTrieRoot([]))).toBe(bytesToHex(EMPTY_TRIE_ROOT));
  });

  it("matches @ethereumjs/mpt for random value lists (short values exercise embedded nodes)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 70 }), { maxLength: 300 }), async (values) => {
        const expected = await reference(values.map((v, i) => [RLP.encode(i), v]));
        expect(bytesToHex(await orderedTrieRoot(values))).toBe(expected);
      }),
      { numRuns: 120, seed: 7 },
    );
  });

  it("matches @ethereumjs/mpt for long blocks (3-byte keys) and values of every RLP length width", async () => {
    const values = Array.from({ length: 1100 }, (_, i) =>
      new Uint8Array(i % 7 === 0 ? 1 : 40 + (i % 300)).fill(i & 0xff),
    );
    values[3] = new Uint8Array(70_000).fill(3); // a 3-byte length header
    values[700] = new Uint8Array(300).fill(7); // a 2-byte one
    values[5] = Uint8Array.of(0x7f); // a single byte below 0x80 is its own encoding
    values[6] = Uint8Array.of(0x80);
    const expected = await reference(values.map((v, i) => [RLP.encode(i), v]));
    expect(bytesToHex(await orderedTrieRoot(values))).toBe(expected);
  });

  it("matches @ethereumjs/mpt for arbitrary distinct keys, including keys that prefix others", async () => {
    const entryArb = fc.uniqueArray(
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 40 })),
      {
        selector: ([k]) => bytesToHex(k),
        maxLength: 60,
      },
    );
    await fc.assert(
      fc.asyncProperty(entryArb, async (entries) => {
        const expected = await reference(entries);
        expect(bytesToHex(trieRoot(entries.map(([k, v]) => ({ key: toNibbles(k), value: v }))))).toBe(expected);
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});

describe("encodeLeaf (a leaf written into one buffer)", () => {
  it("equals RLP([hexPrefix(key[from..], leaf), value]) for random paths, offsets and values of every header width", () => {
    const value = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 2 }), // empty, a single byte below and above 0x80
      fc.uint8Array({ minLength: 50, maxLength: 60 }), // around the 55-byte limit of a one-byte header
      fc.uint8Array({ minLength: 200, maxLength: 300 }), // one and two length bytes
      fc.constant(new Uint8Array(70_000).fill(9)), // three length bytes
    );
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 15 }), { maxLength: 64 }), fc.nat(), value, (key, at, v) => {
        const from = key.length === 0 ? 0 : at % (key.length + 1);
        const plain = RLP.encode([hexPrefix(key.slice(from), true), v]);
        expect(bytesToHex(encodeLeaf(key, v, from))).toBe(bytesToHex(plain));
      }),
      { numRuns: 2000, seed: 20261206 },
    );
  });
});
