import { BranchMPTNode, ExtensionMPTNode, LeafMPTNode, type MerklePatriciaTrie, type MPTNode } from "@ethereumjs/mpt";
import type { BatchDBOp } from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
import { type DecodedNodeCache, equalBytes, lookupNode, nibbles } from "./trieGet.js";

/** A key of the trie (already hashed when the trie hashes keys) and its new value; `null` deletes it. */
export interface TrieWrite {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** A child reference as stored in a parent: a node hash, or a node under 32 bytes inlined raw. */
type Ref = Uint8Array | Uint8Array[];

/**
 * The part of the trie a batch touches, held decoded and mutable until the batch ends. Subtrees
 * the batch does not enter stay `ref`s: never decoded, never re-encoded, never re-hashed.
 */
type Node =
  | { kind: "ref"; ref: Ref }
  | { kind: "leaf"; key: number[]; value: Uint8Array }
  | { kind: "ext"; key: number[]; child: Node }
  | { kind: "branch"; children: (Node | null)[]; value: Uint8Array | null };
type Loaded = Exclude<Node, { kind: "ref" }>;

/**
 * Applies `writes` to `trie` in order, with the effect of `trie.put`/`trie.del` one by one (the
 * same root, every node of it in the trie's database), but hashing each changed node once at the
 * end instead of re-hashing the whole path to the root on every write, and writing only the nodes
 * of the final trie (ethereumjs writes every intermediate version of each path: with pruning off
 * they would be persisted for nothing). For a block that changes k keys under a shared top of the
 * trie this turns k × depth node encodings and hashes into one per changed node.
 *
 * The trie must not be used concurrently while the batch runs (the node's execution is serial).
 */
export async function applyTrieWrites(
  trie: MerklePatriciaTrie,
  writes: readonly TrieWrite[],
  cache?: DecodedNodeCache,
): Promise<void> {
  if (writes.length === 0) return;
  const empty = trie.EMPTY_TRIE_ROOT;
  const startRoot = trie.root();
  let root: Node | null = equalBytes(startRoot, empty) ? null : { kind: "ref", ref: startRoot };
  const load = async (ref: Ref): Promise<Loaded> => fromMPTNode(await lookupNode(trie, ref, cache));
  for (const w of writes) {
    const path = nibbles(w.key);
    root =
      w.value === null || w.value.length === 0
        ? await remove(root, path, load)
        : await insert(root, path, w.value, load);
  }
  if (root === null) {
    trie.root(empty);
    return;
  }
  if (root.kind === "ref") {
    // Nothing changed structurally (deletes of absent keys only): the root is what it was.
    trie.root(root.ref as Uint8Array);
    return;
  }
  const ops: BatchDBOp[] = [];
  const rootHash = encode(root, true, ops) as Uint8Array;
  await trie.database().batch(ops as never);
  trie.root(rootHash);
}

function fromMPTNode(n: MPTNode): Loaded {
  if (n instanceof LeafMPTNode) return { kind: "leaf", key: [...n.key()], value: n.value() as Uint8Array };
  if (n instanceof ExtensionMPTNode) return { kind: "ext", key: [...n.key()], child: { kind: "ref", ref: n.value() } };
  const children: (Node | null)[] = new Array(16).fill(null);
  for (let i = 0; i < 16; i++) {
    const c = n.getBranch(i);
    if (c !== null) children[i] = { kind: "ref", ref: c };
  }
  return { kind: "branch", children, value: n.value() };
}

type Load = (ref: Ref) => Promise<Loaded>;

async function resolve(n: Node, load: Load): Promise<Loaded> {
  return n.kind === "ref" ? load(n.ref) : n;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a[i] === b[i]) i++;
  return i;
}

function sameKey(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && commonPrefix(a, b) === a.length;
}

function emptyBranch(): Loaded & { kind: "branch" } {
  return { kind: "branch", children: new Array(16).fill(null), value: null };
}

/** Puts `child` (what hangs below nibble `key[0]`) into `branch`, or its value when `key` is spent. */
function hang(branch: Loaded & { kind: "branch" }, key: number[], below: (rest: number[]) => Node | Uint8Array): void {
  const made = below(key.slice(1));
  if (key.length === 0) branch.value = made as Uint8Array;
  else branch.children[key[0]] = made as Node;
}

