import { describe, expect, it } from "vitest";
import { FutureBuffer } from "../../../../consensus/messages/index.js";

describe("FutureBuffer", () => {
  it("holds messages per height and hands out one height's in arrival order, dropping lower ones", () => {
    const b = new FutureBuffer<string>({ maxMessages: 10, maxBytes: 1000 });
    expect(b.add(12n, "a", 10, "12a")).toBe("held");
    expect(b.add(11n, "a", 10, "11a")).toBe("held");
    expect(b.add(12n, "b", 10, "12b")).toBe("held");
    expect(b.add(13n, "a", 10, "13a")).toBe("held");
    expect(b.take(12n)).toEqual(["12a", "12b"]);
    expect(b.size).toBe(1); // 11 was dropped: the node is past it
    expect(b.bytes).toBe(10);
    expect(b.take(13n)).toEqual(["13a"]);
    expect(b.size).toBe(0);
  });

  it("refuses duplicates (same key at the same height)", () => {
    const b = new FutureBuffer<string>();
    expect(b.add(5n, "k", 1, "x")).toBe("held");
    expect(b.add(5n, "k", 1, "y")).toBe("duplicate");
    expect(b.add(6n, "k", 1, "z")).toBe("held");
    expect(b.take(5n)).toEqual(["x"]);
  });

  it("when full, a nearer height evicts the newest of the farthest; the farthest height is refused", () => {
    const b = new FutureBuffer<string>({ maxMessages: 3, maxBytes: 1_000_000 });
    b.add(14n, "a", 1, "14a");
    b.add(14n, "b", 1, "14b");
    b.add(13n, "a", 1, "13a");
    expect(b.add(14n, "c", 1, "14c")).toBe("full");
    expect(b.add(12n, "a", 1, "12a")).toBe("held"); // evicts 14b
    expect(b.size).toBe(3);
    expect(b.take(14n)).toEqual(["14a"]);
  });

  it("is bounded in bytes: a 4 MiB flood of one height never holds more than maxBytes", () => {
    const b = new FutureBuffer<number>({ maxMessages: 1000, maxBytes: 16 * 2 ** 20 });
    let held = 0;
    for (let i = 0; i < 50; i++) if (b.add(12n, `p${i}`, 4 * 2 ** 20, i) === "held") held++;
    expect(held).toBe(4);
    expect(b.bytes).toBe(16 * 2 ** 20);
    expect(b.add(11n, "big", 17 * 2 ** 20, -1)).toBe("full"); // larger than the whole buffer
    expect(b.add(11n, "p", 4 * 2 ** 20, -2)).toBe("held"); // nearer: evicts one of height 12
    expect(b.bytes).toBe(16 * 2 ** 20);
  });
});
