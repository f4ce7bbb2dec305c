/**
 * Reading RLP items in place, without decoding: the mempool's fast transaction decoder and the RPC's
 * recipient reader walk a transaction's fields with it.
 */

/** An RLP item's payload: its first byte, one past its last, and whether it is a list. */
export interface RlpItem {
  start: number;
  end: number;
  list: boolean;
}

/**
 * One canonical RLP header at `at`: the payload's bounds and whether it is a list. `undefined` for
 * anything @ethereumjs/rlp might refuse or read differently (non-canonical lengths, a single byte
 * below 0x80 wrapped in a string header, a payload past `limit`).
 */
export function rlpHeader(raw: Uint8Array, at: number, limit: number): RlpItem | undefined {
  if (at >= limit) return undefined;
  const b = raw[at];
  if (b < 0x80) return { start: at, end: at + 1, list: false };
  const list = b >= 0xc0;
  const short = list ? 0xf7 : 0xb7;
  const base = list ? 0xc0 : 0x80;
  let start: number;
  let length: number;
  if (b <= short) {
    length = b - base;
    start = at + 1;
    if (!list && length === 1 && (start >= limit || raw[start] < 0x80)) return undefined;
  } else {
    const lengthBytes = b - short;
    if (lengthBytes > 4 || at + 1 + lengthBytes > limit || raw[at + 1] === 0) return undefined;
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + raw[at + 1 + i];
    if (length <= 55) return undefined;
    start = at + 1 + lengthBytes;
  }
  const end = start + length;
  if (end > limit) return undefined;
  return { start, end, list };
}
