import { AbiCoder, getAddress, getBytes, hexlify, type Result } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AbiError,
  type AbiScalar,
  type AbiType,
  type AbiValue,
  arrayOf,
  decodeArgs,
  encodeArgs,
  isDynamic,
  MAX_ARRAY_LENGTH,
  MAX_DYNAMIC_BYTES,
  tupleOf,
  typeString,
} from "../../../runtime/modules/abi.js";

/**
 * The native modules' ABI codec (runtime/modules/abi.ts) against ethers' AbiCoder: random types
 * (scalars, arrays, tuples, nested up to three levels) and values encode to the same bytes and
 * decode back; hostile data (random bytes, mutations, dirty bits, lying lengths and offsets,
 * aliased tails) is refused with AbiError only, never another exception or unbounded work.
 */

const coder = AbiCoder.defaultAbiCoder();
const SCALARS: AbiScalar[] = [
  "address",
  "uint256",
  "uint96",
  "uint64",
  "uint16",
  "uint8",
  "bool",
  "bytes32",
  "bytes4",
  "string",
  "bytes",
];
const BITS: Record<string, bigint> = { uint256: 256n, uint96: 96n, uint64: 64n, uint16: 16n, uint8: 8n };

const typeArb: fc.Arbitrary<AbiType> = fc.letrec<{ type: AbiType }>((tie) => ({
  type: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...SCALARS),
    fc.constantFrom(...SCALARS),
    tie("type").map(arrayOf),
    fc.array(tie("type"), { minLength: 1, maxLength: 4 }).map((ts) => tupleOf(...ts)),
  ),
})).type;

/** Types no deeper than three levels (fast-check's depth bias keeps most shallow anyway). */
const depth = (t: AbiType): number =>
  typeof t === "string" ? 0 : "array" in t ? 1 + depth(t.array) : 1 + Math.max(...t.tuple.map(depth));
const typesArb = fc.array(
  typeArb.filter((t) => depth(t) <= 3),
  { minLength: 1, maxLength: 4 },
);

function valueArb(t: AbiType): fc.Arbitrary<AbiValue> {
  if (typeof t !== "string") {
    if ("array" in t) return fc.array(valueArb(t.array), { maxLength: 3 });
    return fc.tuple(...t.tuple.map(valueArb)) as fc.Arbitrary<AbiValue>;
  }
  switch (t) {
    case "address":
      return fc.uint8Array({ minLength: 20, maxLength: 20 });
    case "bool":
      return fc.boolean();
    case "bytes32":
      return fc.uint8Array({ minLength: 32, maxLength: 32 });
    case "bytes4":
      return fc.uint8Array({ minLength: 4, maxLength: 4 });
    case "bytes":
      return fc.uint8Array({ maxLength: 70 });
    case "string":
      return fc.string({ unit: "grapheme", maxLength: 40 });
    default:
      return fc.bigInt({ min: 0n, max: 2n ** BITS[t] - 1n });
  }
}

const casesArb = typesArb.chain((types) =>
  fc.tuple(fc.constant(types), fc.tuple(...types.map(valueArb)) as fc.Arbitrary<AbiValue[]>),
);

/** Our value → what ethers' coder takes. */
function toEthers(t: AbiType, v: AbiValue): unknown {
  if (typeof t !== "string") {
    const items = v as AbiValue[];
    return "array" in t ? items.map((x) => toEthers(t.array, x)) : items.map((x, i) => toEthers(t.tuple[i], x));
  }
  if (t === "address" || t === "bytes32" || t === "bytes4" || t === "bytes") return hexlify(v as Uint8Array);
  return v;
}

/** What ethers' coder decoded → our value. */
function fromEthers(t: AbiType, r: unknown): AbiValue {
  if (typeof t !== "string") {
    const items = [...(r as Result)];
    return "array" in t ? items.map((x) => fromEthers(t.array, x)) : items.map((x, i) => fromEthers(t.tuple[i], x));
  }
  if (t === "address") return getBytes(getAddress(r as string));
  if (t === "bytes32" || t === "bytes4" || t === "bytes") return getBytes(r as string);
  return r as AbiValue;
}

