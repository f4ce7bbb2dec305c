import { bytesToHex as ethereumjsBytesToHex } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../../../../runtime/primitives/bytes.js";

describe("bytesToHex", () => {
  it("is ethereumjs's bytesToHex, for views at any offset into a larger buffer too", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 10 }), fc.nat({ max: 10 }), (bytes, from, cut) => {
        const view = bytes.subarray(Math.min(from, bytes.length), Math.max(from, bytes.length - cut));
        expect(bytesToHex(view)).toBe(ethereumjsBytesToHex(view));
      }),
    );
    expect(bytesToHex(new Uint8Array(0))).toBe("0x");
  });
});
