import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeSessionReceipt,
  encodeSessionReceipt,
  macMessage,
  type SessionReceipt,
} from "../../../services/client/receiptSession.js";

// The session receipt's decode (one regular expression, then field checks for a refusal's reason) and MAC message
// (one hex decode) are fast paths of the payee's check: differential against the field-by-field decode and the
// Buffer-writes message they replaced.
const U64 = 1n << 64n;
const HEX64 = /^[0-9a-f]{64}$/;
const TOKEN = /^0x[0-9a-f]{40}$/;
const DECIMAL = /^[0-9]{1,39}$/;

function referenceDecode(text: string): SessionReceipt {
  const p = text.slice(3).split(".");
  if (!text.startsWith("s1.") || p.length !== 6) throw new Error("not a session receipt");
  const [session, token, value, timestampMs, nonce, mac] = p;
  if (!HEX64.test(session) || !TOKEN.test(token)) throw new Error("bad");
  if (!DECIMAL.test(value) || !DECIMAL.test(timestampMs) || !DECIMAL.test(nonce)) throw new Error("bad");
  if (!HEX64.test(mac)) throw new Error("bad");
  return { session, token, value: BigInt(value), timestampMs: BigInt(timestampMs), nonce: BigInt(nonce), mac };
}

function referenceMessage(r: Omit<SessionReceipt, "mac">): Buffer {
  const b = Buffer.alloc(84);
  b.write(r.session, 0, 32, "hex");
  b.write(r.token.slice(2), 32, 20, "hex");
  b.writeBigUInt64BE(r.value >> 64n, 52);
  b.writeBigUInt64BE(r.value & (U64 - 1n), 60);
  b.writeBigUInt64BE(r.timestampMs, 68);
  b.writeBigUInt64BE(r.nonce, 76);
  return b;
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const receipt = fc.record({
  session: hex(64),
  token: hex(40).map((h) => `0x${h}`),
  value: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  timestampMs: fc.bigInt({ min: 0n, max: U64 - 1n }),
  nonce: fc.bigInt({ min: 0n, max: U64 - 1n }),
  mac: hex(64),
});
const outcome = (f: () => unknown) => {
  try {
    return f();
  } catch {
    return "refused";
  }
};

describe("session receipt codec fast paths", () => {
  it("builds the same MAC message as the Buffer writes (property)", () => {
    fc.assert(
      fc.property(receipt, (r) => {
        expect(macMessage(r).equals(referenceMessage(r))).toBe(true);
      }),
      { numRuns: 500 },
    );
    const r = { session: "a".repeat(64), token: `0x${"b".repeat(40)}`, value: 1n, timestampMs: 1n, nonce: 1n };
    expect(() => macMessage({ ...r, session: `${"a".repeat(62)}zz` })).toThrow(/not hex/);
    expect(() => macMessage({ ...r, token: `0x${"b".repeat(38)}` })).toThrow(/not hex/);
  });

  it("decodes and refuses exactly as the field-by-field checks: valid, mutated and random headers (property)", () => {
    const mutated = fc
      .tuple(receipt, fc.nat(), fc.constantFrom(".", "", "0", "g", "x", "A", "-", "99999999999999999999"), fc.boolean())
      .map(([r, at, put, replace]) => {
        // `put` inserted at `at`, or in place of the character there
        const h = encodeSessionReceipt(r);
        const i = at % (h.length + 1);
        return h.slice(0, i) + put + h.slice(i + (replace || put === "" ? 1 : 0));
      });
    fc.assert(
      fc.property(fc.oneof(receipt.map(encodeSessionReceipt), mutated, fc.string()), (h) => {
        expect(outcome(() => decodeSessionReceipt(h))).toEqual(outcome(() => referenceDecode(h)));
      }),
      { numRuns: 2000 },
    );
  });
});
