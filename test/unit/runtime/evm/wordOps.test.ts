import { bigIntToBytes, setLengthLeft } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { word32 } from "../../../../runtime/evm/wordOps.js";

/** ethereumjs's MSTORE value and SLOAD key, the expression `word32` replaces. */
const reference = (x: bigint) => setLengthLeft(bigIntToBytes(x), 32);

describe("word32: a stack word as 32 bytes", () => {
  it("equals setLengthLeft(bigIntToBytes(x), 32) for random words of every length and at the edges", () => {
    const edges = [0n, 1n, 15n, 16n, 255n, 256n, 2n ** 255n, 2n ** 256n - 1n, 2n ** 252n - 1n, 2n ** 252n];
    for (const x of edges) expect(word32(x)).toEqual(reference(x));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }).chain((bits) => fc.bigInt({ min: 0n, max: 2n ** BigInt(bits) - 1n })),
        (x) => {
          expect(word32(x)).toEqual(reference(x));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("throws as ethereumjs does outside a word", () => {
    for (const x of [2n ** 256n, 2n ** 300n, -1n]) expect(() => word32(x)).toThrow();
  });
});
