import { RLP } from "@ethereumjs/rlp";
import { bigIntToUnpaddedBytes, bytesToHex, concatBytes, hexToBytes } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeRawTransaction,
  decodeWithEthereumjs,
  envelopeType,
  type SupportedType,
} from "../../../../node/mempool/decode.js";
import { isMempoolError } from "../../../../node/mempool/errors.js";
import { tryFastDecode } from "../../../../node/mempool/fastDecode.js";
import type { PooledTx } from "../../../../node/mempool/types.js";
import { keccak256 } from "../../../../runtime/primitives/hash.js";
import { secp256k1Native } from "../../../../runtime/primitives/nativeCrypto.js";
import { CHAIN_ID, DEV_KEYS, decodeCtx } from "./fixtures.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
type Field = Uint8Array | Field[];

const u = (x: bigint): Uint8Array => bigIntToUnpaddedBytes(x);

const bigs = (edges: bigint[], max: bigint) =>
  fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max }), fc.bigInt({ min: 0n, max: 1_000_000n }));

/** `null` (no edit) three times in four. */
const rarely = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: arb, weight: 1 });

const txArb = fc.record({
  /** Most random field values are invalid; half of the runs keep the numbers in the range of real txs. */
  sane: fc.boolean(),
  type: fc.constantFrom<SupportedType>(0, 0, 1, 2, 2, 2, 4),
  key: fc.constantFrom(...DEV_KEYS),
  chainId: fc.constantFrom(CHAIN_ID, CHAIN_ID, CHAIN_ID, CHAIN_ID, 1n, 0n),
  unprotected: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  nonce: bigs([0n, 1n, 2n ** 64n - 2n, 2n ** 64n - 1n, 2n ** 64n], 2n ** 70n),
  tip: bigs([0n, 1n, 10n ** 9n, 2n ** 256n - 1n], 2n ** 256n - 1n),
  maxFee: bigs([0n, 10n ** 9n, 30n * 10n ** 9n, 2n ** 200n, 2n ** 256n - 1n], 2n ** 256n - 1n),
  gasLimit: bigs([0n, 20_999n, 21_000n, 21_160n, 25_000n, 30_000_000n, 2n ** 64n - 1n, 2n ** 64n], 2n ** 65n),
  to: fc.oneof(
    { arbitrary: fc.uint8Array({ minLength: 20, maxLength: 20 }), weight: 6 },
    { arbitrary: fc.constantFrom(new Uint8Array(0)), weight: 1 },
    { arbitrary: fc.uint8Array({ minLength: 19, maxLength: 21 }), weight: 1 },
  ),
  value: bigs([0n, 1n, 2n ** 256n - 1n], 2n ** 256n - 1n),
  data: fc.oneof(
    fc.constantFrom(new Uint8Array(0)),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xff), { maxLength: 300 }).map((a) => Uint8Array.from(a)),
  ),
  accessList: fc.constantFrom<"empty" | "one" | "bad">("empty", "empty", "empty", "empty", "empty", "one", "bad"),
  /** Edits of the signed field list: index and replacement kind. */
  fieldEdit: rarely(
    fc.record({
      at: fc.nat({ max: 13 }),
      kind: fc.constantFrom("leadingZero", "list", "long", "drop", "extra", "zero"),
    }),
  ),
  sigEdit: fc.constantFrom(
    "none",
    "none",
    "none",
    "none",
    "none",
    "none",
    "none",
    "highS",
    "r0",
    "s0",
    "v2",
    "rN",
    "swapV",
  ),
  /** Edits of the encoded bytes. */
  byteEdit: rarely(
    fc.record({
      kind: fc.constantFrom("flip", "truncate", "append", "longHeader", "singleByteString"),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
  ),
});
type TxSpec = typeof txArb extends fc.Arbitrary<infer T> ? T : never;

function accessListOf(kind: "empty" | "one" | "bad"): Field {
  if (kind === "empty") return [];
  if (kind === "one") return [[new Uint8Array(20).fill(7), [new Uint8Array(32).fill(1)]]];
  return [[new Uint8Array(19).fill(7), []]];
}

/** A well-formed signed transaction's spec, no edits: the fields a test names, the rest plain. */
function plainSpec(fields: Pick<TxSpec, "type" | "key" | "chainId"> & Partial<TxSpec>): TxSpec {
  return {
    sane: false,
    unprotected: false,
    nonce: 0n,
    tip: 1n,
    maxFee: 10n ** 10n,
    gasLimit: 21_000n,
    to: new Uint8Array(20).fill(0x22),
    value: 0n,
    data: new Uint8Array(0),
    accessList: "empty",
    fieldEdit: null,
    sigEdit: "none",
    byteEdit: null,
    ...fields,
  };
}

