import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  getCalldataFloorGas,
  type TypedTransaction,
} from "@ethereumjs/tx";
import { hexToBytes } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { devnetGenesis } from "../../../genesis/devnet.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { CodecError } from "../../../runtime/primitives/codecError.js";
import { callGas, fieldsOfRaw, fieldsOfTx } from "../../../runtime/txFields.js";
import { DEV_KEYS } from "../../utils/devnode.js";

/**
 * The executor's fast paths read a transaction's fields from its raw bytes (`fieldsOfRaw`) and price
 * module calls with `callGas`: both against ethereumjs's own object on random transactions.
 */
const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const KEY = hexToBytes(DEV_KEYS[0] as `0x${string}`);

const u256 = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: 2n ** 64n }),
  fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
);
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b) as `0x${string}`);
const data = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  // Runs of zeros and non-zeros: the two calldata prices.
  fc.array(fc.constantFrom(0, 0, 1, 255), { maxLength: 200 }).map((a) => Uint8Array.from(a)),
);
const accessList = fc.array(
  fc.record({
    address,
    storageKeys: fc.array(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b) as `0x${string}`),
      { maxLength: 2 },
    ),
  }),
  { maxLength: 2 },
);

const txArb: fc.Arbitrary<TypedTransaction> = fc
  .record({
    type: fc.constantFrom(0, 1, 2),
    nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n }),
    gasLimit: fc.bigInt({ min: 0n, max: 2n ** 63n }),
    to: fc.option(address, { nil: undefined }),
    value: u256,
    data,
    accessList,
    // ethereumjs refuses gas limit × fee cap above 2^256 - 1.
    fee: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n ** 128n })),
    tip: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n ** 128n })),
  })
  .map((r) => {
    const base = { nonce: r.nonce, gasLimit: r.gasLimit, to: r.to, value: r.value, data: r.data };
    if (r.type === 0) return createLegacyTx({ ...base, gasPrice: r.fee }, { common }).sign(KEY);
    if (r.type === 1) {
      return createAccessList2930Tx(
        { ...base, chainId: spec.chainId, gasPrice: r.fee, accessList: r.accessList },
        { common },
      ).sign(KEY);
    }
    return createFeeMarket1559Tx(
      {
        ...base,
        chainId: spec.chainId,
        maxFeePerGas: r.fee,
        maxPriorityFeePerGas: r.tip > r.fee ? r.fee : r.tip,
        accessList: r.accessList,
      },
      { common },
    ).sign(KEY);
  });

describe("transaction fields for the fast paths", () => {
  it("read from the raw bytes equal those of ethereumjs's object (types 0, 1 and 2)", () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        expect(fieldsOfRaw(tx.serialize())).toEqual(fieldsOfTx(tx));
      }),
      { numRuns: 400, seed: 20261206 },
    );
  });

  it("refuse bytes that were never decoded with a codec error", () => {
    // A one-byte string below 0x80 wrapped in a header: RLP decoding refuses it, so no caller has it.
    expect(() => fieldsOfRaw(Uint8Array.of(2, 0xc2, 0x81, 0x05))).toThrow(CodecError);
  });

  it("leave other types to ethereumjs", () => {
    expect(fieldsOfRaw(Uint8Array.of(4, 0xc0))).toBeUndefined();
    expect(fieldsOfRaw(Uint8Array.of(3, 0xc0))).toBeUndefined();
  });

  it("price a call's intrinsic gas and calldata floor as ethereumjs does", () => {
    fc.assert(
      fc.property(data, fc.constantFrom(0, 1, 2), (d, type) => {
        const base = { to: "0x0000000000000000000000000000000000000a02" as const, data: d, gasLimit: 10n ** 6n };
        const tx =
          type === 0
            ? createLegacyTx({ ...base, gasPrice: 1n }, { common }).sign(KEY)
            : type === 1
              ? createAccessList2930Tx({ ...base, chainId: spec.chainId, gasPrice: 1n }, { common }).sign(KEY)
              : createFeeMarket1559Tx({ ...base, chainId: spec.chainId, maxFeePerGas: 1n }, { common }).sign(KEY);
        expect(callGas(d)).toEqual({ intrinsic: tx.getIntrinsicGas(), floor: getCalldataFloorGas(tx) });
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});
