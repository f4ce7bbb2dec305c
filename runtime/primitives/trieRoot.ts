import { RLP } from "@ethereumjs/rlp";
import { EMPTY_TRIE_ROOT, keccak256 } from "./hash.js";
import type { RLPInput } from "./rlpCodec.js";

/**
 * Root of Ethereum's "ordered" trie (key = RLP(index)), used for `transactionsRoot` and
 * `receiptsRoot`. Instead of inserting keys one by one into a Merkle Patricia trie (which re-hashes
 * the path on every insert), the keys are sorted and the trie is built bottom-up in one pass, each
 * node encoded and hashed exactly once — the idea of geth's StackTrie. A property test checks it
 * against @ethereumjs/mpt on random inputs.
 */
export async function orderedTrieRoot(values: Uint8Array[]): Promise<Uint8Array> {
  return trieRoot(values.map((v, i) => ({ key: nibbles(RLP.encode(i)), value: v })));
}

interface Entry {
  key: number[];
  value: Uint8Array;
}

/** Merkle Patricia root of arbitrary distinct keys (as nibbles). */
export function trieRoot(entries: Entry[]): Uint8Array {
  if (entries.length === 0) return EMPTY_TRIE_ROOT;
  const sorted = [...entries].sort((a, b) => compareNibbles(a.key, b.key));
  return keccak256(RLP.encode(buildNode(sorted, 0)));
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

/** A child is embedded when its encoding is shorter than 32 bytes, else referenced by its hash. */
function reference(node: RLPInput[]): RLPInput {
  const encoded = RLP.encode(node);
  return encoded.length < 32 ? node : keccak256(encoded);
}

/** The node for `entries` (sorted, sharing their first `depth` nibbles). */
function buildNode(entries: Entry[], depth: number): RLPInput[] {
  if (entries.length === 1) return [hexPrefix(entries[0].key.slice(depth), true), entries[0].value];
  // Longest prefix shared by all keys beyond `depth` (sorted: first and last bound it).
  const first = entries[0].key;
  const last = entries[entries.length - 1].key;
  let shared = 0;
  while (
    depth + shared < first.length &&
    depth + shared < last.length &&
    first[depth + shared] === last[depth + shared]
  ) {
    shared++;
  }
  if (shared > 0) {
    return [hexPrefix(first.slice(depth, depth + shared), false), reference(buildNode(entries, depth + shared))];
  }
  const branch: RLPInput[] = new Array(17).fill(new Uint8Array(0));
  let i = 0;
  if (first.length === depth) {
    branch[16] = entries[0].value; // a key that ends here: the branch's own value
    i = 1;
  }
  while (i < entries.length) {
    const nibble = entries[i].key[depth];
    let j = i + 1;
    while (j < entries.length && entries[j].key[depth] === nibble) j++;
    branch[nibble] = reference(buildNode(entries.slice(i, j), depth + 1));
    i = j;
  }
  return branch;
}
