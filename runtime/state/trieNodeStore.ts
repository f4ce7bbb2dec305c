import type { CheckpointDB } from "@ethereumjs/mpt";
import type { BatchDBOp, DB } from "@ethereumjs/util";
import { assert } from "../lib/assert.js";
import { ByteLRU } from "../lib/byteLru.js";
import { unprefixedHex } from "../primitives/bytes.js";
import type { DecodedNodeCache } from "./trieGet.js";

/** Read access to persisted trie nodes; `node/` implements it over LevelDB. Keys are hex node hashes. */
export interface TrieNodeReader {
  getNode(key: string): Promise<Uint8Array | undefined>;
}

/** Bytes a store's node caches hold by default (the node passes its `cacheBytes` share). */
export const DEFAULT_TRIE_CACHE_BYTES = 48 * 1024 * 1024;

/**
 * A raw node's cache entry besides its bytes: the 66-character hex key, the map entry and the
 * byte array's own buffer (~300 bytes on Node 20, 64-bit).
 */
const RAW_ENTRY_BYTES = 300;

/**
 * The database under the state trie: reads fall through a write overlay to the persisted store;
 * writes stay in the overlay until the node takes them (`takeWrites`) into the block's single atomic
 * LevelDB batch. That is what makes "one batch per block" true for state too.
 *
 * Trie nodes are content-addressed and never deleted (no pruning), so concurrent readers of older
 * roots (eth_call at a past block) stay valid while a new block is written.
 */
export class TrieNodeStore implements DB<string, string | Uint8Array> {
  private readonly reader: TrieNodeReader;
  private pending = new Map<string, Uint8Array>();
  /**
   * Writes taken for persistence but not yet confirmed written, one map per take (the map taken
   * itself: a block's nodes are not copied into another map and out again): still readable.
   */
  private readonly inFlight: Map<string, Uint8Array>[] = [];
  /**
   * Nodes are immutable (keyed by their hash), so one cache serves every trie opened on this
   * store: the head state, and the views at recent roots that eth_call and RPC reads use.
   */
  private readonly cache: ByteLRU<string, Uint8Array>;
  /**
   * The same nodes decoded, for the state managers' trie reads and batched writes over this store
   * (`trieGet`, `applyTrieWrites`). Two thirds of the budget: a decoded node costs a few times its
   * bytes (`decodedNodeBytes`), and a decoded hit saves the decode as well as the read.
   */
  readonly decodedNodes: DecodedNodeCache;

  /** `cacheBytes`: what the two node caches hold together, at most (estimated bytes). */
  constructor(reader: TrieNodeReader, opts: { cacheBytes: number } = { cacheBytes: DEFAULT_TRIE_CACHE_BYTES }) {
    this.reader = reader;
    const decodedBytes = Math.floor((opts.cacheBytes * 2) / 3);
    this.cache = new ByteLRU(opts.cacheBytes - decodedBytes);
    this.decodedNodes = new ByteLRU(decodedBytes);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const hit = this.pending.get(key) ?? this.takenWrite(key) ?? this.cache.get(key);
    if (hit !== undefined) return hit;
    const stored = await this.reader.getNode(key);
    if (stored !== undefined) this.cache.set(key, stored, rawEntryBytes(stored));
    return stored;
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    assert(value instanceof Uint8Array, "trie store holds bytes (valueEncoding: bytes)");
    this.pending.set(key, value);
  }

  async del(_key: string): Promise<void> {
    // Nodes are never deleted: pruning is off, history is kept (archive state).
  }

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    // `put`'s work inline: a block's commit hands over all its nodes here, one await each cost a microtask.
    for (const op of ops) {
      if (op.type !== "put") continue;
      assert(op.value instanceof Uint8Array, "trie store holds bytes (valueEncoding: bytes)");
      this.pending.set(op.key, op.value);
    }
  }

  /**
   * `batch` of puts for nodes named by their hash bytes: each key made here as one flat hex string.
   * ethereumjs's `CheckpointDB.batch` hands the store its own hex keys, built a `+=` per byte (a
   * rope of 33 strings that every map it enters flattens again) and one spread options object per node.
   */
  putNodes(nodes: StoredNodes): void {
    for (let i = 0; i < nodes.hashes.length; i++) this.pending.set(nodeKey(nodes.hashes[i]), nodes.encodings[i]);
  }

  /** `batch` of the puts among `entries` (hex keys as `CheckpointDB` names nodes; no value: not a put). */
  putEntries(entries: Map<string, Uint8Array | undefined>): void {
    for (const [key, value] of entries) if (value !== undefined) this.pending.set(key, value);
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return this;
  }

  async open(): Promise<void> {}

  private takenWrite(key: string): Uint8Array | undefined {
    for (const taken of this.inFlight) {
      const v = taken.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /**
   * Hands the overlay to the caller for persistence; it stays readable until `confirmWritten` is
   * called with the map returned here.
   */
  takeWrites(): Map<string, Uint8Array> {
    const taken = this.pending;
    if (taken.size > 0) this.inFlight.push(taken);
    this.pending = new Map();
    return taken;
  }

  confirmWritten(written: Map<string, Uint8Array>): void {
    const i = this.inFlight.indexOf(written);
    if (i >= 0) this.inFlight.splice(i, 1);
    // Fresh nodes are the ones the next block and reads touch.
    for (const [k, v] of written) this.cache.set(k, v, rawEntryBytes(v));
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}

/** Nodes a trie write stores: `encodings[i]` under its hash `hashes[i]`. */
export interface StoredNodes {
  hashes: Uint8Array[];
  encodings: Uint8Array[];
}

/** A node's key in the store, as ethereumjs's `CheckpointDB` names it: its hash in unprefixed lowercase hex. */
export function nodeKey(hash: Uint8Array): string {
  return unprefixedHex(hash);
}

/**
 * Stores `nodes` in a trie's database with the effect of `db.batch` of their puts: into the open
 * checkpoint's write map (what `CheckpointDB.put` does there, without its await per node), or
 * straight into the node store beneath (`putNodes`); any other database gets the plain `batch`.
 */
export async function storeTrieNodes(db: CheckpointDB, nodes: StoredNodes): Promise<void> {
  const { hashes, encodings } = nodes;
  if (db.checkpoints.length > 0) {
    const written = db.checkpoints[db.checkpoints.length - 1].keyValueMap;
    for (let i = 0; i < hashes.length; i++) written.set(nodeKey(hashes[i]), encodings[i]);
  } else if (db.db instanceof TrieNodeStore) {
    db.db.putNodes(nodes);
  } else {
    await db.batch(hashes.map((key, i): BatchDBOp => ({ type: "put", key, value: encodings[i] })) as never);
  }
}

/**
 * Before the commit of `db`'s last checkpoint (the block's state committed): moves that checkpoint's
 * writes into the node store beneath, as the commit would, and leaves it empty. `CheckpointDB.commit`
 * turns each hex key back into bytes for its own `batch`, which makes hex of them again (a rope per
 * key) for the store. Entries without a value (reads that missed, deletions) are skipped: the store
 * deletes nothing.
 */
export function storeLastCheckpoint(db: CheckpointDB): void {
  if (db.checkpoints.length !== 1 || !(db.db instanceof TrieNodeStore)) return;
  const written = db.checkpoints[0].keyValueMap;
  db.db.putEntries(written);
  written.clear();
}

function rawEntryBytes(node: Uint8Array): number {
  return RAW_ENTRY_BYTES + node.length;
}
