import { Signature, TypedDataEncoder, verifyTypedData, Wallet, ZeroAddress } from "ethers";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { paymentDigest, RECEIPT_STRUCT, recoverDigestSigner } from "../../../services/client/paymentSignatures.js";
import {
  decodeSigned,
  PaymentSession,
  paymentsDomain,
  RECEIPT_TYPES,
  type Receipt,
  recoverReceiptSigner,
  recoverVoucherSigner,
  VOUCHER_TYPES,
  type Voucher,
} from "../../../services/client/payments.js";

// The native EIP-712 path (keccak addon + libsecp256k1) against ethers' generic one, on random messages: same
// digests, signatures that ethers verifies, and ethers' signatures recovered to the same address.
const KEYS = [
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];
const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

describe("payment signatures, native vs ethers", () => {
  it("receipts and vouchers: same digest; native signatures verify in ethers, ethers' recover natively", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KEYS),
        addr,
        uint(128),
        uint(64),
        uint(64),
        fc.bigInt({ min: 1n, max: 1n << 40n }),
        async (key, payee, value, ts, nonce, chainId) => {
          const w = new Wallet(key);
          const domain = paymentsDomain(chainId);
          const r: Receipt = { payer: w.address, payee, token: ZeroAddress, value, timestampMs: ts, nonce };
          expect(`0x${Buffer.from(paymentDigest(domain, RECEIPT_STRUCT, { ...r })).toString("hex")}`).toBe(
            TypedDataEncoder.hash(domain, RECEIPT_TYPES, r),
          );
          const native = decodeSigned(await new PaymentSession(w, chainId, payee).receipt(value), []);
          const signed: Receipt = {
            ...r,
            timestampMs: BigInt(native.timestampMs as string),
            nonce: BigInt(native.nonce as string),
          };
          expect(verifyTypedData(domain, RECEIPT_TYPES, signed, native.signature)).toBe(w.address);
          const byEthers = await w.signTypedData(domain, RECEIPT_TYPES, r);
          expect(recoverReceiptSigner(chainId, r, byEthers)).toBe(w.address);
          const v: Voucher = { payer: w.address, payee, token: ZeroAddress, valueAggregate: value, timestampMs: ts };
          expect(recoverVoucherSigner(chainId, v, await w.signTypedData(domain, VOUCHER_TYPES, v))).toBe(w.address);
          // a changed field recovers someone else
          expect(recoverReceiptSigner(chainId, { ...r, nonce: nonce ^ 1n }, byEthers)).not.toBe(w.address);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses malformed, out-of-range and high-s (malleable) signatures", async () => {
    const w = new Wallet(KEYS[0]);
    const r: Receipt = {
      payer: w.address,
      payee: w.address,
      token: ZeroAddress,
      value: 1n,
      timestampMs: 2n,
      nonce: 3n,
    };
    const sig = await w.signTypedData(paymentsDomain(1n), RECEIPT_TYPES, r);
    const digest = paymentDigest(paymentsDomain(1n), RECEIPT_STRUCT, { ...r });
    expect(recoverDigestSigner(digest, sig)).toBe(w.address);
    expect(() => recoverDigestSigner(digest, sig.slice(0, -2))).toThrow(/65 bytes/);
    expect(() => recoverDigestSigner(digest, `${sig.slice(0, -2)}1d`)).toThrow(/bad v/);
    const s = Signature.from(sig);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const twin = `${sig.slice(0, 66)}${(n - BigInt(s.s)).toString(16).padStart(64, "0")}${s.v === 27 ? "1c" : "1b"}`;
    expect(() => recoverDigestSigner(digest, twin)).toThrow(/non-canonical/);
    expect(() => paymentDigest(paymentsDomain(1n), RECEIPT_STRUCT, { ...r, value: 1n << 128n })).toThrow(/uint128/);
    expect(() => paymentDigest(paymentsDomain(1n), RECEIPT_STRUCT, { ...r, payee: "0x12" })).toThrow(/address/);
  });
});

describe("payment session receipts", () => {
  it("timestamps strictly increase within a session, even when signed in the same millisecond", async () => {
    const session = new PaymentSession(new Wallet(KEYS[0]), 1n, ZeroAddress);
    const now = Date.now();
    const clock = vi.spyOn(Date, "now").mockReturnValue(now);
    try {
      const ts: bigint[] = [];
      for (let i = 0; i < 4; i++) ts.push(BigInt(decodeSigned(await session.receipt(1n), []).timestampMs as string));
      expect(ts).toEqual([0n, 1n, 2n, 3n].map((d) => BigInt(now) + d));
      clock.mockReturnValue(now + 100); // the clock moving past the last one is taken as is
      expect(BigInt(decodeSigned(await session.receipt(1n), []).timestampMs as string)).toBe(BigInt(now + 100));
    } finally {
      clock.mockRestore();
    }
  });
});
