import { ExtensionMPTNode, LeafMPTNode, type MerklePatriciaTrie, type MPTNode } from "@ethereumjs/mpt";
import type { LRU } from "../lib/lru.js";
import { bytesToHex } from "../primitives/bytes.js";

/**
 * Decoded trie nodes by hash (0x-hex). A node is immutable and named by its hash, so one cache is
 * valid for every trie over the same nodes (head state, storage tries, views at older roots), and
 * for nodes still in a trie's uncommitted checkpoint. The node objects are shared: nothing that
 * reads through the cache may mutate them (`trieGet` and `applyTrieWrites` do not).
 */
export type DecodedNodeCache = LRU<string, MPTNode>;

/** `trie.lookupNode`, through `cache` for nodes stored by hash (inline nodes are decoded in place). */
export async function lookupNode(
  trie: MerklePatriciaTrie,
  ref: Uint8Array | Uint8Array[],
  cache: DecodedNodeCache | undefined,
): Promise<MPTNode> {
  if (cache === undefined || !(ref instanceof Uint8Array)) return trie.lookupNode(ref);
  const key = bytesToHex(ref);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const node = await trie.lookupNode(ref);
  cache.set(key, node);
  return node;
}

/** The key's nibbles, high first (the package's exported `bytesToNibbles` is geth's, with a terminator). */
export function nibbles(key: Uint8Array): number[] {
  const out = new Array<number>(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i] >> 4;
    out[2 * i + 1] = key[i] & 15;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `trie.get` for a key already in the trie's key space (hashed when the trie hashes keys): the same
 * answer, by a plain loop from the root down the key's nibbles. ethereumjs's `get` runs the general
 * `findPath` walk (a walk controller, a task queue and a promise per node) and decodes every node
 * it passes from its RLP again; with `cache` a node is decoded once. Measured on a 20,000-key trie:
 * ~60 µs per `trie.get`, ~10 µs per `trieGet` with a warm cache. Like ethereumjs, a node missing
 * from the database reads as an absent key.
 */
export async function trieGet(
  trie: MerklePatriciaTrie,
  key: Uint8Array,
  cache?: DecodedNodeCache,
): Promise<Uint8Array | null> {
  const root = trie.root();
  if (equalBytes(root, trie.EMPTY_TRIE_ROOT)) return null;
  const path = nibbles(key);
  let at = 0;
  try {
    let node: MPTNode = await lookupNode(trie, root, cache);
    for (;;) {
      if (node instanceof LeafMPTNode) {
        const k = node.key();
        if (k.length !== path.length - at) return null;
        for (let i = 0; i < k.length; i++) if (k[i] !== path[at + i]) return null;
        return node.value();
      }
      if (node instanceof ExtensionMPTNode) {
        const k = node.key();
        if (k.length > path.length - at) return null;
        for (let i = 0; i < k.length; i++) if (k[i] !== path[at + i]) return null;
        at += k.length;
        node = await lookupNode(trie, node.value(), cache);
        continue;
      }
      if (at === path.length) return node.value();
      const child = node.getBranch(path[at]);
      if (child === null) return null;
      at++;
      node = await lookupNode(trie, child, cache);
    }
  } catch (e) {
    if ((e as Error).message === "Missing node in DB") return null;
    throw e;
  }
}
