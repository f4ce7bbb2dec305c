import { keccak256 } from "../../runtime/primitives/hash.js";
import { recoverSenderAddress } from "../../runtime/primitives/nativeCrypto.js";
import { rlpHeader as header } from "../../runtime/primitives/rlpHeader.js";

/**
 * The common case of `decodeRawTransaction` without ethereumjs: one pass over the RLP, fields as
 * bigints, the hash, the signing hash and the sender through the fast keccak and native libsecp256k1.
 * It accepts only what it can prove ethereumjs accepts too — canonical RLP, types 0 (EIP-155), 1
 * and 2 with our chain id, an empty access list, a recipient, a low-s signature, enough gas for the
 * intrinsic cost and the EIP-7623 floor, a tip within the fee cap — and answers `undefined` for
 * everything else, which the caller then decodes with ethereumjs to give the exact verdict. So a
 * rejection always comes from one place, and this path only has to agree on what it accepts
 * (`test/unit/node/mempool/fastDecode.test.ts` checks that on random valid and malformed txs).
 */
export interface FastDecodedTx {
  type: 0 | 1 | 2;
  nonce: bigint;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  value: bigint;
  /** keccak256 of the raw bytes. */
  hash: Uint8Array;
  /** The recovered 20-byte sender. */
  sender: Uint8Array;
  /** Time spent recovering the sender (ecrecover and the address hash), when a clock was passed. */
  recoverMs: number;
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SECP256K1_N_DIV_2 = SECP256K1_N / 2n;
const MAX_UINT64 = 0xffffffffffffffffn;
const MAX_UINT256 = (1n << 256n) - 1n;
/**
 * Prague's txGas, calldata gas per zero and non-zero byte, and EIP-7623's floor cost per token (the
 * differential test compares the resulting intrinsic gas and floor with ethereumjs's, from its params).
 */
const TX_GAS = 21_000n;
const ZERO_BYTE_GAS = 4;
const NONZERO_BYTE_GAS = 16;
const FLOOR_GAS_PER_TOKEN = 10;

/** The signed list per type: field count and the positions of the access list (-1: none), v, `to` and data. */
const LAYOUT = {
  0: { count: 9, accessList: -1, v: 6, to: 3, data: 5 },
  1: { count: 11, accessList: 7, v: 8, to: 4, data: 6 },
  2: { count: 12, accessList: 8, v: 9, to: 5, data: 7 },
} as const;

/** Item boundaries found by the scan, reused across calls (decoding is synchronous). */
const starts = new Int32Array(16);
const ends = new Int32Array(16);
const isList = new Uint8Array(16);
/** r‖s left-padded to 32 bytes each, reused across calls: the recovery reads it and keeps nothing. */
const signature = new Uint8Array(64);

export function tryFastDecode(raw: Uint8Array, chainId: bigint, now?: () => number): FastDecodedTx | undefined {
  if (raw.length < 2) return undefined;
  const first = raw[0];
  const type = first >= 0xc0 ? 0 : first;
  if (type !== 0 && type !== 1 && type !== 2) return undefined;
  const layout = LAYOUT[type];
  const listAt = type === 0 ? 0 : 1;

  // Outer list header, canonical, covering exactly the rest of the bytes.
  const outer = header(raw, listAt, raw.length);
  if (outer === undefined || !outer.list || outer.end !== raw.length) return undefined;
  let pos = outer.start;
  let n = 0;
  while (pos < raw.length) {
    if (n === layout.count) return undefined;
    const item = header(raw, pos, raw.length);
    if (item === undefined) return undefined;
    starts[n] = item.start;
    ends[n] = item.end;
    isList[n] = item.list ? 1 : 0;
    pos = item.end;
    n++;
  }
  if (n !== layout.count) return undefined;
  for (let i = 0; i < n; i++) {
    if (i === layout.accessList) {
      // Only an empty access list here; a non-empty one goes through ethereumjs's checks.
      if (isList[i] !== 1 || ends[i] !== starts[i]) return undefined;
    } else if (isList[i] === 1) {
      return undefined;
    }
  }

  // Integer fields (and v, r, s): canonical, at most 32 bytes.
  let f = 0;
  let tx0 = 0;
  if (type !== 0) {
    const id = uint(raw, 0);
    if (id !== chainId) return undefined;
    tx0 = 1;
  }
  const nonce = uint(raw, tx0 + f++);
  let maxPriorityFeePerGas: bigint | undefined;
  let maxFeePerGas: bigint | undefined;
  if (type === 2) {
    maxPriorityFeePerGas = uint(raw, tx0 + f++);
    maxFeePerGas = uint(raw, tx0 + f++);
  } else {
    maxFeePerGas = uint(raw, tx0 + f++);
    maxPriorityFeePerGas = maxFeePerGas;
  }
  const gasLimit = uint(raw, tx0 + f++);
  const value = uint(raw, layout.to + 1);
  const v = uint(raw, layout.v);
  const r = uint(raw, layout.v + 1);
  const s = uint(raw, layout.v + 2);
  if (
    nonce === undefined ||
    maxFeePerGas === undefined ||
    maxPriorityFeePerGas === undefined ||
    gasLimit === undefined ||
    value === undefined ||
    v === undefined ||
    r === undefined ||
    s === undefined
  ) {
    return undefined;
  }
  // EIP-2681 (nonce below 2^64 - 1), geth's gas limit bound, ethereumjs's MAX_INTEGER product.
  if (nonce >= MAX_UINT64 || gasLimit > MAX_UINT64 || gasLimit * maxFeePerGas > MAX_UINT256) return undefined;
  if (maxPriorityFeePerGas > maxFeePerGas) return undefined;
  // A contract creation (empty `to`) has the init-code rules; leave those to ethereumjs.
  if (ends[layout.to] - starts[layout.to] !== 20) return undefined;
  // Signature: low-s (EIP-2), r and s in range, y parity (typed) or EIP-155 v (legacy) with our chain id.
  if (r === 0n || r >= SECP256K1_N || s === 0n || s > SECP256K1_N_DIV_2) return undefined;
  let recovery: number;
  if (type === 0) {
    const base = chainId * 2n + 35n;
    if (v !== base && v !== base + 1n) return undefined;
    recovery = Number(v - base);
  } else {
    if (v !== 0n && v !== 1n) return undefined;
    recovery = Number(v);
  }

  // Intrinsic gas (no creation, no access list) and the EIP-7623 calldata floor.
  let zeros = 0;
  let nonZeros = 0;
  for (let i = starts[layout.data]; i < ends[layout.data]; i++) {
    if (raw[i] === 0) zeros++;
    else nonZeros++;
  }
  const intrinsic = TX_GAS + BigInt(zeros * ZERO_BYTE_GAS + nonZeros * NONZERO_BYTE_GAS);
  const floor = TX_GAS + BigInt((zeros + nonZeros * 4) * FLOOR_GAS_PER_TOKEN);
  if (gasLimit < intrinsic || gasLimit < floor) return undefined;

  const signingHash = keccak256(signingPayload(raw, type, layout.v, chainId));
  const rAt = starts[layout.v + 1];
  const sAt = starts[layout.v + 2];
  signature.fill(0);
  signature.set(raw.subarray(rAt, ends[layout.v + 1]), 32 - (ends[layout.v + 1] - rAt));
  signature.set(raw.subarray(sAt, ends[layout.v + 2]), 64 - (ends[layout.v + 2] - sAt));
  const t0 = now === undefined ? 0 : now();
  const sender = recoverSenderAddress(signature, recovery, signingHash);
  if (sender === undefined) return undefined;
  const recoverMs = now === undefined ? 0 : now() - t0;
  return {
    type,
    nonce,
    gasLimit,
    maxFeePerGas,
    maxPriorityFeePerGas,
    value,
    hash: keccak256(raw),
    sender,
    recoverMs,
  };
}

/** The signing payload's bytes, reused and grown as needed: it is hashed at once and never kept. */
let payload = new Uint8Array(1024);
/** EIP-155's `rlp(chainId) ‖ 0x80 ‖ 0x80` tail of a legacy tx's payload, for the last chain id asked. */
let legacyTail: { chainId: bigint; bytes: Uint8Array } = { chainId: -1n, bytes: new Uint8Array(0) };

/**
 * What the sender signed: typed txs, `type || rlp(fields before v)`; EIP-155 legacy txs,
 * `rlp(fields before v, chainId, 0, 0)`. The unsigned fields are copied as they arrived (they were
 * checked canonical), so only the list header is new. Returns a view of the reused `payload`.
 */
function signingPayload(raw: Uint8Array, type: number, vAt: number, chainId: bigint): Uint8Array {
  const prefix = type === 0 ? 0 : 1;
  // Items are contiguous: the first begins after the outer list header, v begins where item v-1 ends.
  const lengthBytes = raw[prefix] <= 0xf7 ? 0 : raw[prefix] - 0xf7;
  const fieldsStart = prefix + 1 + lengthBytes;
  const fieldsEnd = ends[vAt - 1];
  if (type === 0 && legacyTail.chainId !== chainId) {
    legacyTail = { chainId, bytes: concat(encodeUint(chainId), Uint8Array.of(0x80, 0x80)) };
  }
  const tailLength = type === 0 ? legacyTail.bytes.length : 0;
  const payloadLength = fieldsEnd - fieldsStart + tailLength;
  const headLength = payloadLength <= 55 ? 1 : 1 + byteLength(payloadLength);
  const total = prefix + headLength + payloadLength;
  if (payload.length < total) payload = new Uint8Array(Math.max(total, payload.length * 2));
  const out = payload;
  if (type !== 0) out[0] = type;
  if (payloadLength <= 55) {
    out[prefix] = 0xc0 + payloadLength;
  } else {
    out[prefix] = 0xf7 + headLength - 1;
    for (let i = headLength - 1, l = payloadLength; i >= 1; i--, l = Math.floor(l / 256)) out[prefix + i] = l % 256;
  }
  out.set(raw.subarray(fieldsStart, fieldsEnd), prefix + headLength);
  if (type === 0) out.set(legacyTail.bytes, prefix + headLength + fieldsEnd - fieldsStart);
  return out.subarray(0, total);
}

/** Bytes of a positive length's big-endian encoding. */
function byteLength(length: number): number {
  let n = 0;
  for (let l = length; l > 0; l = Math.floor(l / 256)) n++;
  return n;
}

/** Item `i` as an unsigned integer: at most 32 bytes, no leading zero (ethereumjs refuses those). */
function uint(raw: Uint8Array, i: number): bigint | undefined {
  const start = starts[i];
  const length = ends[i] - start;
  if (length === 0) return 0n;
  if (length > 32 || raw[start] === 0) return undefined;
  if (length <= 6) {
    let x = 0;
    for (let k = start; k < start + length; k++) x = x * 256 + raw[k];
    return BigInt(x);
  }
  return BigInt(`0x${Buffer.from(raw.buffer, raw.byteOffset + start, length).toString("hex")}`);
}

function encodeUint(x: bigint): Uint8Array {
  if (x === 0n) return Uint8Array.of(0x80);
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, "hex");
  if (bytes.length === 1 && bytes[0] < 0x80) return bytes;
  return concat(Uint8Array.of(0x80 + bytes.length), bytes);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
