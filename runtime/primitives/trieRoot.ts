import { RLP } from "@ethereumjs/rlp";
import { EMPTY_TRIE_ROOT, keccak256 } from "./hash.js";
import { pushRlpString, rlpHeaderLength, rlpList, writeRlpHeader } from "./rlpCodec.js";

/**
 * Root of Ethereum's "ordered" trie (key = RLP(index)), used for `transactionsRoot` and
 * `receiptsRoot`. Instead of inserting keys one by one into a Merkle Patricia trie (which re-hashes
 * the path on every insert), the trie is built bottom-up in one pass over the sorted keys, each node
 * encoded straight into its bytes and hashed exactly once — the idea of geth's StackTrie. The keys'
 * order is known without sorting: RLP(1..127) are the bytes 0x01..0x7f, RLP(0) is 0x80, and
 * RLP(128..) are 0x81.., 0x82.. by length then value. A property test checks it against
 * @ethereumjs/mpt on random inputs.
 */
export async function orderedTrieRoot(values: Uint8Array[]): Promise<Uint8Array> {
  const n = values.length;
  if (n === 0) return EMPTY_TRIE_ROOT;
  const entries: Entry[] = [];
  const add = (i: number) => entries.push({ key: indexKey(i), value: values[i] });
  for (let i = 1; i < Math.min(n, 128); i++) add(i);
  add(0);
  for (let i = 128; i < n; i++) add(i);
  return keccak256(encodeNode(entries, 0, n, 0));
}

/**
 * The key of index `i` in an ordered trie, as nibbles: RLP(i), the same for every block, so made once
 * (the array grows to the largest block's length: a few thousand short arrays). Only ever read.
 */
const indexKeys: number[][] = [];

function indexKey(i: number): number[] {
  let key = indexKeys[i];
  if (key === undefined) {
    key = nibbles(RLP.encode(i));
    indexKeys[i] = key;
  }
  return key;
}

interface Entry {
  key: number[];
  value: Uint8Array;
}

/** Merkle Patricia root of arbitrary distinct keys (as nibbles). */
export function trieRoot(entries: Entry[]): Uint8Array {
  if (entries.length === 0) return EMPTY_TRIE_ROOT;
  const sorted = [...entries].sort((a, b) => compareNibbles(a.key, b.key));
  return keccak256(encodeNode(sorted, 0, sorted.length, 0));
}

function nibbles(bytes: Uint8Array): number[] {
  const out = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i] >> 4;
    out[2 * i + 1] = bytes[i] & 0x0f;
  }
  return out;
}

function compareNibbles(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Hex-prefix encoding (Yellow Paper appendix C) of a nibble path for a leaf or an extension. */
export function hexPrefix(path: readonly number[], leaf: boolean): Uint8Array {
  const odd = path.length % 2 === 1;
  const out = new Uint8Array(Math.floor(path.length / 2) + 1);
  out[0] = ((leaf ? 2 : 0) + (odd ? 1 : 0)) << 4;
  let i = 0;
  if (odd) {
    out[0] |= path[0];
    i = 1;
  }
  for (let o = 1; i < path.length; i += 2, o++) out[o] = (path[i] << 4) | path[i + 1];
  return out;
}

/**
 * A leaf's encoding, RLP([hexPrefix(key[from..], leaf), value]), written into one buffer: the most
 * frequent node of a block's tries (every account, slot, transaction and receipt written ends in one),
 * so no piece of it is allocated apart. Equal to `RLP.encode([hexPrefix(key.slice(from), true),
 * value])` (test/unit/runtime/trieRoot.test.ts compares them on random keys and values).
 */
export function encodeLeaf(key: readonly number[], value: Uint8Array, from = 0): Uint8Array {
  const nibbleCount = key.length - from;
  const odd = nibbleCount % 2 === 1;
  const hpLength = (nibbleCount >> 1) + 1;
  // A path of at most one nibble is one byte, 0x2_ or 0x3_: its own RLP item. A longer one (at most
  // 33 bytes) takes a one-byte string header.
  const hpItem = hpLength === 1 ? 1 : 1 + hpLength;
  const valueSelf = value.length === 1 && value[0] < 0x80;
  const valueItem = valueSelf ? 1 : rlpHeaderLength(value.length) + value.length;
  const payload = hpItem + valueItem;
  const out = new Uint8Array(rlpHeaderLength(payload) + payload);
  let at = writeRlpHeader(out, 0, 0xc0, payload);
  if (hpLength > 1) out[at++] = 0x80 + hpLength;
  out[at++] = odd ? 0x30 | key[from] : 0x20;
  for (let i = odd ? from + 1 : from; i < key.length; i += 2) out[at++] = (key[i] << 4) | key[i + 1];
  if (!valueSelf) at = writeRlpHeader(out, at, 0x80, value.length);
  out.set(value, at);
  return out;
}

const EMPTY_STRING = Uint8Array.of(0x80);
const HASH_HEADER = Uint8Array.of(0x80 + 32);

/** A child in its parent: embedded as is when its encoding is shorter than 32 bytes, else its hash. */
function pushReference(pieces: Uint8Array[], encoded: Uint8Array): void {
  if (encoded.length < 32) pieces.push(encoded);
  else pieces.push(HASH_HEADER, keccak256(encoded));
}

/** The encoded node for `entries[lo, hi)` (sorted, sharing their first `depth` nibbles). */
function encodeNode(entries: Entry[], lo: number, hi: number, depth: number): Uint8Array {
  const pieces: Uint8Array[] = [];
  if (hi - lo === 1) return encodeLeaf(entries[lo].key, entries[lo].value, depth);
  // Longest prefix shared by all keys beyond `depth` (sorted: first and last bound it).
  const first = entries[lo].key;
  const last = entries[hi - 1].key;
  let shared = 0;
  while (
    depth + shared < first.length &&
    depth + shared < last.length &&
    first[depth + shared] === last[depth + shared]
  ) {
    shared++;
  }
  if (shared > 0) {
    pushRlpString(pieces, hexPrefix(first.slice(depth, depth + shared), false));
    pushReference(pieces, encodeNode(entries, lo, hi, depth + shared));
    return rlpList(pieces);
  }
  let i = lo;
  const ownValue = first.length === depth ? entries[lo].value : null; // a key that ends here
  if (ownValue !== null) i++;
  for (let nibble = 0; nibble < 16; nibble++) {
    if (i < hi && entries[i].key[depth] === nibble) {
      let j = i + 1;
      while (j < hi && entries[j].key[depth] === nibble) j++;
      pushReference(pieces, encodeNode(entries, i, j, depth + 1));
      i = j;
    } else {
      pieces.push(EMPTY_STRING);
    }
  }
  if (ownValue === null) pieces.push(EMPTY_STRING);
  else pushRlpString(pieces, ownValue);
  return rlpList(pieces);
}
