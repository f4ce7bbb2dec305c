import type { MPTNode } from "@ethereumjs/mpt";
import { ByteLRU } from "../lib/byteLru.js";
import type { DecodedNodeCache } from "./trieGet.js";

/**
 * A raw node's cache entry besides its bytes: the 66-character hex key, the map entry and the
 * byte array's own buffer (~300 bytes on Node 20, 64-bit).
 */
const RAW_ENTRY_BYTES = 300;

/**
 * The node store's cached nodes, each held once: decoded (for `trieGet` and `applyTrieWrites`, two
 * thirds of the budget: a decoded node costs a few times its bytes, and a decoded hit saves the
 * decode as well as the read), or else as its encoded bytes (for reads that want bytes: ethereumjs's
 * own trie walks, the simulation workers' reads, a decoded-cache miss).
 *
 * Both caches used to hold a decoded node's bytes too (rss14f). Now a node that is decoded leaves
 * the raw cache, and goes back into it, encoded again, when the decoded cache evicts it. Its
 * encoding's length (not the raw entry's 300 bytes around it, which its decoded entry's own key and
 * entry replace) stays charged to the raw share while it is held decoded: charging the whole raw
 * entry shrank the raw side below the nodes it held besides the decoded ones, and the dev node's
 * bench read 8× as many nodes from LevelDB (2,437 against 294); this way the raw side holds more
 * nodes than the decoded ones than before, and what it saves is the raw entries of the nodes both
 * caches held (~45 % of the raw side at the bench's peak, rss14f). Re-encoding gives the
 * stored bytes back: a node is named by the hash of its encoding, and RLP as ethereumjs decodes it
 * (canonical only) encodes back to the same bytes (test/unit/runtime/state/trieNodeCache.test.ts).
 *
 * Keys are nodes' hashes in unprefixed lowercase hex (`nodeKey`), one spelling for both caches.
 */
export class TrieNodeCache implements DecodedNodeCache {
  private readonly raw: ByteLRU<string, Uint8Array>;
  private readonly decoded: ByteLRU<string, MPTNode>;
  private readonly rawShare: number;
  /** The encoded bytes of the nodes held decoded: charged to the raw share. */
  private decodedRawBytes = 0;

  /** `cacheBytes`: what the two caches hold together, at most (estimated bytes). */
  constructor(cacheBytes: number) {
    const decodedBytes = Math.floor((cacheBytes * 2) / 3);
    this.rawShare = cacheBytes - decodedBytes;
    this.raw = new ByteLRU(this.rawShare);
    this.decoded = new ByteLRU(decodedBytes, (key, node) => this.demote(key, node));
  }

  /** A node's encoding, from either cache (re-encoded when held decoded; the decoded recency unchanged). */
  getRaw(key: string): Uint8Array | undefined {
    return this.raw.get(key) ?? this.decoded.peek(key)?.serialize();
  }

  /** Caches a node's encoding, unless it is held decoded. */
  setRaw(key: string, encoded: Uint8Array): void {
    if (!this.decoded.has(key)) this.raw.set(key, encoded, rawEntryBytes(encoded));
  }

  get(key: string): MPTNode | undefined {
    return this.decoded.get(key);
  }

  /** Caches `node` decoded (`bytes`: its estimated heap bytes); its encoding leaves the raw cache. */
  set(key: string, node: MPTNode, bytes: number): void {
    if (this.decoded.has(key) || bytes > this.decoded.capacityBytes) return;
    const encoded = this.raw.peek(key);
    this.raw.delete(key);
    this.decodedRawBytes += (encoded ?? node.serialize()).length;
    this.decoded.set(key, node, bytes);
    this.fitRaw();
  }

  /** Nodes held decoded. */
  get size(): number {
    return this.decoded.size;
  }

  /** The decoded nodes' estimated bytes. */
  get bytes(): number {
    return this.decoded.bytes;
  }

  /** Nodes held as bytes only (tests). */
  get rawSize(): number {
    return this.raw.size;
  }

  private demote(key: string, node: MPTNode): void {
    const encoded = node.serialize();
    this.decodedRawBytes -= encoded.length;
    this.fitRaw();
    this.raw.set(key, encoded, rawEntryBytes(encoded));
  }

  private fitRaw(): void {
    this.raw.resize(Math.max(0, this.rawShare - this.decodedRawBytes));
  }
}

function rawEntryBytes(node: Uint8Array): number {
  return RAW_ENTRY_BYTES + node.length;
}