/** Decodes, allowing only AbiError to escape. */
function decodeOrAbiError(types: readonly AbiType[], data: Uint8Array): AbiValue[] | AbiError {
  try {
    return decodeArgs(types, data);
  } catch (e) {
    if (e instanceof AbiError) return e;
    throw e;
  }
}

const word = (n: bigint | number) => BigInt(n).toString(16).padStart(64, "0");
const hexData = (...words: string[]) => getBytes(`0x${words.join("")}`);

describe("ABI codec: agreement with ethers", () => {
  it("encodes exactly as ethers' AbiCoder and decodes back (random types and values)", () => {
    fc.assert(
      fc.property(casesArb, ([types, values]) => {
        const ours = encodeArgs(types, values);
        const theirs = coder.encode(
          types.map(typeString),
          types.map((t, i) => toEthers(t, values[i])),
        );
        expect(hexlify(ours)).toBe(theirs);
        expect(decodeArgs(types, ours)).toEqual(values);
        const back = coder.decode(types.map(typeString), ours);
        expect(types.map((t, i) => fromEthers(t, back[i]))).toEqual(values);
      }),
      { numRuns: 400 },
    );
  });

  it("decoding never throws anything but AbiError on random bytes and mutated encodings", () => {
    fc.assert(
      fc.property(
        casesArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        ([types, values], flips, cut) => {
          const data = encodeArgs(types, values).slice();
          for (const [at, b] of flips) if (data.length > 0) data[at % data.length] = b;
          decodeOrAbiError(types, data);
          decodeOrAbiError(types, data.subarray(0, data.length === 0 ? 0 : cut % data.length));
        },
      ),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(typesArb, fc.uint8Array({ maxLength: 600 }), (types, data) => {
        decodeOrAbiError(types, data);
      }),
      { numRuns: 300 },
    );
  });

  it("type strings are Solidity's canonical forms", () => {
    expect(typeString(arrayOf(tupleOf("bytes32", arrayOf("address"), "string")))).toBe("(bytes32,address[],string)[]");
    expect(isDynamic(tupleOf("uint256", "address"))).toBe(false);
    expect(isDynamic(tupleOf("uint256", "string"))).toBe(true);
    expect(isDynamic(arrayOf("uint8"))).toBe(true);
  });
});

