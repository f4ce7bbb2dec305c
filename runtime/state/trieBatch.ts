import { ExtensionMPTNode, LeafMPTNode, type MerklePatriciaTrie, type MPTNode } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { LRU } from "../lib/lru.js";
import { bytesToHex } from "../primitives/bytes.js";
import { keccak256 } from "../primitives/hash.js";
import { rlpHeaderLength, writeRlpHeader } from "../primitives/rlpCodec.js";
import { encodeLeaf, hexPrefix } from "../primitives/trieRoot.js";
import { type DecodedNodeCache, equalBytes, lookupNode, nibbles } from "./trieGet.js";
import { type StoredNodes, storeTrieNodes } from "./trieNodeStore.js";

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
  | ({ kind: "leaf"; key: number[]; value: Uint8Array } & Encoded)
  | ({ kind: "ext"; key: number[]; child: Node } & Encoded)
  | ({ kind: "branch"; children: (Node | null)[]; value: Uint8Array | null } & Encoded);
type Loaded = Exclude<Node, { kind: "ref" }>;

/**
 * What `encode` computed for a node that a later batch may see again (through `TrieTops`): its
 * encoding and, once stored under it, its hash. Cleared on every change to the node.
 */
interface Encoded {
  encoded: Uint8Array | undefined;
  hash: Uint8Array | undefined;
}

/** Tree levels of a batch's result kept decoded in `TrieTops`: the root, its children, theirs. */
const TOP_LEVELS = 3;

/**
 * The decoded tops of tries the last batches wrote, by root hash: the next batch on the same root
 * starts from them instead of loading and decoding again the nodes the last one just wrote (a
 * block's writes all change the top levels, so the decoded-node cache never holds those). Each
 * node keeps its encoding and hash, so only what the batch changes is encoded and hashed again.
 *
 * Sound because a trie is named by its root hash: a top kept under root R has exactly the nodes of
 * the trie at R, so a batch on a trie whose root is R (then readable: every node of it stored) may
 * use it and write only the nodes it changes. That needs every trie using one `TrieTops` to read
 * the same stored nodes: one node store, and the same checkpoint (a top kept by a batch whose
 * checkpoint is reverted stays under a root no trie over that store then has). A batch takes the
 * top out while it mutates it, so two batches never share one; one on a root whose top was taken,
 * or never kept, loads from the trie (test/unit/runtime/trieBatch.test.ts: reverted batches too).
 */
export class TrieTops {
  private readonly tops: LRU<string, Loaded>;

  constructor(entries: number) {
    this.tops = new LRU(entries);
  }

  take(root: Uint8Array): Loaded | undefined {
    const key = bytesToHex(root);
    const top = this.tops.get(key);
    if (top !== undefined) this.tops.delete(key);
    return top;
  }

  /** `top` as `encode` left it: levels from `TOP_LEVELS` down are references again. */
  keep(root: Uint8Array, top: Loaded): void {
    this.tops.set(bytesToHex(root), top);
  }
}

/** A node about to change: what `encode` kept of it no longer holds. */
function changed<T extends Encoded>(n: T): T {
  n.encoded = undefined;
  n.hash = undefined;
  return n;
}

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
  tops?: TrieTops,
): Promise<void> {
  if (writes.length === 0) return;
  const empty = trie.EMPTY_TRIE_ROOT;
  const startRoot = trie.root();
  let root: Node | null = equalBytes(startRoot, empty)
    ? null
    : (tops?.take(startRoot) ?? { kind: "ref", ref: startRoot });
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
  const stored: StoredNodes = { hashes: [], encodings: [] };
  const rootHash = encode(root, 0, stored);
  await storeTrieNodes(trie.database(), stored);
  trie.root(rootHash);
  tops?.keep(rootHash, root);
}

function fromMPTNode(n: MPTNode): Loaded {
  if (n instanceof LeafMPTNode) return leaf([...n.key()], n.value() as Uint8Array);
  if (n instanceof ExtensionMPTNode) return ext([...n.key()], { kind: "ref", ref: n.value() });
  const children: (Node | null)[] = new Array(16).fill(null);
  for (let i = 0; i < 16; i++) {
    const c = n.getBranch(i);
    if (c !== null) children[i] = { kind: "ref", ref: c };
  }
  return { kind: "branch", children, value: n.value(), encoded: undefined, hash: undefined };
}

type Load = (ref: Ref) => Promise<Loaded>;

async function resolve(n: Node, load: Load): Promise<Loaded> {
  return n.kind === "ref" ? load(n.ref) : n;
}

/** The length of the common prefix of `a` and `b[at…]`. */
function commonPrefixAt(a: readonly number[], b: readonly number[], at: number): number {
  const max = Math.min(a.length, b.length - at);
  let i = 0;
  while (i < max && a[i] === b[at + i]) i++;
  return i;
}

