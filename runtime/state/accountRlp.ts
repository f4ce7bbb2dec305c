import type { Account } from "@ethereumjs/util";

/** The hex digits of a non-negative integer, none for 0 (RLP's minimal big-endian form). */
function hexDigits(n: bigint): string {
  return n === 0n ? "" : n.toString(16);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x57; // '0'–'9', 'a'–'f' (toString(16) writes lowercase)
}

/** Encoded length of the RLP string of an integer with these hex digits. */
function uintItemLength(hex: string): number {
  const bytes = (hex.length + 1) >> 1;
  return bytes === 1 && Number.parseInt(hex, 16) < 0x80 ? 1 : 1 + bytes;
}

/** Writes the RLP string of the integer with hex digits `hex` at `o`; returns the offset after it. */
function writeUint(out: Uint8Array, o: number, hex: string): number {
  const bytes = (hex.length + 1) >> 1;
  if (bytes !== 1 || Number.parseInt(hex, 16) >= 0x80) out[o++] = 0x80 + bytes; // ≤ 32 bytes: a short string
  let i = 0;
  if (hex.length % 2 === 1) out[o++] = hexValue(hex.charCodeAt(i++));
  for (; i < hex.length; i += 2) out[o++] = (hexValue(hex.charCodeAt(i)) << 4) | hexValue(hex.charCodeAt(i + 1));
  return o;
}

/**
 * `account.serialize()` — the RLP list [nonce, balance, storageRoot, codeHash] — written straight into one
 * array. ethereumjs converts each integer through a validated hex string to bytes, then encodes a generic
 * RLP tree: ~2–3 µs per account, and the account cache serializes on every `putAccount` (4–5 per EVM
 * transaction). Equal byte for byte (test/unit/runtime/state/accountRlp.test.ts, random accounts).
 */
export function encodeAccount(account: Account): Uint8Array {
  const nonce = hexDigits(account.nonce);
  const balance = hexDigits(account.balance);
  const { storageRoot, codeHash } = account; // 32 bytes each (the Account constructor checks)
  const payload = uintItemLength(nonce) + uintItemLength(balance) + 2 + storageRoot.length + codeHash.length;
  const head = payload < 56 ? 1 : 2; // at most 2 + 33 + 33 + 33 bytes: a one-byte length
  const out = new Uint8Array(head + payload);
  let o = 0;
  if (head === 1) out[o++] = 0xc0 + payload;
  else {
    out[o++] = 0xf8;
    out[o++] = payload;
  }
  o = writeUint(out, o, nonce);
  o = writeUint(out, o, balance);
  out[o++] = 0x80 + storageRoot.length;
  out.set(storageRoot, o);
  o += storageRoot.length;
  out[o++] = 0x80 + codeHash.length;
  out.set(codeHash, o);
  return out;
}
