import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { Level } from "level";
import {
  type BlockBody,
  type BlockHeader,
  decodeBody,
  decodeHeader,
  encodeBody,
  encodeHeader,
} from "../../runtime/primitives/block.js";
import { readUint64BE } from "../../runtime/primitives/bytes.js";
import { decodeReceipts, encodeReceipts, type Receipt } from "../../runtime/primitives/receipt.js";
import { expectBytes, expectUint, rlpDecodeList, rlpEncode } from "../../runtime/primitives/rlpCodec.js";
import type { TrieNodeReader } from "../../runtime/state/trieNodeStore.js";
import { StorageError, StorageErrorCode, toStorageError } from "./errors.js";
import {
  bodyKey,
  canonicalKey,
  commitKey,
  devPreStateKey,
  headerKey,
  logAddressKey,
  metaKey,
  receiptsKey,
  trieNodeKey,
  txIndexKey,
} from "./keys.js";

type Bytes = Uint8Array;

export interface HeadPointer {
  number: bigint;
  hash: Bytes;
}

/** Everything one committed block adds to the database; written in ONE atomic batch. */
export interface BlockWrite {
  header: BlockHeader;
  hash: Bytes;
  body: BlockBody;
  receipts: Receipt[];
  txHashes: Bytes[];
  /** Encoded commit certificate (+2/3 precommits) for this block. */
  commit: Bytes;
  /** Trie nodes created by executing the block (keys are hex node keys). */
  trieNodes: Map<string, Bytes>;
  /** Other records the block settles, written in its batch (the validators it settles, the effects it reported). */
  records?: { key: Bytes; value: Bytes }[];
  /** Dev mode: the state root the block was built on, when cheats made it differ from the parent's. */
  devPreStateRoot?: Bytes;
}

/** Deletions that take the chain back to `head` (see `rollback.ts`): applied in ONE atomic batch. */
export interface RollbackWrite {
  deleteKeys: Uint8Array[];
  head: HeadPointer;
}

/** Called once with the first LevelDB failure after open (the node stops on it). */
export type StorageFailureHandler = (e: StorageError) => void;

/**
 * The node's single LevelDB: blocks by number and hash, commits, tx index, receipts, logs index,
 * state trie nodes and the head pointer, in prefixed key spaces (see keys.ts).
 *
 * Crash safety comes from LevelDB's atomic batches: a block's data, its state and the head pointer
 * move together, so after `kill -9` the database holds either all of a block or none of it.
 *
 * Every LevelDB failure leaves this class as a `StorageError` carrying LevelDB's own reason (the
 * generic "Database failed to open" of abstract-level is unwrapped), and the first one is reported to
 * the failure handler, so a read or write that fails anywhere in the node stops it instead of being
 * logged and forgotten (or escaping as an unhandled rejection).
 */
export class ChainDB implements TrieNodeReader {
  readonly dir: string;
  /** Bytes of LevelDB log (`*.log`) files found before opening: the writes LevelDB had to replay. */
  readonly logBytesAtOpen: number;
  private readonly db: Level<Bytes, Bytes>;
  private readonly syncWrites: boolean;
  private onFailure: StorageFailureHandler | null = null;
  private blockWriteWait: <T>(write: () => Promise<T>) => Promise<T> = (write) => write();
  private failed = false;
  /** Block writes held for one atomic batch (`writeBlock` with `hold`), readable meanwhile; null when none. */
  private held: HeldWrites | null = null;
  /** Held writes whose batch is on its way to LevelDB: still read from here until it is written. */
  private readonly writing: { held: HeldWrites; written: Promise<void> }[] = [];

  private constructor(dir: string, db: Level<Bytes, Bytes>, syncWrites: boolean, logBytesAtOpen: number) {
    this.dir = dir;
    this.db = db;
    this.syncWrites = syncWrites;
    this.logBytesAtOpen = logBytesAtOpen;
  }

  /** Opens (creating if missing) the database in `dir`; throws a StorageError naming LevelDB's reason. */
  static async open(
    dir: string,
    opts: { syncWrites: boolean; logBytes?: number; maxOpenFiles?: number },
  ): Promise<ChainDB> {
    const logBytes = opts.logBytes ?? levelLogBytes(dir);
    // Without CURRENT, LevelDB would create a new, empty database here and delete the tables it
    // does not know: only a directory without LevelDB files may be created.
    const files = levelFiles(dir);
    if (files.length > 0 && !files.includes("CURRENT")) {
      throw new StorageError(
        {
          code: StorageErrorCode.OPEN_FAILED,
          dir,
          op: "open",
          reason: "CURRENT is missing but the directory holds LevelDB files",
        },
        `chain database open failed (${dir}): CURRENT is missing but the directory holds LevelDB files`,
      );
    }
    const db = new Level<Bytes, Bytes>(dir, { keyEncoding: "view", valueEncoding: "view" });
    try {
      await db.open({ createIfMissing: files.length === 0, ...levelOpenOptions(opts.maxOpenFiles) });
    } catch (e) {
      throw toStorageError(e, dir, "open");
    }
    return new ChainDB(dir, db, opts.syncWrites, logBytes);
  }

