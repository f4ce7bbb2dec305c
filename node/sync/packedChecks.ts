import type { CommitChecks } from "./commitChecks.js";

/**
 * `CommitChecks` as a few flat buffers, for `postMessage` with the buffers transferred. A response's items are views
 * into the network's read buffers (lpStream's chunks, tens of KiB each): cloned as they are, every distinct backing
 * buffer is copied whole, ~1.8 ms of the main thread per 64-block response in the sync profile (apply14) — and again
 * on the way back, as the verified signatures are views into those copies. Packed, the main thread copies only the
 * items' and keys' own bytes once and hands the copy over without another.
 */
export interface PackedChecks {
  chainId: bigint;
  /** The items' bytes, then the keys' (set by set, in index order). */
  bytes: Uint8Array;
  /** End offset in `bytes` of each item, then of each key. */
  ends: Uint32Array;
  /** Per key set, how many keys it holds. */
  setSizes: Uint32Array;
  /** Per item, its index in the key sets. */
  setOf: Uint32Array;
}

/** `checks` packed into fresh buffers (the second value: the buffers to transfer; `checks` is not touched). */
export function packChecks(checks: CommitChecks): [PackedChecks, ArrayBuffer[]] {
  const { items, keySets } = checks;
  let total = 0;
  let pieces = items.length;
  for (const it of items) total += it.byteLength;
  for (const set of keySets) {
    pieces += set.length;
    for (const k of set) total += k.byteLength;
  }
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(pieces);
  let at = 0;
  let piece = 0;
  const add = (b: Uint8Array) => {
    bytes.set(b, at);
    at += b.byteLength;
    ends[piece++] = at;
  };
  for (const it of items) add(it);
  for (const set of keySets) for (const k of set) add(k);
  const packed: PackedChecks = {
    chainId: checks.chainId,
    bytes,
    ends,
    setSizes: Uint32Array.from(keySets, (s) => s.length),
    setOf: Uint32Array.from(checks.setOf),
  };
  return [packed, [bytes.buffer, ends.buffer, packed.setSizes.buffer, packed.setOf.buffer] as ArrayBuffer[]];
}

/** The `CommitChecks` `p` holds: items and keys are views into `p.bytes` (no copy). */
export function unpackChecks(p: PackedChecks): CommitChecks {
  const items: Uint8Array[] = [];
  let start = 0;
  let piece = 0;
  const next = () => {
    const end = p.ends[piece++];
    const v = p.bytes.subarray(start, end);
    start = end;
    return v;
  };
  for (let i = 0; i < p.setOf.length; i++) items.push(next());
  const keySets: Uint8Array[][] = [];
  for (const size of p.setSizes) {
    const set: Uint8Array[] = [];
    for (let i = 0; i < size; i++) set.push(next());
    keySets.push(set);
  }
  return { chainId: p.chainId, items, keySets, setOf: Array.from(p.setOf) };
}
