import { describe, expect, it } from "vitest";
import { decideRange, ifNoneMatchHits, ifRangeAllows } from "../../../../services/storage/gateway/range.js";

describe("decideRange (RFC 9110 §14, single ranges)", () => {
  const size = 1000;
  const cases: [string | undefined, ReturnType<typeof decideRange>][] = [
    [undefined, { kind: "full" }],
    ["bytes=0-99", { kind: "partial", start: 0, end: 99 }],
    ["bytes=900-", { kind: "partial", start: 900, end: 999 }],
    ["bytes=990-5000", { kind: "partial", start: 990, end: 999 }],
    ["bytes=-10", { kind: "partial", start: 990, end: 999 }],
    ["bytes=-5000", { kind: "partial", start: 0, end: 999 }],
    ["bytes=999-999", { kind: "partial", start: 999, end: 999 }],
    [" bytes = 5 - 6 ", { kind: "partial", start: 5, end: 6 }],
    ["bytes=1000-", { kind: "unsatisfiable" }],
    ["bytes=5000-6000", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=0-1,5-6", { kind: "full" }], // several ranges: ignored, served whole
    ["items=0-1", { kind: "full" }],
    ["bytes=9-3", { kind: "full" }],
    ["bytes=-", { kind: "full" }],
    ["garbage", { kind: "full" }],
  ];
  for (const [header, want] of cases) {
    it(`${JSON.stringify(header)} → ${want.kind}`, () => expect(decideRange(header, size)).toEqual(want));
  }
  it("an empty file satisfies no range", () => {
    expect(decideRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(decideRange("bytes=-1", 0)).toEqual({ kind: "unsatisfiable" });
  });
});

describe("conditional headers", () => {
  const etag = '"bafkreiabc"';
  it("If-None-Match matches the strong or weak form, a list, or *", () => {
    expect(ifNoneMatchHits(etag, etag)).toBe(true);
    expect(ifNoneMatchHits('W/"bafkreiabc"', etag)).toBe(true);
    expect(ifNoneMatchHits('"x", "bafkreiabc"', etag)).toBe(true);
    expect(ifNoneMatchHits("*", etag)).toBe(true);
    expect(ifNoneMatchHits('"bafkreiother"', etag)).toBe(false);
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
  });
  it("If-Range keeps the range only for the same ETag", () => {
    expect(ifRangeAllows(undefined, etag)).toBe(true);
    expect(ifRangeAllows(etag, etag)).toBe(true);
    expect(ifRangeAllows('"bafkreiother"', etag)).toBe(false);
    expect(ifRangeAllows("Wed, 21 Oct 2015 07:28:00 GMT", etag)).toBe(false);
  });
});
