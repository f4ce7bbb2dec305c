import { describe, expect, it } from "vitest";
import { age, classify, formatUnits, short } from "../../../../services/explorer/web/format.js";

describe("explorer UI formatting", () => {
  it("formats base units with decimals, grouping and trimmed zeros", () => {
    expect(formatUnits("0", 18)).toBe("0");
    expect(formatUnits("1500000000000000000", 18)).toBe("1.5");
    expect(formatUnits("1234567000000000000000000", 18)).toBe("1,234,567");
    expect(formatUnits("250", 18)).toBe("0.00000000000000025");
    expect(formatUnits("-25", 1)).toBe("-2.5");
    expect(formatUnits("42", 0)).toBe("42");
  });

  it("classifies a search: block number, 32-byte hash, address, or nothing", () => {
    expect(classify(" 0012 ")).toEqual({ kind: "block", ref: "12" });
    expect(classify(`0x${"AB".repeat(32)}`)).toEqual({ kind: "hash", hash: `0x${"ab".repeat(32)}` });
    expect(classify(`0x${"Cd".repeat(20)}`)).toEqual({ kind: "address", address: `0x${"cd".repeat(20)}` });
    for (const q of ["", "abc", "0x123", `0x${"a".repeat(63)}`, "-1", "1".repeat(16)]) expect(classify(q)).toBeNull();
  });

  it("shortens long hex and says how long ago", () => {
    expect(short(`0x${"a".repeat(64)}`)).toBe(`0x${"a".repeat(8)}…${"a".repeat(8)}`);
    expect(short("0x1234")).toBe("0x1234");
    expect(age(1000, 1_005_000)).toBe("5s ago");
    expect(age(1000, 1_000_000 + 7_200_000)).toBe("2h ago");
    expect(age(2000, 1_000_000)).toBe("0s ago");
  });
});
