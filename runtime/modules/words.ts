/**
 * Big-endian bytes ⇄ bigint for module storage words, 64 bits at a time. The per-byte loops these
 * replace (`n = (n << 8n) | BigInt(b)`, `Number(n & 0xffn); n >>= 8n`) made ~3 heap BigInts a byte:
 * a native NFT mint converts ~15 words and 5 addresses, and its profile had those loops at ~2 % of
 * the main thread's self time and ~20 KB of the mint's ~160 KB heap per transaction.
 */

/** Storage slot arithmetic wraps at 2^256 (made once: `**` allocates a BigInt per use). */
export const WORD_MODULUS = 2n ** 256n;

const U64 = 64n;
/** Values up to this go through one `Number` accumulation (≤ 6 bytes: exact in a double). */
const SAFE_BYTES = 6;

/** The unsigned big-endian integer of `bytes` (any length; empty → 0n). */
export function bytesToUint(bytes: Uint8Array): bigint {
  const len = bytes.length;
  if (len <= SAFE_BYTES) {
    let small = 0;
    for (let i = 0; i < len; i++) small = small * 256 + bytes[i];
    return BigInt(small);
  }
  // Leading bytes that do not fill a 64-bit limb, then whole limbs.
  const head = len & 7;
  let n = 0n;
  let i = 0;
  if (head > 0) {
    let hi = 0;
    for (; i < Math.min(head, 4); i++) hi = hi * 256 + bytes[i];
    n = BigInt(hi);
    if (head > 4) {
      let lo = 0;
      for (; i < head; i++) lo = lo * 256 + bytes[i];
      n = (n << BigInt(8 * (head - 4))) | BigInt(lo);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, len);
  for (; i < len; i += 8) n = (n << U64) | view.getBigUint64(i);
  return n;
}

/**
 * `v` as a 32-byte big-endian word: its low 256 bits; zero for v ≤ 0 (the callers' contract: a
 * negative value never reaches storage, and the old loop wrote nothing for one).
 */
export function uintToWord(v: bigint): Uint8Array {
  const w = new Uint8Array(32);
  if (v <= 0n) return w;
  const view = new DataView(w.buffer);
  if (v <= 0xffffffffffffffffn) {
    view.setBigUint64(24, v);
    return w;
  }
  view.setBigUint64(24, BigInt.asUintN(64, v));
  view.setBigUint64(16, BigInt.asUintN(64, v >> 64n));
  view.setBigUint64(8, BigInt.asUintN(64, v >> 128n));
  view.setBigUint64(0, BigInt.asUintN(64, v >> 192n));
  return w;
}

/** The low 160 bits of `v` (two's complement for a negative one, as `v & (2^160 - 1)`) as 20 bytes. */
export function uintToAddress(v: bigint): Uint8Array {
  const out = new Uint8Array(20);
  const a = BigInt.asUintN(160, v);
  if (a === 0n) return out;
  const view = new DataView(out.buffer);
  view.setBigUint64(12, BigInt.asUintN(64, a));
  if (a > 0xffffffffffffffffn) {
    view.setBigUint64(4, BigInt.asUintN(64, a >> 64n));
    view.setUint32(0, Number(a >> 128n));
  }
  return out;
}