  /**
   * LevelDB's RepairDB on a closed database: rebuilds CURRENT and the MANIFEST from the table and
   * log files, salvaging the readable entries of damaged tables (what it cannot read is dropped, and
   * files it cannot use go to `lost/`). Run `checkChain` afterwards: repaired is not intact.
   */
  static async repair(dir: string): Promise<void> {
    try {
      // `level` is classic-level on Node; its typings omit the static `repair` of ClassicLevel.
      await (Level as unknown as { repair(location: string): Promise<void> }).repair(dir);
    } catch (e) {
      throw toStorageError(e, dir, "repair");
    }
  }

  /** Where LevelDB failures go once the node runs (set by the composition root). */
  setFailureHandler(handler: StorageFailureHandler): void {
    this.onFailure = handler;
  }

  /**
   * Wraps the wait for each block's batch write (LevelDB's thread and the fsync): the node's CPU
   * accounting counts whatever the main thread does meanwhile to no block stage.
   */
  setBlockWriteWait(wait: <T>(write: () => Promise<T>) => Promise<T>): void {
    this.blockWriteWait = wait;
  }

  /** Runs another wait for the block's durability (the committed record's sync) like the batch write. */
  blockWriteWaitFor<T>(write: () => Promise<T>): Promise<T> {
    return this.blockWriteWait(write);
  }

  /** Reports a failure of the storage around the database (the committed record) like a LevelDB one. */
  reportFailure(err: StorageError): void {
    if (!this.failed && this.onFailure !== null) {
      this.failed = true;
      this.onFailure(err);
    }
  }