describe("ABI codec: strictness", () => {
  it("static tuples are inline, dynamic ones behind an offset", () => {
    const s = tupleOf("uint64", "address");
    const data = encodeArgs([s, "uint8"], [[5n, new Uint8Array(20).fill(1)], 7n]);
    expect(data.length).toBe(96);
    expect(decodeArgs([s, "uint8"], data)).toEqual([[5n, new Uint8Array(20).fill(1)], 7n]);
    const d = tupleOf("uint64", "string");
    expect(encodeArgs([d], [[5n, "x"]]).length).toBe(32 + 64 + 64);
  });

  it("dirty bits in address, bool and narrow uints inside arrays and tuples are refused", () => {
    const t = [arrayOf(tupleOf("address", "bool", "uint16", "uint64", "bytes4"))];
    const clean = encodeArgs(t, [
      [[new Uint8Array(20).fill(0xaa), true, 0xffffn, 2n ** 64n - 1n, Uint8Array.of(1, 2, 3, 4)]],
    ]);
    expect(decodeArgs(t, clean)).toHaveLength(1);
    // element heads start after the offset word (32) and the length word (32)
    const dirty = (wordIndex: number, byte: number, value: number) => {
      const d = clean.slice();
      d[64 + wordIndex * 32 + byte] = value;
      return d;
    };
    for (const [w, b, v, why] of [
      [0, 0, 1, "dirty address bits"],
      [1, 31, 2, "bool must be 0 or 1"],
      [2, 29, 1, "uint16 out of range"],
      [3, 23, 1, "uint64 out of range"],
      [4, 4, 1, "dirty bytes4 bits"],
    ] as const) {
      const r = decodeOrAbiError(t, dirty(w, b, v));
      expect(r, why).toBeInstanceOf(AbiError);
      expect((r as AbiError).type.reason).toBe(why);
    }
  });

  it("array lengths are capped, and element heads must fit in the data before allocation", () => {
    const ok = encodeArgs([arrayOf("bytes32")], [Array.from({ length: MAX_ARRAY_LENGTH }, () => new Uint8Array(32))]);
    expect((decodeArgs([arrayOf("bytes32")], ok)[0] as unknown[]).length).toBe(MAX_ARRAY_LENGTH);
    const over = encodeArgs([arrayOf("uint8")], [Array.from({ length: MAX_ARRAY_LENGTH + 1 }, () => 0n)]);
    expect((decodeOrAbiError([arrayOf("uint8")], over) as AbiError).type.reason).toBe(
      `array longer than ${MAX_ARRAY_LENGTH}`,
    );
    // A length of 200 with the data for 2 elements: refused before 200 heads are read.
    const lying = hexData(word(32), word(200), word(1), word(2));
    expect((decodeOrAbiError([arrayOf("uint256")], lying) as AbiError).type.reason).toBe("array runs past the data");
    // Lengths that do not fit 32 bits.
    expect(decodeOrAbiError([arrayOf("uint256")], hexData(word(32), `${"ff".repeat(32)}`))).toBeInstanceOf(AbiError);
  });

  it("strings and bytes inside arrays keep the 4 KiB cap and UTF-8 check", () => {
    const big = "s".repeat(MAX_DYNAMIC_BYTES + 1);
    const enc = getBytes(coder.encode(["string[]"], [["a", big]]));
    expect((decodeOrAbiError([arrayOf("string")], enc) as AbiError).type.reason).toBe(
      `string longer than ${MAX_DYNAMIC_BYTES} bytes`,
    );
    const bad = getBytes(coder.encode(["bytes[]"], [["0xff"]]));
    expect(decodeArgs([arrayOf("bytes")], bad)).toEqual([[Uint8Array.of(0xff)]]);
    expect((decodeOrAbiError([arrayOf("string")], bad) as AbiError).type.reason).toBe("string is not valid UTF-8");
  });

  it("offsets outside the data are refused", () => {
    const t = [tupleOf("uint8", "string")];
    const good = encodeArgs(t, [[1n, "hi"]]);
    const bad = good.slice();
    bad.set(getBytes(`0x${word(1_000_000)}`), 0);
    expect((decodeOrAbiError(t, bad) as AbiError).type.reason).toBe("offset out of range");
  });

  it("aliased tails (many heads pointing at one value) are refused once they decode to more than the data", () => {
    // string[] of n elements whose offsets all point at the same 4 KiB string: n × 4 KiB of work from ~4 KiB + 32n bytes.
    const n = 64;
    const str = "z".repeat(MAX_DYNAMIC_BYTES);
    const strWords = Buffer.from(getBytes(coder.encode(["string"], [str])))
      .toString("hex")
      .slice(64); // length + data
    const elementOffset = 32 * n; // relative to the element heads
    const aliased = hexData(word(32), word(n), ...Array.from({ length: n }, () => word(elementOffset)), strWords);
    expect((decodeOrAbiError([arrayOf("string")], aliased) as AbiError).type.reason).toBe(
      "encoding decodes to more than its own size",
    );
    // Nested arrays aliasing one inner array: refused the same way, long before the product of the lengths.
    const inner = 100;
    const outer = 100;
    const innerWords = [word(inner), ...Array.from({ length: inner }, () => word(7))];
    const nested = hexData(
      word(32),
      word(outer),
      ...Array.from({ length: outer }, () => word(32 * outer)),
      ...innerWords,
    );
    expect((decodeOrAbiError([arrayOf(arrayOf("uint256"))], nested) as AbiError).type.reason).toBe(
      "encoding decodes to more than its own size",
    );
  });

  it("the encoder refuses values its types cannot hold (a module bug, not input)", () => {
    expect(() => encodeArgs(["uint16"], [70_000n])).toThrow("not a uint16");
    expect(() => encodeArgs(["uint256"], [-1n])).toThrow("not a uint256");
    expect(() => encodeArgs([tupleOf("uint8", "bool")], [[1n]])).toThrow("1 values for 2 types");
  });
});
