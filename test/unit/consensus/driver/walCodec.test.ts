import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Input } from "../../../../consensus/core/types.js";
import { decodeWalInput, encodeWalInput } from "../../../../consensus/driver/walCodec.js";
import { AssertionError } from "../../../../runtime/lib/assert.js";
import { CodecError } from "../../../../runtime/primitives/codecError.js";
import { rlpEncode } from "../../../../runtime/primitives/rlpCodec.js";

const height = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const round = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
/** Block hashes as the driver writes them, and any other string (the simulator uses readable ids). */
const valueId = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

const arbs: Record<Input["type"], fc.Arbitrary<Input>> = {
  startHeight: height.map((h) => ({ type: "startHeight", height: h })),
  proposal: fc
    .record({ height, round, valueId, polRound: fc.integer({ min: -1, max: 1000 }), valid: fc.boolean() })
    .map((proposal) => ({ type: "proposal", proposal })),
  vote: fc
    .record({
      kind: fc.constantFrom("prevote" as const, "precommit" as const),
      height,
      round,
      valueId: fc.option(valueId, { nil: null }),
      validator: fc.nat(),
    })
    .map((vote) => ({ type: "vote", vote })),
  timeout: fc
    .record({ kind: fc.constantFrom("propose" as const, "prevote" as const, "precommit" as const), height, round })
    .map((t) => ({ type: "timeout", ...t })),
  proposeValue: fc.record({ height, round, valueId }).map((v) => ({ type: "proposeValue", ...v })),
};
const anyInput = fc.oneof(...Object.values(arbs));
const extra = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined });

function expectOnlyCodecError(bytes: Uint8Array): void {
  try {
    const decoded = decodeWalInput(bytes);
    // Whatever decodes is exactly what the encoder writes for it.
    expect(Buffer.from(encodeWalInput(decoded.input, decoded.extra)).equals(bytes)).toBe(true);
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
  }
}

describe("walCodec", () => {
  for (const [type, arb] of Object.entries(arbs)) {
    it(`round-trips ${type} inputs, with and without extra bytes`, () => {
      fc.assert(
        fc.property(arb, extra, (input, x) => {
          const bytes = encodeWalInput(input, x);
          expect(decodeWalInput(bytes)).toEqual(x === undefined ? { input } : { input, extra: x });
        }),
        { numRuns: 300 },
      );
    });
  }

  it("drops CoreVote.signed (unknown to the core); the driver carries its signed bytes as extra", () => {
    const signedBytes = new Uint8Array([1, 2, 3]);
    const input: Input = {
      type: "vote",
      vote: { kind: "precommit", height: 9n, round: 1, valueId: "ab", validator: 2, signed: { any: "object" } },
    };
    expect(decodeWalInput(encodeWalInput(input, signedBytes))).toEqual({
      input: { type: "vote", vote: { kind: "precommit", height: 9n, round: 1, valueId: "ab", validator: 2 } },
      extra: signedBytes,
    });
  });

  it("keeps a nil vote distinct from an empty value id, and an empty extra distinct from none", () => {
    const vote = (valueId: string | null): Input => ({
      type: "vote",
      vote: { kind: "prevote", height: 1n, round: 0, valueId, validator: 0 },
    });
    expect(decodeWalInput(encodeWalInput(vote(null))).input).toEqual(vote(null));
    expect(decodeWalInput(encodeWalInput(vote(""))).input).toEqual(vote(""));
    expect(decodeWalInput(encodeWalInput(vote(null), new Uint8Array())).extra).toEqual(new Uint8Array());
    expect("extra" in decodeWalInput(encodeWalInput(vote(null)))).toBe(false);
  });

  it("refuses to encode what it could not decode back (assertions, not silent loss)", () => {
    const bad: Input[] = [
      { type: "timeout", kind: "propose", height: 1n, round: -1 },
      { type: "proposeValue", height: -1n, round: 0, valueId: "x" },
      { type: "proposeValue", height: 1n, round: 0.5, valueId: "x" },
      { type: "proposeValue", height: 1n, round: 0, valueId: "\ud800" },
      { type: "proposal", proposal: { height: 1n, round: 0, valueId: "x", polRound: -2, valid: true } },
    ];
    for (const input of bad) expect(() => encodeWalInput(input), JSON.stringify(input.type)).toThrow(AssertionError);
  });

  it("decoding random bytes throws only CodecError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), expectOnlyCodecError), { numRuns: 5000 });
  });

  it("decoding damaged encodings (byte flips, cuts, insertions) throws only CodecError", () => {
    const damaged = fc
      .tuple(anyInput, extra, fc.nat(), fc.nat(255), fc.constantFrom("flip", "cut", "insert"))
      .map(([input, x, at, byte, how]) => {
        const b = Array.from(encodeWalInput(input, x));
        const i = at % b.length;
        if (how === "flip") b[i] ^= byte || 1;
        else if (how === "cut") b.length = i;
        else b.splice(i, 0, byte);
        return new Uint8Array(b);
      });
    fc.assert(fc.property(damaged, expectOnlyCodecError), { numRuns: 5000 });
  });

  it("refuses well-formed RLP that the encoder would never write", () => {
    const cases: [string, Uint8Array][] = [
      ["not a list", rlpEncode(new Uint8Array([1]))],
      ["version 2", rlpEncode([new Uint8Array([2]), new Uint8Array([1]), [new Uint8Array([1])], []])],
      ["unknown tag", rlpEncode([new Uint8Array([1]), new Uint8Array([9]), [], []])],
      [
        "height with a leading zero",
        rlpEncode([new Uint8Array([1]), new Uint8Array([1]), [new Uint8Array([0, 1])], []]),
      ],
      [
        "extra field",
        rlpEncode([new Uint8Array([1]), new Uint8Array([1]), [new Uint8Array([1]), new Uint8Array()], []]),
      ],
      [
        "two extras",
        rlpEncode([
          new Uint8Array([1]),
          new Uint8Array([1]),
          [new Uint8Array([1])],
          [new Uint8Array(), new Uint8Array()],
        ]),
      ],
      [
        "vote kind 3",
        rlpEncode([
          new Uint8Array([1]),
          new Uint8Array([3]),
          [new Uint8Array([3]), new Uint8Array([1]), new Uint8Array(), [], new Uint8Array()],
          [],
        ]),
      ],
      [
        "proposal valid = 2",
        rlpEncode([
          new Uint8Array([1]),
          new Uint8Array([2]),
          [new Uint8Array([1]), new Uint8Array(), new Uint8Array([0x61]), new Uint8Array(), new Uint8Array([2])],
          [],
        ]),
      ],
      [
        "round above 2^53 - 1",
        rlpEncode([
          new Uint8Array([1]),
          new Uint8Array([5]),
          [new Uint8Array([1]), new Uint8Array([0x20, 0, 0, 0, 0, 0, 0]), new Uint8Array([0x61])],
          [],
        ]),
      ],
      [
        "value id not UTF-8",
        rlpEncode([
          new Uint8Array([1]),
          new Uint8Array([5]),
          [new Uint8Array([1]), new Uint8Array(), new Uint8Array([0xff, 0xfe])],
          [],
        ]),
      ],
      ["trailing bytes", new Uint8Array([...encodeWalInput({ type: "startHeight", height: 1n }), 0])],
    ];
    for (const [what, bytes] of cases) expect(() => decodeWalInput(bytes), what).toThrow(CodecError);
  });
});
