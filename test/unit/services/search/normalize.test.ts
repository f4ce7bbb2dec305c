import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexText, tokenize } from "../../../../services/search/text/normalize.js";

/** The tokenizer's definition, without its ASCII fast path: NFKD, marks dropped, lower case, letter/digit runs. */
const reference = (s: string) =>
  [
    ...s
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .toLowerCase()
      .matchAll(/[\p{L}\p{N}]+/gu),
  ].map((m) => m[0].slice(0, 64));

describe("tokenize", () => {
  it("the ASCII fast path splits exactly as the definition", () => {
    const ascii = fc.string({
      unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)),
      maxLength: 200,
    });
    const longRuns = fc.array(fc.string({ unit: fc.constantFrom("a", "Z", "9"), minLength: 60, maxLength: 70 }));
    fc.assert(
      fc.property(ascii, (s) => {
        expect(tokenize(s)).toEqual(reference(s));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(longRuns, (runs) => {
        expect(tokenize(runs.join(" "))).toEqual(reference(runs.join(" ")));
      }),
    );
  });

  it("indexText is the tokens joined by single spaces, on ASCII and beyond", () => {
    const text = fc.string({ unit: fc.constantFrom(..."aZ9 -_.\n\té"), maxLength: 150 });
    fc.assert(
      fc.property(text, (s) => {
        expect(indexText(s)).toBe(reference(s).join(" "));
      }),
      { numRuns: 2000 },
    );
  });

  it("folds accents and compatibility forms, and cuts tokens at 64 characters", () => {
    expect(tokenize("Café CRÈME ﬁnance Ǆ x²")).toEqual(["cafe", "creme", "finance", "dz", "x2"]);
    expect(indexText(`${"a".repeat(70)} B-tree`)).toBe(`${"a".repeat(64)} b tree`);
    expect(tokenize(" ,.; ")).toEqual([]);
  });
});
