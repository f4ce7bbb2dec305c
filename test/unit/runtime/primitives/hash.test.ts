import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { keccak_256 as nobleKeccak } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_TRIE_ROOT, KECCAK256_EMPTY, keccak256 } from "../../../../runtime/primitives/hash.js";
import { KeccakWasmLoadError, moduleBytesFromBundle } from "../../../../runtime/primitives/keccakWasm.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("keccak256 (wasm) against @noble/hashes' keccak_256", () => {
  it("agrees on random inputs of 0–5,000 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(hex(keccak256(data))).toBe(hex(nobleKeccak(data)));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees around the rate (136 bytes) and the module's 16 KB input buffer (longer inputs are fed in chunks)", () => {
    const big = crypto.getRandomValues(new Uint8Array(50_000));
    for (const n of [0, 1, 135, 136, 137, 271, 272, 273, 16_383, 16_384, 16_385, 32_768, 32_769, 50_000]) {
      const data = big.subarray(0, n);
      expect(hex(keccak256(data)), `${n} bytes`).toBe(hex(nobleKeccak(data)));
    }
  });

  it("hashes the view it is given, not its whole buffer (a subarray at an offset)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const from = a % bytes.length;
        const to = from + (b % (bytes.length - from + 1));
        const view = bytes.subarray(from, to);
        expect(hex(keccak256(view))).toBe(hex(nobleKeccak(bytes.slice(from, to))));
      }),
    );
  });

  it("knows the empty input and the empty trie root", () => {
    expect(hex(KECCAK256_EMPTY)).toBe("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect(hex(EMPTY_TRIE_ROOT)).toBe("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    expect(hex(keccak256(new Uint8Array(0)))).toBe(hex(KECCAK256_EMPTY));
  });

  it("returns a fresh 32-byte array each time: a later hash or a caller's write changes no other result", () => {
    const first = keccak256(Uint8Array.of(1));
    const kept = hex(first);
    const second = keccak256(Uint8Array.of(2));
    expect(hex(first)).toBe(kept);
    expect(first.length).toBe(32);
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(32);
    second.fill(0);
    expect(hex(first)).toBe(kept);
    expect(hex(keccak256(Uint8Array.of(2)))).toBe(hex(nobleKeccak(Uint8Array.of(2))));
  });
});

describe("the keccak wasm module's loading", () => {
  it("refuses a module whose bytes differ from the pinned fingerprint, or a bundle without one", () => {
    const require = createRequire(import.meta.url);
    const text = readFileSync(join(dirname(require.resolve("hash-wasm")), "keccak.umd.min.js"), "utf8");
    expect(moduleBytesFromBundle(text).length).toBeGreaterThan(0);
    // One base64 character of the module changed (past its "AGFzbQ" magic): a different module.
    const at = text.indexOf('"AGFzbQ') + 40;
    const tampered = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    expect(() => moduleBytesFromBundle(tampered)).toThrow(KeccakWasmLoadError);
    expect(() => moduleBytesFromBundle("no module here")).toThrow(KeccakWasmLoadError);
  });
});