  /** Runs one LevelDB operation; a failure becomes a StorageError, reported once to the handler. */
  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.failure(e, op);
    }
  }

  /** `e` as a StorageError of `op`, reported (once) to the failure handler. */
  private failure(e: unknown, op: string): StorageError {
    const err = toStorageError(e, this.dir, op);
    this.reportFailure(err);
    return err;
  }

  private get(key: Bytes): Promise<Bytes | undefined> {
    const unwritten = this.unwritten(key);
    if (unwritten !== undefined) return Promise.resolve(unwritten);
    return this.guard("read", () => this.db.get(key));
  }

  /** Values of `keys` in one LevelDB call (undefined where absent). */
  async getMany(keys: Bytes[]): Promise<(Bytes | undefined)[]> {
    const values = await this.guard("read", () => this.db.getMany(keys));
    if (this.held === null && this.writing.length === 0) return values;
    return values.map((v, i) => this.unwritten(keys[i]) ?? v);
  }

  /**
   * The stored bytes of blocks `from`, `from + 1`, … (at most `count`): header and body as `writeBlock` wrote them
   * (`encodeHeader`, `encodeBody`) and the commit certificate, read in two LevelDB calls (the canonical hashes, then
   * the rest); stops before the first height missing any of them. What block sync serves, with no decoding and
   * encoding of each block again.
   */
  async getRawBlocks(from: bigint, count: number): Promise<{ header: Bytes; body: Bytes; commit: Bytes }[]> {
    if (count <= 0) return [];
    const hashes = await this.getMany(Array.from({ length: count }, (_, i) => canonicalKey(from + BigInt(i))));
    const found: Bytes[] = [];
    for (const h of hashes) {
      if (h === undefined) break;
      found.push(h);
    }
    const keys: Bytes[] = [];
    for (let i = 0; i < found.length; i++) {
      keys.push(headerKey(found[i]), bodyKey(found[i]), commitKey(from + BigInt(i)));
    }
    const values = keys.length === 0 ? [] : await this.getMany(keys);
    const out: { header: Bytes; body: Bytes; commit: Bytes }[] = [];
    for (let i = 0; i < found.length; i++) {
      const [header, body, commit] = [values[3 * i], values[3 * i + 1], values[3 * i + 2]];
      if (header === undefined || body === undefined || commit === undefined) break;
      out.push({ header, body, commit });
    }
    return out;
  }

  /** Entries with keys in [gte, lt), ascending (or descending with `reverse`), at most `limit`. */
  async entries(range: { gte: Bytes; lt: Bytes; reverse?: boolean; limit?: number }): Promise<[Bytes, Bytes][]> {
    await this.flushHeld(); // scans read LevelDB only: held blocks go first (an early batch, as atomic)
    return this.guard("iterate", async () => {
      const out: [Bytes, Bytes][] = [];
      for await (const kv of this.db.iterator({ ...range, limit: range.limit ?? -1 })) out.push(kv);
      return out;
    });
  }

  /** Calls `fn` for every key in [gte, lt) (a streaming scan: rollback and full checks). */
  async forEachKey(range: { gte: Bytes; lt: Bytes }, fn: (key: Bytes) => void): Promise<void> {
    await this.flushHeld(); // scans read LevelDB only: held blocks go first (an early batch, as atomic)
    await this.guard("iterate", async () => {
      for await (const key of this.db.keys(range)) fn(key);
    });
  }

  async close(): Promise<void> {
    await this.flushHeld();
    await this.guard("close", () => this.db.close());
  }

  /**
   * A trie node, read synchronously on the calling thread (LevelDB's `getSync`): the node's reads are
   * mostly served from LevelDB's block cache or the page cache, where the asynchronous read's thread
   * pool hop, completion callback and promise cost more CPU than the read (mint14: a growing state's
   * trie reads were ~1.6 per mint). Same overlay of not yet written blocks and same failure handling
   * as `get`.
   */
  async getNode(key: string): Promise<Bytes | undefined> {
    return this.getSyncGuarded(trieNodeKey(key));
  }

  private getSyncGuarded(key: Bytes): Bytes | undefined {
    const unwritten = this.unwritten(key);
    if (unwritten !== undefined) return unwritten;
    try {
      return this.db.getSync(key);
    } catch (e) {
      throw this.failure(e, "read");
    }
  }

  async getMeta(name: string): Promise<Bytes | undefined> {
    return this.get(metaKey(name));
  }

  async putMeta(name: string, value: Bytes): Promise<void> {
    await this.guard("write", () => this.db.put(metaKey(name), value, { sync: this.syncWrites }));
  }

  async getHead(): Promise<HeadPointer | undefined> {
    const raw = await this.getMeta("head");
    if (raw === undefined) return undefined;
    const v = rlpDecodeList(raw, "head pointer");
    return { number: expectUint(v[0], "head.number"), hash: expectBytes(v[1], "head.hash", 32) };
  }

  async getCanonicalHash(n: bigint): Promise<Bytes | undefined> {
    return this.get(canonicalKey(n));
  }

  async getHeader(hash: Bytes): Promise<BlockHeader | undefined> {
    const raw = await this.get(headerKey(hash));
    return raw === undefined ? undefined : decodeHeader(raw);
  }

  async getBody(hash: Bytes): Promise<BlockBody | undefined> {
    const raw = await this.get(bodyKey(hash));
    return raw === undefined ? undefined : decodeBody(raw);
  }

  async getReceipts(hash: Bytes): Promise<Receipt[] | undefined> {
    const raw = await this.get(receiptsKey(hash));
    return raw === undefined ? undefined : decodeReceipts(raw);
  }

  async getCommit(n: bigint): Promise<Bytes | undefined> {
    return this.get(commitKey(n));
  }

  /** A record of another key space (validators, effects: node/chain/*Store.ts own their formats). */
  getRecord(key: Bytes): Promise<Bytes | undefined> {
    return this.get(key);
  }

  /** Writes records outside a block (a one-time rebuild of validator records for an older database). */
  async putRecords(records: { key: Bytes; value: Bytes }[]): Promise<void> {
    const batch = this.db.batch();
    for (const r of records) batch.put(r.key, r.value);
    await this.guard("write", () => batch.write({ sync: this.syncWrites }));
  }

  /** The state root block `hash` was built on if dev-mode cheats made it differ from its parent's. */
  async getDevPreStateRoot(hash: Bytes): Promise<Bytes | undefined> {
    return this.get(devPreStateKey(hash));
  }

  async getTxLocation(txHash: Bytes): Promise<{ number: bigint; index: number } | undefined> {
    const raw = await this.get(txIndexKey(txHash));
    if (raw === undefined) return undefined;
    const v = rlpDecodeList(raw, "tx index");
    return { number: expectUint(v[0], "txIndex.number"), index: Number(expectUint(v[1], "txIndex.index")) };
  }

  /** Heights in [from, to] with at least one log emitted by `address`, ascending. */
  async blocksWithLogsFrom(address: Bytes, from: bigint, to: bigint, limit: number): Promise<bigint[]> {
    await this.flushHeld(); // scans read LevelDB only: held blocks go first (an early batch, as atomic)
    return this.guard("iterate", async () => {
      const out: bigint[] = [];
      for await (const key of this.db.keys({
        gte: logAddressKey(address, from),
        lte: logAddressKey(address, to),
        limit,
      })) {
        out.push(readUint64BE(key, 21));
      }
      return out;
    });
  }

  /**
   * Writes the block's batch (synced when the database syncs writes). With `hold`, the batch is held instead: it joins
   * the held writes (readable at once, see `HeldWrites`) that the next `flushHeld` — or the next block written without
   * `hold` — puts into LevelDB as ONE atomic batch; nothing of a held block reaches LevelDB before that. Block sync
   * holds the blocks of a verified run (`Chain.commitSyncedRun`).
   */
  async writeBlock(w: BlockWrite, opts: { hold?: boolean } = {}): Promise<void> {
    if (opts.hold !== true && this.held === null && this.writing.length === 0) {
      // The common case (consensus commits): the block's own batch, no read overlay needed (nothing reads a block
      // before its commit returns; its trie nodes stay readable in the trie store until confirmed). With a batch on
      // its way (held blocks a scan wrote early) it goes the held way instead: after that batch, never beside it.
      const batch = this.db.batch();
      putBlock(w, (k, v) => batch.put(k, v));
      await this.blockWriteWait(() => this.guard("write", () => batch.write({ sync: this.syncWrites })));
      return;
    }
    const held = this.held ?? new HeldWrites();
    putBlock(w, (k, v) => held.put(k, v));
    held.blocks++;
    this.held = held;
    if (opts.hold !== true) await this.flushHeld();
  }

  /** Blocks and bytes held for the next batch (`writeBlock` with `hold`); zeros when none. */
  get heldSize(): { blocks: number; bytes: number } {
    return { blocks: this.held?.blocks ?? 0, bytes: this.held?.bytes ?? 0 };
  }

  /**
   * Writes the held blocks (`writeBlock` with `hold`) in ONE atomic LevelDB batch, synced when the database syncs
   * writes (after a crash of any kind the database holds all of them or none), and waits for every such batch still
   * on its way: once it returns, every block written with `hold` before the call is durable. Held writes stay
   * readable while their batch is on its way.
   */
  async flushHeld(): Promise<void> {
    const held = this.held;
    if (held !== null) {
      this.held = null;
      const batch = this.db.batch();
      for (const [k, v] of held.ops) batch.put(k, v);
      // After the batch still on its way, if any: two batches on libuv's threads could reach LevelDB in either
      // order, and an older head pointer would win. A failed one fails the next (the database stopped the node).
      const before = this.writing.at(-1)?.written ?? Promise.resolve();
      const entry = {
        held,
        written: before.then(() =>
          this.blockWriteWait(() => this.guard("write", () => batch.write({ sync: this.syncWrites }))),
        ),
      };
      this.writing.push(entry);
      const done = () => {
        this.writing.splice(this.writing.indexOf(entry), 1);
      };
      entry.written.then(done, done);
    }
    await Promise.all(this.writing.map((w) => w.written));
  }

  /** A held or in-flight write of `key` (newest first), or undefined: what reads see before LevelDB's. */
  private unwritten(key: Bytes): Bytes | undefined {
    if (this.held === null && this.writing.length === 0) return undefined;
    const k = HeldWrites.keyOf(key);
    const v = this.held?.get(k);
    if (v !== undefined) return v;
    for (let i = this.writing.length - 1; i >= 0; i--) {
      const w = this.writing[i].held.get(k);
      if (w !== undefined) return w;
    }
    return undefined;
  }

  /** Deletes `w.deleteKeys` and moves the head pointer to `w.head`, in one atomic, synced batch. */
  async writeRollback(w: RollbackWrite): Promise<void> {
    await this.flushHeld(); // held blocks first: the rollback's deletions (found by scans) come after them
    const batch = this.db.batch();
    for (const k of w.deleteKeys) batch.del(k);
    batch.put(metaKey("head"), encodeHeadPointer(w.head));
    await this.guard("write", () => batch.write({ sync: true }));
  }

  /** Counts keys of one key space (a full scan: diagnostics and tests only). */
  async countKeys(prefix: number): Promise<number> {
    let count = 0;
    await this.forEachKey({ gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) }, () => {
      count++;
    });
    return count;
  }
}