async function insert(n: Node | null, path: number[], value: Uint8Array, load: Load): Promise<Node> {
  if (n === null) return { kind: "leaf", key: path, value };
  const node = await resolve(n, load);
  switch (node.kind) {
    case "branch": {
      if (path.length === 0) {
        node.value = value;
        return node;
      }
      node.children[path[0]] = await insert(node.children[path[0]], path.slice(1), value, load);
      return node;
    }
    case "leaf": {
      if (sameKey(node.key, path)) return { kind: "leaf", key: path, value };
      const c = commonPrefix(node.key, path);
      const branch = emptyBranch();
      const old = node;
      hang(branch, old.key.slice(c), (rest) =>
        old.key.length === c ? old.value : { kind: "leaf", key: rest, value: old.value },
      );
      hang(branch, path.slice(c), (rest) => (path.length === c ? value : { kind: "leaf", key: rest, value }));
      return c === 0 ? branch : { kind: "ext", key: path.slice(0, c), child: branch };
    }
    case "ext": {
      const c = commonPrefix(node.key, path);
      if (c === node.key.length) {
        node.child = await insert(node.child, path.slice(c), value, load);
        return node;
      }
      const branch = emptyBranch();
      const old = node;
      // The extension's own key is never spent here (c < its length), so its rest hangs below a nibble.
      branch.children[old.key[c]] =
        old.key.length - c === 1 ? old.child : { kind: "ext", key: old.key.slice(c + 1), child: old.child };
      hang(branch, path.slice(c), (rest) => (path.length === c ? value : { kind: "leaf", key: rest, value }));
      return c === 0 ? branch : { kind: "ext", key: path.slice(0, c), child: branch };
    }
  }
}

async function remove(n: Node | null, path: number[], load: Load): Promise<Node | null> {
  if (n === null) return null;
  const node = await resolve(n, load);
  switch (node.kind) {
    case "leaf":
      return sameKey(node.key, path) ? null : n;
    case "ext": {
      if (commonPrefix(node.key, path) !== node.key.length) return n;
      const child = await remove(node.child, path.slice(node.key.length), load);
      if (child === node.child) return n;
      return child === null ? null : joinBelow(node.key, child, load);
    }
    case "branch": {
      if (path.length === 0) {
        if (node.value === null) return n;
        node.value = null;
      } else {
        const before = node.children[path[0]];
        const after = await remove(before, path.slice(1), load);
        if (after === before) return n;
        node.children[path[0]] = after;
      }
      return collapse(node, load);
    }
  }
}

/** A branch left with fewer than two entries after a delete becomes what Ethereum's trie has there. */
async function collapse(branch: Loaded & { kind: "branch" }, load: Load): Promise<Node | null> {
  let only = -1;
  let count = 0;
  for (let i = 0; i < 16; i++) {
    if (branch.children[i] !== null) {
      count++;
      only = i;
    }
  }
  if (count === 0) return branch.value === null ? null : { kind: "leaf", key: [], value: branch.value };
  if (count > 1 || branch.value !== null) return branch;
  return joinBelow([only], branch.children[only] as Node, load);
}

/** The node for `prefix` followed by `child`: extension and leaf keys merge, a branch gets an extension. */
async function joinBelow(prefix: number[], child: Node, load: Load): Promise<Node> {
  const c = await resolve(child, load);
  if (c.kind === "leaf") return { kind: "leaf", key: [...prefix, ...c.key], value: c.value };
  if (c.kind === "ext") return { kind: "ext", key: [...prefix, ...c.key], child: c.child };
  return { kind: "ext", key: prefix, child: child };
}

/** Encodes bottom-up: a node of 32 bytes or more (and the root always) is stored under its hash. */
function encode(n: Node, top: boolean, ops: BatchDBOp[]): Ref {
  if (n.kind === "ref") return n.ref;
  let node: MPTNode;
  if (n.kind === "leaf") node = new LeafMPTNode(n.key, n.value);
  else if (n.kind === "ext") node = new ExtensionMPTNode(n.key, encode(n.child, false, ops) as Uint8Array);
  else {
    const b = new BranchMPTNode();
    for (let i = 0; i < 16; i++) {
      const c = n.children[i];
      if (c !== null) b.setBranch(i, encode(c, false, ops) as Uint8Array);
    }
    if (n.value !== null) b.value(n.value);
    node = b;
  }
  const encoded = node.serialize();
  if (encoded.length < 32 && !top) return node.raw() as Ref;
  const hash = keccak256(encoded);
  ops.push({ type: "put", key: hash, value: encoded });
  return hash;
}
