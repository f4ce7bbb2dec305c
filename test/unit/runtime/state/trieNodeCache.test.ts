import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { ValueEncoding } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { keccak256 } from "../../../../runtime/primitives/hash.js";
import { applyTrieWrites } from "../../../../runtime/state/trieBatch.js";
import { trieGet } from "../../../../runtime/state/trieGet.js";
import { nodeKey, TrieNodeStore } from "../../../../runtime/state/trieNodeStore.js";

/** A written 2,000-key trie's nodes, and a store over them with `cacheBytes` that counts its database reads. */
async function writtenTrie(cacheBytes: number) {
  const nodes = new Map<string, Uint8Array>();
  const writer = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
  const written = new MerklePatriciaTrie({
    db: writer,
    valueEncoding: ValueEncoding.Bytes,
    common: { customCrypto: { keccak256 } },
  });
  const keys = Array.from({ length: 2000 }, (_, i) => keccak256(Uint8Array.of(i >> 8, i & 255)));
  await applyTrieWrites(
    written,
    keys.map((key, i) => ({ key, value: Uint8Array.of(1, i & 255, 2) })),
  );
  for (const [k, v] of writer.takeWrites()) nodes.set(k, v);
  const reads: string[] = [];
  const store = new TrieNodeStore(
    {
      getNode: async (k) => {
        reads.push(k);
        return nodes.get(k);
      },
    },
    { cacheBytes },
  );
  const read = new MerklePatriciaTrie({
    db: store,
    valueEncoding: ValueEncoding.Bytes,
    root: written.root(),
    common: { customCrypto: { keccak256 } },
  });
  return { nodes, keys, store, read, reads };
}

describe("TrieNodeCache (the node store's cache, each node held once)", () => {
  it("serves every node's stored bytes whether it is held decoded, evicted from the decoded side, or raw only", async () => {
    // Room for all ~4,000 nodes as bytes, for a few hundred decoded: most decoded nodes are evicted again.
    const { nodes, keys, store, read, reads } = await writtenTrie(3_000_000);
    for (const key of keys) await trieGet(read, key, store.decodedNodes);
    const cache = store.decodedNodes;
    expect(cache.size).toBeGreaterThan(100);
    expect(cache.size).toBeLessThan(nodes.size - 500);
    expect(cache.size + cache.rawSize).toBe(nodes.size);
    const readsBefore = reads.length;
    for (const [k, v] of nodes) {
      // Held decoded → re-encoded; demoted → raw; never both, and never the database again.
      const served = await store.get(k);
      expect(served).toEqual(v);
      expect(nodeKey(keccak256(served as Uint8Array))).toBe(k);
    }
    expect(reads.length).toBe(readsBefore);
    // Each node read from the database once: a decoded node's eviction kept it (as bytes).
    expect(new Set(reads).size).toBe(reads.length);
    for (const key of keys) await trieGet(read, key, store.decodedNodes);
    expect(reads.length).toBe(readsBefore);
  });

  it("charges decoded nodes' encodings to the raw share: raw entries and decoded nodes' encodings stay within it", async () => {
    // 600,000 bytes: 200,000 raw share, less than the trie's ~4,000 nodes as bytes.
    const { nodes, keys, store, read } = await writtenTrie(600_000);
    for (const key of keys) await trieGet(read, key, store.decodedNodes);
    const cache = store.decodedNodes;
    let held = 0;
    let rawBytes = 0;
    for (const [k, v] of nodes) {
      const served = await cache.getRaw(k);
      if (served === undefined) continue;
      expect(served).toEqual(v);
      held++;
      // A decoded node's own entry is the decoded side's (`get` answers only for those).
      rawBytes += (cache.get(k) === undefined ? 300 : 0) + v.length;
    }
    expect(held).toBe(cache.size + cache.rawSize);
    expect(held).toBeLessThan(nodes.size);
    expect(rawBytes).toBeLessThanOrEqual(200_000);
    expect(cache.bytes).toBeLessThanOrEqual(400_000);
  });
});
