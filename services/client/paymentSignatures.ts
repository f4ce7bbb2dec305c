import { getAddress, TypedDataEncoder } from "ethers";
import { keccak256 } from "../../runtime/primitives/hash.js";
import { secp256k1Native } from "../../runtime/primitives/nativeCrypto.js";

/**
 * EIP-712 digests, signatures and signer recovery of the payments' `Receipt` and `Voucher` through the fast
 * keccak and libsecp256k1 the node uses for sender recovery: a metered call signs one receipt (payer) and recovers
 * one (payee), and ethers' generic path (TypedDataEncoder + noble in JavaScript) costs ~1–3 ms of CPU for each on
 * this machine, a tenth of a 10 ms inference; this costs tens of µs. Same bytes as ethers'
 * `signTypedData` / `verifyTypedData` (test/unit/paymentSignatures.test.ts checks them against each other), so the
 * protocol and the on-chain voucher check are unchanged. The struct layouts are fixed (addresses and uints only),
 * which is what makes a hand-written encoding safe here.
 */

/** A struct field of the payment types: an address, an unsigned integer of `bits` bits, or bytes (0x hex). */
type Field =
  | { name: string; type: "address" }
  | { name: string; type: `uint${number}` }
  | { name: string; type: "bytes" };

interface StructType {
  fields: readonly Field[];
  typeHash: Uint8Array;
}

function structType(name: string, fields: readonly Field[]): StructType {
  const sig = `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
  return { fields, typeHash: keccak256(new TextEncoder().encode(sig)) };
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * keccak256(typeHash ‖ each field as one 32-byte word): EIP-712 `hashStruct` for static fields and `bytes` (whose
 * word is the keccak of its content).
 */
function hashStruct(t: StructType, value: Record<string, unknown>): Uint8Array {
  const buf = Buffer.alloc(32 * (1 + t.fields.length));
  buf.set(t.typeHash, 0);
  t.fields.forEach((f, i) => {
    const at = 32 * (i + 1);
    const v = value[f.name];
    if (f.type === "address") {
      if (typeof v !== "string" || !ADDRESS.test(v)) throw new Error(`${f.name}: not an address`);
      buf.write(v.slice(2), at + 12, 20, "hex");
    } else if (f.type === "bytes") {
      if (typeof v !== "string" || !BYTES.test(v)) throw new Error(`${f.name}: not 0x bytes`);
      buf.set(keccak256(Buffer.from(v.slice(2), "hex")), at);
    } else {
      const bits = Number(f.type.slice(4));
      if (typeof v !== "bigint" || v < 0n || v >= 1n << BigInt(bits)) throw new Error(`${f.name}: not a ${f.type}`);
      buf.write(v.toString(16).padStart(64, "0"), at, 32, "hex");
    }
  });
  return keccak256(buf);
}

export interface PaymentStruct {
  readonly name: "Receipt" | "Voucher" | "ReceiptSession";
  readonly fields: readonly Field[];
}

/** The types as ethers wants them ({Receipt: [...]}) and as this module encodes them: one source. */
export const RECEIPT_STRUCT: PaymentStruct = {
  name: "Receipt",
  fields: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "token", type: "address" },
    { name: "value", type: "uint128" },
    { name: "timestampMs", type: "uint64" },
    { name: "nonce", type: "uint64" },
  ],
};
export const VOUCHER_STRUCT: PaymentStruct = {
  name: "Voucher",
  fields: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "token", type: "address" },
    { name: "valueAggregate", type: "uint128" },
    { name: "timestampMs", type: "uint64" },
  ],
};

const typeCache = new Map<PaymentStruct, StructType>();
const domainCache = new Map<string, Uint8Array>();

/** The EIP-712 digest keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(value)) — what ethers' `TypedDataEncoder.hash` returns. */
export function paymentDigest(
  domain: { name: string; version: string; chainId: bigint; verifyingContract: string },
  struct: PaymentStruct,
  value: Record<string, unknown>,
): Uint8Array {
  let t = typeCache.get(struct);
  if (t === undefined) {
    t = structType(struct.name, struct.fields);
    typeCache.set(struct, t);
  }
  const key = `${domain.name}\n${domain.version}\n${domain.chainId}\n${domain.verifyingContract}`;
  let sep = domainCache.get(key);
  if (sep === undefined) {
    sep = Buffer.from(TypedDataEncoder.hashDomain(domain).slice(2), "hex");
    domainCache.set(key, sep);
  }
  const msg = Buffer.alloc(66);
  msg[0] = 0x19;
  msg[1] = 0x01;
  msg.set(sep, 2);
  msg.set(hashStruct(t, value), 34);
  return keccak256(msg);
}

/** A 65-byte r ‖ s ‖ v (27/28) signature of a digest, hex — the format ethers' `signTypedData` produces. */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): string {
  const { signature, recid } = secp256k1Native.ecdsaSign(digest, privateKey); // libsecp256k1 signs low-s
  return `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}`;
}

/** secp256k1n / 2: signatures with a higher s are the malleable twin, refused as ethers refuses them. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/** The checksummed address that signed `digest`; throws on a malformed or high-s signature. */
export function recoverDigestSigner(digest: Uint8Array, signature: string): string {
  return getAddress(recoverDigestSignerHex(digest, signature));
}

/**
 * The address that signed `digest` as lowercase hex (0x + 40): no checksum, whose JavaScript keccak costs more than
 * the native recovery — for hot paths that compare addresses rather than show them.
 */
export function recoverDigestSignerHex(digest: Uint8Array, signature: string): string {
  if (!SIGNATURE.test(signature)) throw new Error("signature: 65 bytes hex");
  const sig = Buffer.from(signature.slice(2), "hex");
  const v = sig[64];
  const recid = v >= 27 ? v - 27 : v;
  if (recid !== 0 && recid !== 1) throw new Error("signature: bad v");
  if (BigInt(`0x${sig.subarray(32, 64).toString("hex")}`) > HALF_N) throw new Error("signature: non-canonical s");
  const pub = secp256k1Native.ecdsaRecover(sig.subarray(0, 64), recid, digest, false);
  return `0x${Buffer.from(keccak256(pub.subarray(1)))
    .subarray(12)
    .toString("hex")}`;
}

/** The private key of an ethers Wallet-like signer, when it exposes one (else signing goes through ethers). */
export function privateKeyOf(signer: unknown): Uint8Array | null {
  const k = (signer as { signingKey?: { privateKey?: unknown } }).signingKey?.privateKey;
  return typeof k === "string" && /^0x[0-9a-fA-F]{64}$/.test(k) ? Buffer.from(k.slice(2), "hex") : null;
}
