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
import {
  bodyKey,
  canonicalKey,
  commitKey,
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
}

/**
 * The node's single LevelDB: blocks by number and hash, commits, tx index, receipts, logs index,
 * state trie nodes and the head pointer, in prefixed key spaces (see keys.ts).
 *
 * Crash safety comes from LevelDB's atomic batches: a block's data, its state and the head pointer
 * move together, so after `kill -9` the database holds either all of a block or none of it.
 */
export class ChainDB implements TrieNodeReader {
  private readonly db: Level<Bytes, Bytes>;
  private readonly syncWrites: boolean;

  private constructor(db: Level<Bytes, Bytes>, syncWrites: boolean) {
    this.db = db;
    this.syncWrites = syncWrites;
  }

  static async open(dir: string, opts: { syncWrites: boolean }): Promise<ChainDB> {
    const db = new Level<Bytes, Bytes>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    return new ChainDB(db, opts.syncWrites);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async getNode(key: string): Promise<Bytes | undefined> {
    return this.db.get(trieNodeKey(key));
  }

  async getMeta(name: string): Promise<Bytes | undefined> {
    return this.db.get(metaKey(name));
  }

  async putMeta(name: string, value: Bytes): Promise<void> {
    await this.db.put(metaKey(name), value, { sync: this.syncWrites });
  }

  async getHead(): Promise<HeadPointer | undefined> {
    const raw = await this.getMeta("head");
    if (raw === undefined) return undefined;
    const v = rlpDecodeList(raw, "head pointer");
    return { number: expectUint(v[0], "head.number"), hash: expectBytes(v[1], "head.hash", 32) };
  }

  async getCanonicalHash(n: bigint): Promise<Bytes | undefined> {
    return this.db.get(canonicalKey(n));
  }

  async getHeader(hash: Bytes): Promise<BlockHeader | undefined> {
    const raw = await this.db.get(headerKey(hash));
    return raw === undefined ? undefined : decodeHeader(raw);
  }

  async getBody(hash: Bytes): Promise<BlockBody | undefined> {
    const raw = await this.db.get(bodyKey(hash));
    return raw === undefined ? undefined : decodeBody(raw);
  }

  async getReceipts(hash: Bytes): Promise<Receipt[] | undefined> {
    const raw = await this.db.get(receiptsKey(hash));
    return raw === undefined ? undefined : decodeReceipts(raw);
  }

  async getCommit(n: bigint): Promise<Bytes | undefined> {
    return this.db.get(commitKey(n));
  }

  async getTxLocation(txHash: Bytes): Promise<{ number: bigint; index: number } | undefined> {
    const raw = await this.db.get(txIndexKey(txHash));
    if (raw === undefined) return undefined;
    const v = rlpDecodeList(raw, "tx index");
    return { number: expectUint(v[0], "txIndex.number"), index: Number(expectUint(v[1], "txIndex.index")) };
  }

  /** Heights in [from, to] with at least one log emitted by `address`, ascending. */
  async blocksWithLogsFrom(address: Bytes, from: bigint, to: bigint, limit: number): Promise<bigint[]> {
    const out: bigint[] = [];
    for await (const key of this.db.keys({
      gte: logAddressKey(address, from),
      lte: logAddressKey(address, to),
      limit,
    })) {
      out.push(readUint64BE(key, 21));
    }
    return out;
  }

  async writeBlock(w: BlockWrite): Promise<void> {
    const n = w.header.number;
    const batch = this.db.batch();
    for (const [k, v] of w.trieNodes) batch.put(trieNodeKey(k), v);
    batch.put(headerKey(w.hash), encodeHeader(w.header));
    batch.put(bodyKey(w.hash), encodeBody(w.body));
    batch.put(receiptsKey(w.hash), encodeReceipts(w.receipts));
    batch.put(canonicalKey(n), w.hash);
    if (w.commit.length > 0) batch.put(commitKey(n), w.commit);
    for (let i = 0; i < w.txHashes.length; i++) {
      batch.put(txIndexKey(w.txHashes[i]), rlpEncode([bigIntToUnpaddedBytes(n), bigIntToUnpaddedBytes(BigInt(i))]));
    }
    const logAddresses = new Set<string>();
    for (const r of w.receipts) for (const l of r.logs) logAddresses.add(Buffer.from(l[0]).toString("hex"));
    for (const a of logAddresses) batch.put(logAddressKey(Buffer.from(a, "hex"), n), new Uint8Array(0));
    batch.put(metaKey("head"), rlpEncode([bigIntToUnpaddedBytes(n), w.hash]));
    await batch.write({ sync: this.syncWrites });
  }

  /** Counts keys of one key space (a full scan: diagnostics and tests only). */
  async countKeys(prefix: number): Promise<number> {
    let count = 0;
    for await (const _ of this.db.keys({ gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) })) count++;
    return count;
  }
}