/** Signs `spec` with libsecp256k1 (low-s), then applies its edits. */
function build(input: TxSpec): Uint8Array {
  const spec = input.sane ? sanitize(input) : input;
  const { type } = spec;
  const base: Field[] = [u(spec.nonce)];
  if (type === 2 || type === 4) base.push(u(spec.tip), u(spec.maxFee));
  else base.push(u(spec.maxFee));
  base.push(u(spec.gasLimit), spec.to, u(spec.value), spec.data);
  let unsigned: Field[];
  if (type === 0) unsigned = base;
  else unsigned = [u(spec.chainId), ...base, accessListOf(spec.accessList)];
  if (type === 4) unsigned.push([[u(CHAIN_ID), new Uint8Array(20).fill(9), u(0n), u(1n), u(1n), u(1n)]]);
  const payload =
    type === 0
      ? RLP.encode(spec.unprotected ? unsigned : [...unsigned, u(spec.chainId), u(0n), u(0n)])
      : concatBytes(Uint8Array.of(type), RLP.encode(unsigned));
  const { signature, recid } = secp256k1Native.ecdsaSign(keccak256(payload), hexToBytes(spec.key));
  let r = BigInt(bytesToHex(signature.subarray(0, 32)));
  let s = BigInt(bytesToHex(signature.subarray(32)));
  let parity = BigInt(recid);
  switch (spec.sigEdit) {
    case "highS":
      s = N - s;
      parity ^= 1n;
      break;
    case "r0":
      r = 0n;
      break;
    case "s0":
      s = 0n;
      break;
    case "rN":
      r = N + 1n;
      break;
    case "v2":
      parity = 2n;
      break;
    case "swapV":
      parity ^= 1n;
      break;
  }
  const v = type === 0 ? (spec.unprotected ? 27n + parity : spec.chainId * 2n + 35n + parity) : parity;
  const fields: Field[] = [...unsigned, u(v), u(r), u(s)];
  if (spec.fieldEdit !== null) {
    const at = spec.fieldEdit.at % fields.length;
    const f = fields[at];
    switch (spec.fieldEdit.kind) {
      case "leadingZero":
        if (f instanceof Uint8Array) fields[at] = concatBytes(Uint8Array.of(0), f);
        break;
      case "list":
        fields[at] = [f];
        break;
      case "zero":
        fields[at] = Uint8Array.of(0);
        break;
      case "long":
        fields[at] = new Uint8Array(33).fill(1);
        break;
      case "drop":
        fields.splice(at, 1);
        break;
      case "extra":
        fields.push(Uint8Array.of(1));
        break;
    }
  }
  let raw = type === 0 ? RLP.encode(fields) : concatBytes(Uint8Array.of(type), RLP.encode(fields));
  if (spec.byteEdit !== null) raw = editBytes(raw, spec.byteEdit);
  return raw;
}

function sanitize(spec: TxSpec): TxSpec {
  const maxFee = 30n * 10n ** 9n;
  return {
    ...spec,
    nonce: spec.nonce % 1000n,
    maxFee,
    tip: spec.tip % (maxFee + 1n),
    // Between the intrinsic cost and the EIP-7623 floor (16 vs 40 gas per non-zero byte) or above both.
    gasLimit: 21_000n + (spec.gasLimit % 2n === 0n ? 16n : 40n) * BigInt(spec.data.length) + (spec.gasLimit % 2_000n),
    value: spec.value % 10n ** 20n,
  };
}

function editBytes(raw: Uint8Array, e: { kind: string; at: number; byte: number }): Uint8Array {
  const at = e.at % raw.length;
  switch (e.kind) {
    case "flip": {
      const out = raw.slice();
      out[at] = e.byte;
      return out;
    }
    case "truncate":
      return raw.slice(0, at);
    case "append":
      return concatBytes(raw, Uint8Array.of(e.byte));
    case "longHeader": {
      // The outer list in long form even when short: non-canonical RLP.
      const listAt = raw[0] >= 0xc0 ? 0 : 1;
      const h = raw[listAt];
      if (h > 0xf7) return concatBytes(raw.subarray(0, listAt + 1), Uint8Array.of(0), raw.subarray(listAt + 1));
      const len = h - 0xc0;
      return concatBytes(raw.subarray(0, listAt), Uint8Array.of(0xf8, len), raw.subarray(listAt + 1));
    }
    default: {
      // A single byte below 0x80 wrapped as a one-byte string: non-canonical.
      const i = raw.indexOf(0x01, 2);
      if (i < 0) return raw;
      const listAt = raw[0] >= 0xc0 ? 0 : 1;
      const out = concatBytes(raw.subarray(0, i), Uint8Array.of(0x81, 0x01), raw.subarray(i + 1));
      // Keep the outer length consistent when it is short; otherwise leave the (now wrong) length.
      if (out[listAt] < 0xf7) out[listAt] += 1;
      return out;
    }
  }
}

