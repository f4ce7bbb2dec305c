import { describe, expect, it } from "vitest";
import { encodeTensors } from "../../../ai-oracle/engine/tensorContainer.js";
import { BODY_ALIGN, firstDataOffset } from "../../../services/runtime/payments/alignedBody.js";
import { BodyPool } from "../../../services/runtime/payments/bodyPool.js";

// The metered front's kept body buffers (bodyPool.ts): a buffer comes back only when given, not detached, and once.
const body = (n: number) =>
  Buffer.from(encodeTensors([{ name: "x", dtype: "float32", dims: [n], data: new Float32Array(n) }]));

describe("BodyPool", () => {
  it("lends aligned buffers of the body's length and lends a given one again", () => {
    const pool = new BodyPool(2, 1 << 20);
    const b = body(1000);
    const first = pool.take(b.length, b);
    expect(first.length).toBe(b.length);
    expect((first.byteOffset + firstDataOffset(b)!) % BODY_ALIGN).toBe(0);
    pool.give(first);
    expect(pool.size).toBe(1);
    const second = pool.take(b.length, b);
    expect(second.buffer === first.buffer).toBe(true);
    expect(pool.size).toBe(0);
  });

  it("never lends a buffer that was not given back (still in use)", () => {
    const pool = new BodyPool(2, 1 << 20);
    const b = body(1000);
    const inUse = pool.take(b.length, b);
    const other = pool.take(b.length, b);
    expect(other.buffer === inUse.buffer).toBe(false);
    pool.give(other);
    pool.give(other); // twice: kept once
    expect(pool.size).toBe(1);
    expect(pool.take(b.length, b).buffer === other.buffer).toBe(true);
    expect(pool.take(b.length, b).buffer === inUse.buffer).toBe(false);
  });

  it("drops a buffer moved to a thread (detached), one it did not lend, and bodies over its limit", () => {
    const pool = new BodyPool(2, 1 << 20);
    const b = body(1000);
    const moved = pool.take(b.length, b);
    structuredClone(moved.buffer, { transfer: [moved.buffer as ArrayBuffer] });
    pool.give(moved);
    pool.give(Buffer.allocUnsafeSlow(b.length));
    const big = body(300_000);
    const bigBuf = pool.take(big.length, big); // (its own buffer, aligned as the kept ones)
    expect(bigBuf.length).toBe(big.length);
    expect((bigBuf.byteOffset + firstDataOffset(big)!) % BODY_ALIGN).toBe(0);
    pool.give(bigBuf);
    expect(pool.size).toBe(0);
    expect(pool.take(b.length, b).length).toBe(b.length);
  });

  it("keeps at most `keep` buffers, and lends only one of the body's size class", () => {
    const pool = new BodyPool(2, 1 << 20);
    const small = body(1000);
    const large = body(100_000);
    const lent = [pool.take(small.length, small), pool.take(small.length, small), pool.take(large.length, large)];
    for (const x of lent) pool.give(x);
    expect(pool.size).toBe(2); // the oldest went
    expect(pool.take(large.length, large).buffer === lent[2].buffer).toBe(true);
    expect(pool.take(small.length, small).buffer === lent[1].buffer).toBe(true);
  });
});