/**
 * Writes held for one LevelDB batch, in order (a later write of a key wins, as in the batch), with a map by key for
 * the reads that must see them before LevelDB does.
 */
class HeldWrites {
  readonly ops: [Bytes, Bytes][] = [];
  private readonly byKey = new Map<string, Bytes>();
  /** How many of `ops` `byKey` holds: it is filled at the first read, not per put (a synced run writes ~20 keys a
   * block and reads back few of them before its batch; the key strings were ~1 % of the sync profile, apply14). */
  private indexed = 0;
  blocks = 0;
  /** Keys' and values' bytes: what the batch costs in memory, roughly. */
  bytes = 0;

  /** The map key of a LevelDB key (latin1: one char per byte, no hex doubling). */
  static keyOf(key: Bytes): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
  }

  put(key: Bytes, value: Bytes): void {
    this.ops.push([key, value]);
    this.bytes += key.byteLength + value.byteLength;
  }

  get(key: string): Bytes | undefined {
    // In put order: a later write of a key wins, as in the batch.
    for (; this.indexed < this.ops.length; this.indexed++) {
      const [k, v] = this.ops[this.indexed];
      this.byKey.set(HeldWrites.keyOf(k), v);
    }
    return this.byKey.get(key);
  }
}

/** Everything block `w` adds, as puts in batch order (the head pointer last). */
function putBlock(w: BlockWrite, put: (key: Bytes, value: Bytes) => void): void {
  const n = w.header.number;
  for (const [k, v] of w.trieNodes) put(trieNodeKey(k), v);
  put(headerKey(w.hash), encodeHeader(w.header));
  put(bodyKey(w.hash), encodeBody(w.body));
  put(receiptsKey(w.hash), encodeReceipts(w.receipts));
  if (w.devPreStateRoot !== undefined) put(devPreStateKey(w.hash), w.devPreStateRoot);
  put(canonicalKey(n), w.hash);
  if (w.commit.length > 0) put(commitKey(n), w.commit);
  for (let i = 0; i < w.txHashes.length; i++) {
    put(txIndexKey(w.txHashes[i]), rlpEncode([bigIntToUnpaddedBytes(n), bigIntToUnpaddedBytes(BigInt(i))]));
  }
  const logAddresses = new Set<string>();
  for (const r of w.receipts) for (const l of r.logs) logAddresses.add(Buffer.from(l[0]).toString("hex"));
  for (const a of logAddresses) put(logAddressKey(Buffer.from(a, "hex"), n), new Uint8Array(0));
  for (const r of w.records ?? []) put(r.key, r.value);
  put(metaKey("head"), encodeHeadPointer({ number: n, hash: w.hash }));
}

