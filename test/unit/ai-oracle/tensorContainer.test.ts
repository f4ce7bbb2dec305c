import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeTensors, encodeTensors, type NamedTensor } from "../../../ai-oracle/engine/tensorContainer.js";
import { AIInputCode } from "../../../ai-oracle/errors.js";
import { JobInputError } from "../../../services/runtime/handler.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof JobInputError) return e.code;
    throw e;
  }
  return undefined;
}

describe("AZT1 tensor container", () => {
  const tensors: NamedTensor[] = [
    { name: "x", dtype: "float32", dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -0.5]) },
    { name: "ids", dtype: "int64", dims: [1, 2], data: BigInt64Array.from([7n, -1n]) },
    { name: "flag", dtype: "bool", dims: [], data: Uint8Array.from([1]) },
  ];

  it("round-trips and writes tensors sorted by name (canonical bytes)", () => {
    const bytes = encodeTensors(tensors);
    const decoded = decodeTensors(bytes);
    expect(decoded.map((t) => t.name)).toEqual(["flag", "ids", "x"]);
    expect(Array.from(decoded[2].data as Float32Array)).toEqual([1, 2, 3, 4, 5, -0.5]);
    expect(Array.from(decoded[1].data as BigInt64Array)).toEqual([7n, -1n]);
    expect(decoded[0].dims).toEqual([]);
    expect(Buffer.from(encodeTensors([...tensors].reverse())).equals(Buffer.from(bytes))).toBe(true);
  });

  it("lays out the documented header: magic, count, name, dtype, rank, dims, little-endian data", () => {
    const b = Buffer.from(encodeTensors([{ name: "a", dtype: "int32", dims: [2], data: Int32Array.from([1, 256]) }]));
    expect(b.toString("hex")).toBe(
      `${Buffer.from("AZT1").toString("hex")}01000000` +
        "0100" +
        "61" +
        "07" +
        "01" +
        "02000000" +
        "01000000" +
        "00010000",
    );
  });

  it("refuses malformed containers with TENSOR_FORMAT / TENSOR_NAME", () => {
    const good = Buffer.from(encodeTensors(tensors));
    expect(codeOf(() => decodeTensors(Buffer.from("nope")))).toBe(AIInputCode.TENSOR_FORMAT);
    expect(codeOf(() => decodeTensors(good.subarray(0, good.length - 1)))).toBe(AIInputCode.TENSOR_FORMAT);
    expect(codeOf(() => decodeTensors(Buffer.concat([good, Buffer.from([0])])))).toBe(AIInputCode.TENSOR_FORMAT);
    const badDtype = Buffer.from(encodeTensors([tensors[0]]));
    badDtype[8 + 2 + 1] = 99; // dtype byte after u16 name length and the 1-byte name
    expect(codeOf(() => decodeTensors(badDtype))).toBe(AIInputCode.TENSOR_FORMAT);
    const one = Buffer.from(encodeTensors([tensors[0]]));
    const twice = Buffer.concat([one.subarray(0, 4), Buffer.from([2, 0, 0, 0]), one.subarray(8), one.subarray(8)]);
    expect(codeOf(() => decodeTensors(twice))).toBe(AIInputCode.TENSOR_NAME);
  });

  it("encodes into a buffer of its own (movable to another thread), byte-equal to the parts concatenated", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
        (names, dims) => {
          const ts: NamedTensor[] = names.map((name, k) => ({
            name,
            dtype: "float32",
            dims,
            data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - k),
          }));
          const bytes = encodeTensors(ts);
          // small containers used to be slices of Node's shared pool: moving one would detach its neighbours
          expect(bytes.byteOffset).toBe(0);
          expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
          const sorted = [...ts].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
          const parts: Buffer[] = [Buffer.from("AZT1"), Buffer.alloc(4)];
          parts[1].writeUInt32LE(ts.length);
          for (const t of sorted) {
            const h = Buffer.alloc(4 + t.name.length + 4 * t.dims.length);
            h.writeUInt16LE(t.name.length, 0);
            h.write(t.name, 2, "latin1");
            h.writeUInt8(1, 2 + t.name.length);
            h.writeUInt8(t.dims.length, 3 + t.name.length);
            for (let j = 0; j < t.dims.length; j++) h.writeUInt32LE(t.dims[j], 4 + t.name.length + 4 * j);
            parts.push(h, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
          }
          expect(Buffer.from(bytes).equals(Buffer.concat(parts))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a name that is not UTF-8 with TENSOR_FORMAT, and decodes the next container's names after it", () => {
    const named = (name: string) => Buffer.from(encodeTensors([{ ...tensors[0], name }]));
    const bad = named("ab");
    bad[8 + 2 + 1] = 0xc3; // "a", then a lead byte that ends the name: not UTF-8
    expect(codeOf(() => decodeTensors(bad))).toBe(AIInputCode.TENSOR_FORMAT);
    // the names' decoder is shared between calls: a failed decode leaves nothing behind
    const truncated = named("aé");
    truncated[8 + 2 + 2] = 0x20; // "a", a lead byte, then a space
    expect(codeOf(() => decodeTensors(truncated))).toBe(AIInputCode.TENSOR_FORMAT);
    expect(decodeTensors(named("é1")).map((t) => t.name)).toEqual(["é1"]);
  });

  it("never throws anything but a JobInputError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (tail, withMagic) => {
        const bytes = withMagic ? Buffer.concat([Buffer.from("AZT1"), Buffer.from(tail)]) : Buffer.from(tail);
        try {
          decodeTensors(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(JobInputError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  describe("zero-copy decode", () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const enc = encodeTensors([{ name: "xy", dtype: "float32", dims: [4, 6], data: x }]);
    const dataAt = enc.byteLength - x.byteLength; // 22: misaligned at offset 0
    const aligned = (4 - (dataAt % 4)) % 4;

    it("views the body's memory where the data is aligned (no copy)", () => {
      const body = new Uint8Array(new ArrayBuffer(enc.byteLength + 8), aligned, enc.byteLength);
      body.set(enc);
      expect((body.byteOffset + dataAt) % 4).toBe(0);
      const [t] = decodeTensors(body);
      expect(t.data.buffer).toBe(body.buffer);
      expect(t.data.byteOffset).toBe(body.byteOffset + dataAt);
      expect(Array.from(t.data as Float32Array)).toEqual(Array.from(x));
      body[dataAt + 3] ^= 0x80; // shares memory with the body (flip the first float's sign)
      expect((t.data as Float32Array)[0]).not.toBe(x[0]);
    });

    it("copies where the data is misaligned, with the same values", () => {
      for (const shift of [1, 2, 3, 4].map((d) => aligned + d).filter((o) => (o + dataAt) % 4 !== 0)) {
        const body = new Uint8Array(new ArrayBuffer(enc.byteLength + 8), shift, enc.byteLength);
        body.set(enc);
        const [t] = decodeTensors(body);
        expect(t.data.buffer).not.toBe(body.buffer);
        expect(t.data.byteOffset).toBe(0);
        expect(Array.from(t.data as Float32Array)).toEqual(Array.from(x));
      }
    });

    it("decodes every dtype at every offset to the same values (property)", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 7 }),
          fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 9 }),
          (shift, vals) => {
            const ts: NamedTensor[] = [
              { name: "a", dtype: "float64", dims: [vals.length], data: Float64Array.from(vals, (v) => v / 3) },
              { name: "b", dtype: "int64", dims: [vals.length], data: BigInt64Array.from(vals, (v) => BigInt(v)) },
              { name: "c", dtype: "int16", dims: [vals.length], data: Int16Array.from(vals) },
              { name: "d", dtype: "float32", dims: [vals.length], data: Float32Array.from(vals, (v) => v / 7) },
            ];
            const e = encodeTensors(ts);
            const body = new Uint8Array(new ArrayBuffer(e.byteLength + 8), shift, e.byteLength);
            body.set(e);
            const back = decodeTensors(body);
            expect(Buffer.from(encodeTensors(back)).equals(Buffer.from(e))).toBe(true);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
