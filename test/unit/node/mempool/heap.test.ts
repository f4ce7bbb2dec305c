import { describe, expect, it } from "vitest";
import { BinaryHeap } from "../../../../node/mempool/heap.js";
import { prng } from "./fixtures.js";

describe("BinaryHeap", () => {
  it("pops in comparator order under interleaved pushes and pops", () => {
    const rand = prng(7);
    const heap = new BinaryHeap<number>((a, b) => a < b);
    const reference: number[] = [];
    for (let i = 0; i < 2000; i++) {
      if (rand() < 0.6 || reference.length === 0) {
        const v = Math.floor(rand() * 500);
        heap.push(v);
        reference.push(v);
        reference.sort((a, b) => a - b);
      } else {
        expect(heap.pop(), `pop #${i}`).toBe(reference.shift());
      }
      expect(heap.size).toBe(reference.length);
      expect(heap.peek()).toBe(reference[0]);
    }
    while (reference.length > 0) expect(heap.pop()).toBe(reference.shift());
    expect(heap.pop()).toBeUndefined();
  });
});
