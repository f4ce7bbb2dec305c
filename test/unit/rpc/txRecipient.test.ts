// rawTxRecipient (node/rpc/txRecipient.ts) reads a transaction's `to` from its encoding for receipt answers,
// instead of an ethereumjs decode. On random signed transactions of every type the dev node takes —
// legacy, EIP-2930, EIP-1559, EIP-7702 — calls and creations, with data short and long (one- and two-byte
// RLP lengths), it must give what `createTxFromRLP(raw).to` gives; on truncated or arbitrary bytes it must
// not throw, and must answer undefined (decode as before) whenever it is not sure.
import { createTx, createTxFromRLP } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rawTxRecipient } from "../../../node/rpc/txRecipient.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { DEV_KEYS } from "../../utils/devnode.js";

const CHAIN_ID = 1337n;
const common = createChainCommon(CHAIN_ID);
const KEY = hexToBytes(DEV_KEYS[0] as `0x${string}`);
const quantity = fc.bigInt({ min: 0n, max: (1n << 200n) - 1n });

const txArb = fc.record({
  type: fc.constantFrom(0, 1, 2, 4),
  create: fc.boolean(),
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }),
  value: quantity,
  gasLimit: fc.bigInt({ min: 21_000n, max: 30_000_000n }),
  price: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  data: fc.uint8Array({ maxLength: 600 }),
  accessList: fc.array(
    fc.record({
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      storageKeys: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 3 }),
    }),
    { maxLength: 3 },
  ),
});

type TxSpec = typeof txArb extends fc.Arbitrary<infer T> ? T : never;

function signed(t: TxSpec): Uint8Array {
  // EIP-7702 transactions cannot create a contract and carry one authorisation at least.
  const to = t.create && t.type !== 4 ? undefined : bytesToHex(t.to);
  const accessList = t.accessList.map((e) => ({
    address: bytesToHex(e.address),
    storageKeys: e.storageKeys.map((k) => bytesToHex(k)),
  }));
  const fields = {
    type: t.type,
    to,
    nonce: t.nonce,
    value: t.value,
    gasLimit: t.gasLimit,
    data: t.data,
    gasPrice: t.type < 2 ? t.price : undefined,
    maxFeePerGas: t.type >= 2 ? t.price : undefined,
    maxPriorityFeePerGas: t.type >= 2 ? t.price / 2n : undefined,
    accessList: t.type === 0 ? undefined : accessList,
    chainId: t.type === 0 ? undefined : CHAIN_ID,
    authorizationList:
      t.type === 4
        ? [{ chainId: "0x0", address: bytesToHex(t.to), nonce: "0x1", yParity: "0x0", r: "0x01", s: "0x02" }]
        : undefined,
  };
  return createTx(fields as Parameters<typeof createTx>[0], { common })
    .sign(KEY)
    .serialize();
}

function decodedTo(raw: Uint8Array): Uint8Array | null {
  const to = createTxFromRLP(raw, { common }).to;
  return to === undefined ? null : to.bytes;
}

describe("rawTxRecipient", () => {
  it("reads the `to` createTxFromRLP decodes, on random transactions of every type", () => {
    fc.assert(
      fc.property(txArb, (t) => {
        const raw = signed(t);
        const to = rawTxRecipient(raw);
        expect(to).not.toBeUndefined();
        expect(to).toEqual(decodedTo(raw));
      }),
      { numRuns: 400 },
    );
  });

  it("never throws on a truncated transaction or arbitrary bytes, and is undefined when it cannot read one", () => {
    fc.assert(
      fc.property(txArb, fc.nat(), (t, cut) => {
        const raw = signed(t);
        const truncated = raw.subarray(0, cut % raw.length);
        expect(() => rawTxRecipient(truncated)).not.toThrow();
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(() => rawTxRecipient(bytes)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
    expect(rawTxRecipient(new Uint8Array(0))).toBeUndefined();
    // An unknown type byte, and a `to` that is no address (a list, a 19-byte string).
    expect(rawTxRecipient(Uint8Array.of(0x05, 0xc0))).toBeUndefined();
    expect(rawTxRecipient(Uint8Array.of(0xc4, 0x80, 0x80, 0x80, 0xc0))).toBeUndefined();
    expect(rawTxRecipient(Uint8Array.of(0xd7, 0x80, 0x80, 0x80, 0x93, ...new Uint8Array(19)))).toBeUndefined();
  });
});