/** [start, end) of each RLP item encoding from `at` to the end (test inputs only: no checks). */
function itemSpans(raw: Uint8Array, at: number): [number, number][] {
  const spans: [number, number][] = [];
  while (at < raw.length) {
    const b = raw[at];
    let end: number;
    if (b < 0x80) end = at + 1;
    else if (b <= 0xb7) end = at + 1 + (b - 0x80);
    else if (b < 0xc0) end = at + 1 + (b - 0xb7) + Number(BigInt(bytesToHex(raw.subarray(at + 1, at + 1 + b - 0xb7))));
    else if (b <= 0xf7) end = at + 1 + (b - 0xc0);
    else end = at + 1 + (b - 0xf7) + Number(BigInt(bytesToHex(raw.subarray(at + 1, at + 1 + b - 0xf7))));
    spans.push([at, end]);
    at = end;
  }
  return spans;
}

type Verdict = { ok: true; p: PooledTx } | { ok: false; code: string; message: string };

function verdict(f: () => PooledTx): Verdict {
  try {
    return { ok: true, p: f() };
  } catch (e) {
    if (isMempoolError(e)) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: "THROWN", message: (e as Error).message };
  }
}

function reference(raw: Uint8Array): Verdict {
  return verdict(() => {
    if (raw.length > decodeCtx.maxTxBytes) return decodeRawTransaction(raw, decodeCtx); // size: no decode at all
    return decodeWithEthereumjs(raw, envelopeType(raw), decodeCtx);
  });
}