function sameKey(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && commonPrefixAt(a, b, 0) === a.length;
}

// Every node is made with all its fields, so that the functions here see one shape per kind.
function leaf(key: number[], value: Uint8Array): Loaded {
  return { kind: "leaf", key, value, encoded: undefined, hash: undefined };
}

function ext(key: number[], child: Node): Loaded {
  return { kind: "ext", key, child, encoded: undefined, hash: undefined };
}

function emptyBranch(): Loaded & { kind: "branch" } {
  return { kind: "branch", children: new Array(16).fill(null), value: null, encoded: undefined, hash: undefined };
}

/**
 * `path[at…]` set to `value` below `root`. A loop down the path, not a recursion: per level no
 * promise (a loaded node is not awaited) and no copy of the path's rest (an offset walks it); only
 * the keys a new leaf or extension keeps are sliced off the path. Each node it passes is hung back
 * into its parent (a `ref` there becomes the loaded node), as a recursion returning it would.
 */
async function insert(root: Node | null, path: number[], value: Uint8Array, load: Load): Promise<Node> {
  if (root === null) return leaf(path, value);
  let top: Node = root;
  // Where the current node hangs: `parent.children[nibble]`, `parent.child`, or the top when null.
  let parent: Loaded | null = null;
  let nibble = 0;
  let n: Node = root;
  let at = 0;
  for (;;) {
    const node = n.kind === "ref" ? await load(n.ref) : n;
    let made: Node = node;
    let down: Node | null | undefined; // the child to continue in, when the walk goes on
    switch (node.kind) {
      case "branch": {
        changed(node);
        if (at === path.length) node.value = value;
        else {
          const child = node.children[path[at]];
          if (child === null) node.children[path[at]] = leaf(path.slice(at + 1), value);
          else down = child;
        }
        break;
      }
      case "leaf": {
        const c = commonPrefixAt(node.key, path, at);
        if (c === node.key.length && at + c === path.length) {
          made = leaf(path.slice(at), value);
          break;
        }
        const branch = emptyBranch();
        if (node.key.length === c) branch.value = node.value;
        else branch.children[node.key[c]] = leaf(node.key.slice(c + 1), node.value);
        hangValue(branch, path, at + c, value);
        made = c === 0 ? branch : ext(path.slice(at, at + c), branch);
        break;
      }
      case "ext": {
        const c = commonPrefixAt(node.key, path, at);
        if (c === node.key.length) {
          changed(node);
          down = node.child;
          break;
        }
        const branch = emptyBranch();
        // The extension's own key is never spent here (c < its length), so its rest hangs below a nibble.
        branch.children[node.key[c]] = node.key.length - c === 1 ? node.child : ext(node.key.slice(c + 1), node.child);
        hangValue(branch, path, at + c, value);
        made = c === 0 ? branch : ext(path.slice(at, at + c), branch);
        break;
      }
    }
    if (parent === null) top = made;
    else if (parent.kind === "branch") parent.children[nibble] = made;
    else if (parent.kind === "ext") parent.child = made;
    if (down === undefined || down === null) return top;
    parent = node;
    if (node.kind === "branch") {
      nibble = path[at];
      at += 1;
    } else if (node.kind === "ext") at += node.key.length;
    n = down;
  }
}

/** Puts `value` into `branch` at `path[at…]`: as its value when the path is spent, else as a leaf below `path[at]`. */
function hangValue(branch: Loaded & { kind: "branch" }, path: number[], at: number, value: Uint8Array): void {
  if (at === path.length) branch.value = value;
  else branch.children[path[at]] = leaf(path.slice(at + 1), value);
}

async function remove(n: Node | null, path: number[], load: Load): Promise<Node | null> {
  if (n === null) return null;
  const node = await resolve(n, load);
  switch (node.kind) {
    case "leaf":
      return sameKey(node.key, path) ? null : n;
    case "ext": {
      if (commonPrefixAt(node.key, path, 0) !== node.key.length) return n;
      const child = await remove(node.child, path.slice(node.key.length), load);
      if (child === node.child && !changedInPlace(child)) return n;
      return child === null ? null : joinBelow(node.key, child, load);
    }
    case "branch": {
      if (path.length === 0) {
        if (node.value === null) return n;
        changed(node).value = null;
      } else {
        const before = node.children[path[0]];
        const after = await remove(before, path.slice(1), load);
        if (after === before && !changedInPlace(after)) return n;
        changed(node).children[path[0]] = after;
      }
      return collapse(node, load);
    }
  }
}

