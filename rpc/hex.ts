/**
 * Hex encoding used on the JSON-RPC wire: quantities (`0x0`, `0x1a`, no leading zeros) and data
 * (`0x` + an even number of lowercase hex digits).
 */

import { bytesToHex } from "../runtime/primitives/bytes.js";

/** bigint/number → `0x`-prefixed quantity without leading zeros (`0x0` for zero). */
export function toHexQuantity(value: bigint | number): string {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative safe integer: ${value}`);
    return `0x${value.toString(16)}`;
  }
  if (value < 0n) throw new RangeError(`negative quantity: ${value}`);
  return `0x${value.toString(16)}`;
}

/**
 * Bytes → `0x`-prefixed lowercase hex (`0x` for empty). Node's hex encoder, not a `+=` per byte: that
 * one allocated a rope node per byte (a receipt's 256-byte bloom: 256 string objects and a flatten),
 * the largest allocation site of our own in the RPC layer under the bench's receipt polls.
 */
export function toHexData(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/**
 * Even-length hex (with or without `0x`, already validated by the caller) → bytes.
 * Returns undefined when a character is not a hex digit.
 */
export function hexToBytes(hex: string): Uint8Array | undefined {
  const s = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(s.charCodeAt(2 * i));
    const lo = hexDigit(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Value of one hex digit char code, or -1. */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}