describe("tryFastDecode against ethereumjs (differential)", () => {
  it("accepts only what ethereumjs accepts, with the same hash, sender, fields and gas; same verdicts overall", () => {
    let fastAccepted = 0;
    let plainRuns = 0;
    let plainFast = 0;
    fc.assert(
      fc.property(txArb, (spec) => {
        const raw = build(spec);
        const ref = reference(raw);
        const fast = raw.length === 0 ? undefined : tryFastDecode(raw, CHAIN_ID);
        const full = verdict(() => decodeRawTransaction(raw, decodeCtx));

        // Same verdict as the reference, error code and message included.
        expect(full.ok).toBe(ref.ok);
        if (!full.ok && !ref.ok) expect([full.code, full.message]).toEqual([ref.code, ref.message]);

        if (fast !== undefined) {
          fastAccepted++;
          expect(ref.ok).toBe(true);
          if (!ref.ok || !full.ok) return;
          const r = ref.p;
          const p = full.p;
          expect(bytesToHex(fast.hash)).toBe(r.hash);
          expect(bytesToHex(fast.sender)).toBe(r.sender);
          for (const k of ["hash", "sender", "nonce", "gasLimit", "maxFeePerGas", "maxPriorityFeePerGas"] as const) {
            expect(p[k]).toBe(r[k]);
          }
          for (const k of ["value", "cost", "size", "type"] as const) expect(p[k]).toBe(r[k]);
          // The lazily built ethereumjs tx is the reference's: bytes, hash, sender, gas.
          const tx = p.tx;
          expect(Object.isFrozen(tx)).toBe(true);
          expect(bytesToHex(tx.serialize())).toBe(bytesToHex(r.tx.serialize()));
          expect(bytesToHex(tx.hash())).toBe(bytesToHex(r.tx.hash()));
          expect(tx.getSenderAddress().toString()).toBe(r.tx.getSenderAddress().toString());
          expect(bytesToHex(tx.getSenderPublicKey())).toBe(bytesToHex(r.tx.getSenderPublicKey()));
          expect(tx.getIntrinsicGas()).toBe(r.tx.getIntrinsicGas());
          expect(tx.getMinimumGasLimit()).toBe(r.tx.getMinimumGasLimit());
          expect(tx.toJSON()).toEqual(r.tx.toJSON());
        }

        // The fast path must carry the ordinary case: an unedited, replay-protected type 0–2 tx with our
        // chain id, a recipient, an empty access list, the tip within the cap and enough gas.
        const plain =
          spec.type !== 4 &&
          spec.fieldEdit === null &&
          spec.byteEdit === null &&
          (spec.sigEdit === "none" || spec.sigEdit === "swapV") &&
          !spec.unprotected &&
          spec.chainId === CHAIN_ID &&
          spec.to.length === 20 &&
          spec.accessList === "empty" &&
          ref.ok;
        if (plain) {
          plainRuns++;
          if (fast !== undefined) plainFast++;
        }
      }),
      { numRuns: 1500, seed: 14 },
    );
    expect(fastAccepted).toBeGreaterThan(80);
    expect(plainFast).toBe(plainRuns);
  });

  it("keeps no state between calls: chain ids, payload sizes and earlier results", () => {
    // The signing payload, its legacy chain-id tail and the recovered key live in buffers reused across
    // calls: alternate chain ids (a tail cached for the wrong one signs the wrong bytes), cross the
    // 55-byte short-list limit and the payload buffer's size, and keep every result to check later.
    const address = (key: string) =>
      bytesToHex(
        keccak256(secp256k1Native.publicKeyCreate(hexToBytes(key as `0x${string}`), false).subarray(1)).subarray(12),
      );
    const kept: { sender: Uint8Array; hash: Uint8Array; want: string; raw: Uint8Array }[] = [];
    fc.assert(
      fc.property(
        fc.constantFrom(CHAIN_ID, 1n, 0n),
        fc.constantFrom<0 | 1 | 2>(0, 1, 2),
        fc.constantFrom(...DEV_KEYS),
        fc.oneof(fc.nat({ max: 60 }), fc.nat({ max: 3000 })),
        (chainId, type, key, dataLength) => {
          const data = new Uint8Array(dataLength).fill(0x5a);
          const raw = build(
            plainSpec({
              type,
              key,
              chainId,
              nonce: 3n,
              gasLimit: 30_000_000n,
              to: new Uint8Array(20).fill(0x33),
              value: 1n,
              data,
            }),
          );
          const fast = tryFastDecode(raw, chainId);
          expect(fast).toBeDefined();
          if (fast === undefined) return;
          const want = address(key);
          expect(bytesToHex(fast.sender)).toBe(want);
          kept.push({ sender: fast.sender, hash: fast.hash, want, raw });
        },
      ),
      { numRuns: 300, seed: 32 },
    );
    for (const k of kept) {
      expect(bytesToHex(k.sender)).toBe(k.want);
      expect(bytesToHex(k.hash)).toBe(bytesToHex(keccak256(k.raw)));
    }
  });

  it("refuses non-canonical RLP that would decode to a valid tx", () => {
    const spec = plainSpec({ type: 2, key: DEV_KEYS[0], chainId: CHAIN_ID, nonce: 1n, value: 5n });
    for (const type of [0, 1, 2] as const) {
      const raw = build({ ...spec, type });
      expect(tryFastDecode(raw, CHAIN_ID)).toBeDefined();
      const listAt = type === 0 ? 0 : 1;
      expect(raw[listAt]).toBe(0xf8); // signed txs are longer than 55 bytes: one length byte
      const len = raw[listAt + 1];
      const items = itemSpans(raw, listAt + 2);
      const nonce = items[type === 0 ? 0 : 1];
      const data = items[type === 0 ? 5 : type === 1 ? 6 : 7];
      const to = items[type === 0 ? 3 : type === 1 ? 4 : 5];
      expect(raw[to[0]]).toBe(0x94);
      expect(raw.subarray(nonce[0], nonce[1])).toEqual(Uint8Array.of(0x01));
      expect(raw.subarray(data[0], data[1])).toEqual(Uint8Array.of(0x80));
      const head = raw.subarray(0, listAt);
      const longer = (extra: number) => Uint8Array.of(0xf8, len + extra);
      const variants = [
        // The nonce 0x01 as a one-byte string 0x81 0x01.
        concatBytes(
          head,
          longer(1),
          raw.subarray(listAt + 2, nonce[0]),
          Uint8Array.of(0x81, 0x01),
          raw.subarray(nonce[1]),
        ),
        // The empty data in long form (0xb8 0x00): a length below 56 must be short.
        concatBytes(
          head,
          longer(1),
          raw.subarray(listAt + 2, data[0]),
          Uint8Array.of(0xb8, 0x00),
          raw.subarray(data[1]),
        ),
        // The 20-byte recipient in long form (0xb8 0x14).
        concatBytes(
          head,
          longer(1),
          raw.subarray(listAt + 2, to[0]),
          Uint8Array.of(0xb8, 0x14),
          raw.subarray(to[0] + 1),
        ),
        // The outer length with a leading zero byte.
        concatBytes(head, Uint8Array.of(0xf9, 0, len), raw.subarray(listAt + 2)),
      ];
      for (const bad of variants) {
        expect(tryFastDecode(bad, CHAIN_ID)).toBeUndefined();
        expect(reference(bad).ok).toBe(false);
        expect(verdict(() => decodeRawTransaction(bad, decodeCtx))).toEqual(reference(bad));
      }
    }
  });
});