function encodeHeadPointer(p: HeadPointer): Uint8Array {
  return rlpEncode([bigIntToUnpaddedBytes(p.number), p.hash]);
}

/**
 * LevelDB's open-file budget by default: LevelDB's own. Every table in its table cache (this − 10)
 * stays mmapped and the pages reads and compactions touched count in the node's RSS (rss14: 52 MB in
 * 70 tables after 3.5 min of soak). 74 bounds that to 64 tables, but a table evicted from the cache
 * is opened again on its next read: random reads over 200 MB cost 121 against 49–55 µs each in
 * isolation (README, issue 14), so the bound is the operator's trade (`storage.maxOpenFiles`).
 */
export const DEFAULT_MAX_OPEN_FILES = 1000;
/** LevelDB clips a smaller budget to this (64 tables + 10 other files): refused rather than silently raised. */
export const MIN_MAX_OPEN_FILES = 74;

/** The LevelDB open options this node sets beyond classic-level's defaults. */
export function levelOpenOptions(maxOpenFiles: number = DEFAULT_MAX_OPEN_FILES): { maxOpenFiles: number } {
  return { maxOpenFiles };
}

/**
 * Total size of LevelDB's write-ahead log files in `dir` (0 when it does not exist yet). Opening the
 * database replays them into a fresh table and deletes them, so this is measured before `open`: it
 * bounds how much recent data a damaged log can have dropped (see `integrity.ts`).
 */
export function levelLogBytes(dir: string): number {
  let bytes = 0;
  for (const name of levelFiles(dir)) if (/^\d+\.log$/.test(name)) bytes += statSync(join(dir, name)).size;
  return bytes;
}

/** LevelDB's own files in `dir` (CURRENT, MANIFEST-*, *.log, *.ldb, *.sst); none when it does not exist. */
function levelFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/.test(n));
  } catch {
    return [];
  }
}
