import { LengthPrefixedDecoder } from "@libp2p/utils";
import { describe, expect, it } from "vitest";
import { guardEmpty, installEmptyBufferGuard } from "../../../../node/network/lengthPrefix.js";
import { PRNG } from "../../../utils/prng.js";

/** Noise's length prefix: 2 bytes big-endian; throws RangeError while fewer are buffered (as Noise's does). */
function uint16Decode(data: { byteLength: number; get?(i: number): number } & ArrayLike<number>): number {
  if (data.byteLength < 2) throw new RangeError("Could not decode int16BE");
  const at = (i: number) => (typeof data.get === "function" ? data.get(i) : data[i]);
  return (at(0) << 8) | at(1);
}

describe("LengthPrefixedDecoder's empty-buffer guard (lengthPrefix.ts)", () => {
  installEmptyBufferGuard();

  it("throws one preallocated RangeError on an empty buffer and leaves other buffers to the original", () => {
    const guarded = guardEmpty(uint16Decode as never);
    let first: unknown;
    let second: unknown;
    try {
      guarded({ byteLength: 0 });
    } catch (e) {
      first = e;
    }
    try {
      guarded({ byteLength: 0 });
    } catch (e) {
      second = e;
    }
    expect(first).toBeInstanceOf(RangeError);
    expect(second).toBe(first);
    expect(() => guarded(Object.assign(new Uint8Array([1]), {}) as never)).toThrow("Could not decode int16BE");
    expect(guarded(new Uint8Array([1, 2]) as never)).toBe(258);
  });

  it("a decoder never asks its length decoder about an empty buffer", () => {
    const lengths: number[] = [];
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: ((data: never) => {
        lengths.push((data as { byteLength: number }).byteLength);
        return uint16Decode(data);
      }) as never,
      encodingLength: () => 2,
    });
    const frame = new Uint8Array([0, 3, 7, 8, 9]);
    const out = [...decoder.decode(frame)].map((b) => [...(b as { subarray(): Uint8Array }).subarray()]);
    expect(out).toEqual([[7, 8, 9]]);
    expect(lengths).toEqual([5]);
  });

  it("yields the same frames as a plain reader, whatever the reads' boundaries (random splits)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = new PRNG(seed);
      const rand = () => r.next();
      const frames: number[][] = [];
      const wire: number[] = [];
      const count = 1 + Math.floor(rand() * 30);
      for (let f = 0; f < count; f++) {
        const len = 1 + Math.floor(rand() * (rand() < 0.3 ? 3 : 300));
        const body = Array.from({ length: len }, () => Math.floor(rand() * 256));
        frames.push(body);
        wire.push(len >> 8, len & 0xff, ...body);
      }
      const decoder = new LengthPrefixedDecoder({ lengthDecoder: uint16Decode as never, encodingLength: () => 2 });
      const got: number[][] = [];
      for (let at = 0; at < wire.length; ) {
        const n = Math.min(wire.length - at, Math.floor(rand() * 40));
        for (const b of decoder.decode(new Uint8Array(wire.slice(at, at + n)))) {
          got.push([...(b as { subarray(): Uint8Array }).subarray()]);
        }
        at += n;
      }
      expect(got, `seed ${seed}`).toEqual(frames);
    }
  });
});
