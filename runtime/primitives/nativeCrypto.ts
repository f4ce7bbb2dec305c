import { createRequire } from "node:module";
import { setLengthLeft } from "@ethereumjs/util";
import { keccak256 } from "./hash.js";

/**
 * Native secp256k1 (libsecp256k1 addon): ~21k ecrecover/s on this machine against ~890/s for noble.
 * `secp256k1/index.js` silently falls back to pure JS when the binding fails to load, so we load
 * `secp256k1/bindings` directly and fail loudly instead of running 25x slower without notice.
 */
const require = createRequire(import.meta.url);

interface Secp256k1Native {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean, output?: Uint8Array): Uint8Array;
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
  /** Whether the 32 bytes are a valid secret key (non-zero, below the curve order). */
  privateKeyVerify(privateKey: Uint8Array): boolean;
  /** sha256 of the compressed shared point; throws on a public key off the curve. */
  ecdh(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array;
}

export const secp256k1Native = require("secp256k1/bindings") as Secp256k1Native;

/** The recovered public key, reused: recovery is synchronous and only its hash leaves `recoverSenderAddress`. */
const recoveredKey = new Uint8Array(65);

/**
 * The 20-byte address that signed `msg32` with the 64-byte r‖s and recovery id, or `undefined` when
 * no public key recovers. The key is recovered into one reused array (not a fresh off-heap 65 bytes
 * per call) and only its keccak, a fresh array, is returned (as a 20-byte view).
 */
export function recoverSenderAddress(sig: Uint8Array, recid: number, msg32: Uint8Array): Uint8Array | undefined {
  try {
    secp256k1Native.ecdsaRecover(sig, recid, msg32, false, recoveredKey);
  } catch {
    return undefined;
  }
  return keccak256(recoveredKey.subarray(1)).subarray(12);
}

const BIGINT_27 = 27n;

/** Drop-in for `Common.customCrypto.ecrecover`: returns the 64-byte uncompressed public key. */
export function nativeEcrecover(
  msgHash: Uint8Array,
  v: bigint,
  r: Uint8Array,
  s: Uint8Array,
  chainId?: bigint,
): Uint8Array {
  let recovery: bigint;
  if (v === 0n || v === 1n) recovery = v;
  else if (chainId === undefined) recovery = v - BIGINT_27;
  else recovery = v - (chainId * 2n + 35n);
  if (recovery !== 0n && recovery !== 1n) throw new Error("Invalid signature v value");
  const sig = new Uint8Array(64);
  sig.set(setLengthLeft(r, 32), 0);
  sig.set(setLengthLeft(s, 32), 32);
  const pub = secp256k1Native.ecdsaRecover(sig, Number(recovery), msgHash, false);
  return pub.subarray(1);
}
