import { ExtensionMPTNode, LeafMPTNode, type MerklePatriciaTrie, type MPTNode } from "@ethereumjs/mpt";

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
 * `findPath` walk (a walk controller, a task queue and a promise per node), which the profile showed
 * costing as much again as the node lookups themselves on every state-cache miss. Like ethereumjs,
 * a node missing from the database reads as an absent key.
 */
export async function trieGet(trie: MerklePatriciaTrie, key: Uint8Array): Promise<Uint8Array | null> {
  const root = trie.root();
  if (equalBytes(root, trie.EMPTY_TRIE_ROOT)) return null;
  const path = nibbles(key);
  let at = 0;
  try {
    let node: MPTNode = await trie.lookupNode(root);
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
        node = await trie.lookupNode(node.value());
        continue;
      }
      if (at === path.length) return node.value();
      const child = node.getBranch(path[at]);
      if (child === null) return null;
      at++;
      node = await trie.lookupNode(child);
    }
  } catch (e) {
    if ((e as Error).message === "Missing node in DB") return null;
    throw e;
  }
}
