import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hexToBytes, toHexData } from "../../../rpc/hex.js";

/** The plain per-byte encoding `toHexData` replaced with Node's hex encoder. */
function referenceHex(bytes: Uint8Array): string {
  let out = "0x";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

describe("toHexData", () => {
  it("matches the per-byte encoding on random bytes, including views into a larger buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (all, a, b) => {
        // A subarray at an offset: the encoder must read the view's bytes, not its backing buffer's.
        const start = all.length === 0 ? 0 : a % (all.length + 1);
        const end = start + (all.length - start === 0 ? 0 : b % (all.length - start + 1));
        const view = all.subarray(start, end);
        expect(toHexData(view)).toBe(referenceHex(view));
        expect(hexToBytes(toHexData(view))).toEqual(new Uint8Array(view));
      }),
      { numRuns: 500 },
    );
  });

  it("encodes empty bytes as 0x", () => {
    expect(toHexData(new Uint8Array(0))).toBe("0x");
  });
});
