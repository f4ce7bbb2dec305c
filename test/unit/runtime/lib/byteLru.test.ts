import { describe, expect, it } from "vitest";
import { ByteLRU } from "../../../../runtime/lib/byteLru.js";

describe("ByteLRU", () => {
  it("holds at most its capacity in bytes, evicting the least recently used first", () => {
    const lru = new ByteLRU<string, number>(100);
    lru.set("a", 1, 40);
    lru.set("b", 2, 40);
    expect(lru.bytes).toBe(80);
    lru.set("c", 3, 40);
    // "a" went: 120 > 100.
    expect(lru.get("a")).toBeUndefined();
    expect(lru.bytes).toBe(80);
    // Once evicting, a hit is recent: "b" stays, "c" goes.
    expect(lru.get("b")).toBe(2);
    lru.set("d", 4, 30);
    expect(lru.get("c")).toBeUndefined();
    expect([lru.get("b"), lru.get("d")]).toEqual([2, 4]);
    expect(lru.bytes).toBe(70);
  });

  it("re-weighs a key set again, and keeps no value larger than the budget", () => {
    const lru = new ByteLRU<string, string>(100);
    lru.set("a", "x", 10);
    lru.set("a", "y", 60);
    expect(lru.bytes).toBe(60);
    lru.set("big", "z", 101);
    expect(lru.get("big")).toBeUndefined();
    expect(lru.get("a")).toBe("y");
    lru.delete("a");
    expect([lru.size, lru.bytes]).toEqual([0, 0]);
  });

  it("never holds more than its budget over random sets of random sizes", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const lru = new ByteLRU<number, number>(10_000);
    const sizes = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      const key = rand(300);
      const bytes = 1 + rand(900);
      lru.set(key, i, bytes);
      sizes.set(key, bytes);
      if (rand(4) === 0) lru.get(rand(300));
      let held = 0;
      for (const k of sizes.keys()) if (lru.get(k) !== undefined) held += sizes.get(k) as number;
      expect(held).toBe(lru.bytes);
      expect(held).toBeLessThanOrEqual(10_000);
    }
  });

  it("evicts and orders as a plain array LRU over random sets, hits and deletes", () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const lru = new ByteLRU<number, number>(5_000);
    // The model: entries least recently used first.
    let model: { key: number; value: number; bytes: number }[] = [];
    const used = () => model.reduce((n, e) => n + e.bytes, 0);
    for (let i = 0; i < 20_000; i++) {
      const key = rand(200);
      const op = rand(10);
      const at = model.findIndex((e) => e.key === key);
      if (op < 4) {
        const bytes = 1 + rand(700);
        lru.set(key, i, bytes);
        if (at >= 0) model.splice(at, 1);
        if (bytes <= 5_000) model.push({ key, value: i, bytes });
        while (used() > 5_000) model.shift();
      } else if (op < 9) {
        expect(lru.get(key)).toBe(at >= 0 ? model[at].value : undefined);
        if (at >= 0) model.push(...model.splice(at, 1));
      } else {
        lru.delete(key);
        if (at >= 0) model.splice(at, 1);
      }
      if (rand(1000) === 0) {
        lru.clear();
        model = [];
      }
      expect([...lru.keysByRecency()]).toEqual(model.map((e) => e.key));
      expect([lru.size, lru.bytes]).toEqual([model.length, used()]);
    }
  });
});