/**
 * A child `remove` returned as it was given may still have changed: a node already loaded (kept in
 * `TrieTops`, or loaded by an earlier write of the batch) changes in place, and then so does its parent.
 */
function changedInPlace(n: Node | null): boolean {
  return n !== null && n.kind !== "ref" && n.encoded === undefined;
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
  if (count === 0) return branch.value === null ? null : leaf([], branch.value);
  if (count > 1 || branch.value !== null) return branch;
  return joinBelow([only], branch.children[only] as Node, load);
}

/** The node for `prefix` followed by `child`: extension and leaf keys merge, a branch gets an extension. */
async function joinBelow(prefix: number[], child: Node, load: Load): Promise<Node> {
  const c = await resolve(child, load);
  if (c.kind === "leaf") return leaf([...prefix, ...c.key], c.value);
  if (c.kind === "ext") return ext([...prefix, ...c.key], c.child);
  return ext(prefix, child);
}

/**
 * Encodes bottom-up: a node of 32 bytes or more (and the root always) is stored under its hash.
 * Returns the node's reference in its parent: its hash (32 bytes; `rlpList` writes the string
 * header), or a node under 32 bytes inlined whole. The bytes are Ethereum's node encoding (what ethereumjs's node
 * classes serialize to), written straight into one buffer per node: the node objects, the nested
 * arrays and RLP's per-item copies cost more than the hashing (profile of the dev node's seal).
 */
function encode(n: Node, depth: number, ops: StoredNodes): Uint8Array {
  if (n.kind === "ref") return n.ref instanceof Uint8Array ? n.ref : RLP.encode(n.ref);
  const top = depth === 0;
  let encoded = n.encoded;
  if (encoded === undefined) {
    // What `TrieTops` keeps stops at TOP_LEVELS: a stored node there becomes a reference again.
    const below = depth + 1 >= TOP_LEVELS;
    if (n.kind === "leaf") encoded = encodeLeaf(n.key, n.value);
    else if (n.kind === "ext") {
      encoded = rlpList([stringItem(hexPrefix(n.key, false)), encode(n.child, depth + 1, ops)], 1, 2);
      if (below) n.child = asStored(n.child);
    } else {
      const items = new Array<Uint8Array>(17);
      for (let i = 0; i < 16; i++) {
        const c = n.children[i];
        items[i] = c === null ? EMPTY_ITEM : encode(c, depth + 1, ops);
        if (below && c !== null) n.children[i] = asStored(c);
      }
      items[16] = n.value === null ? EMPTY_ITEM : stringItem(n.value);
      encoded = rlpList(items, 0, 16);
    }
    n.encoded = encoded;
  }
  if (encoded.length < 32 && !top) return encoded;
  let hash = n.hash;
  if (hash === undefined) {
    // A node kept with its hash is already stored (it is part of the trie the batch started from).
    hash = keccak256(encoded);
    ops.hashes.push(hash);
    ops.encodings.push(encoded);
    n.hash = hash;
  }
  return hash;
}

/** An encoded node stored under its hash, as a reference to it; an inline one stays as it is. */
function asStored(n: Node): Node {
  return n.kind !== "ref" && n.hash !== undefined ? { kind: "ref", ref: n.hash } : n;
}

/** RLP of the empty string: an absent child or value. */
const EMPTY_ITEM = Uint8Array.of(0x80);

/** RLP of a byte string. */
function stringItem(b: Uint8Array): Uint8Array {
  if (b.length === 1 && b[0] < 0x80) return b;
  const out = new Uint8Array(rlpHeaderLength(b.length) + b.length);
  out.set(b, writeRlpHeader(out, 0, 0x80, b.length));
  return out;
}

/**
 * RLP of a list of already-encoded items, except that those from `refFrom` to before `refTo` are
 * child references as `encode` returns them: a 32-byte hash (written as the string `0xa0 ‖ hash`,
 * without a copy of it made first) or an inline node, always shorter, as it is.
 */
function rlpList(items: readonly Uint8Array[], refFrom = 0, refTo = 0): Uint8Array {
  let payload = 0;
  for (let i = 0; i < items.length; i++) payload += items[i].length + (isHashRef(items[i], i, refFrom, refTo) ? 1 : 0);
  const out = new Uint8Array(rlpHeaderLength(payload) + payload);
  let at = writeRlpHeader(out, 0, 0xc0, payload);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (isHashRef(it, i, refFrom, refTo)) out[at++] = 0x80 + 32;
    if (it.length === 1) out[at] = it[0];
    else out.set(it, at);
    at += it.length;
  }
  return out;
}

function isHashRef(item: Uint8Array, i: number, refFrom: number, refTo: number): boolean {
  return i >= refFrom && i < refTo && item.length === 32;
}
