import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { ValueEncoding } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { keccak256 } from "../../../../runtime/primitives/hash.js";
import { applyTrieWrites } from "../../../../runtime/state/trieBatch.js";
import { trieGet } from "../../../../runtime/state/trieGet.js";
import { TrieNodeStore } from "../../../../runtime/state/trieNodeStore.js";

const bytes = (n: number) => Uint8Array.of(n);

describe("TrieNodeStore", () => {
  it("keeps taken writes readable until confirmed, then serves them from its cache; nothing reads through to the database meanwhile", async () => {
    const reads: string[] = [];
    const store = new TrieNodeStore({
      getNode: async (k) => {
        reads.push(k);
        return undefined;
      },
    });
    await store.put("a", bytes(1));
    const first = store.takeWrites();
    await store.put("b", bytes(2));
    const second = store.takeWrites();
    await store.put("c", bytes(3));
    expect([...first.keys()]).toEqual(["a"]);
    expect([...second.keys()]).toEqual(["b"]);
    expect(store.pendingCount).toBe(1);
    // Two blocks in flight and one pending: all readable.
    expect(await store.get("a")).toEqual(bytes(1));
    expect(await store.get("b")).toEqual(bytes(2));
    expect(await store.get("c")).toEqual(bytes(3));
    // Confirmed out of order: each stays readable (from the cache once confirmed).
    store.confirmWritten(second);
    expect(await store.get("a")).toEqual(bytes(1));
    expect(await store.get("b")).toEqual(bytes(2));
    store.confirmWritten(first);
    expect(await store.get("a")).toEqual(bytes(1));
    expect(reads).toEqual([]);
    // The pending write taken and confirmed at once (a block written); a key never written reads through.
    store.confirmWritten(store.takeWrites());
    expect(store.pendingCount).toBe(0);
    expect(await store.get("c")).toEqual(bytes(3));
    expect(await store.get("d")).toBeUndefined();
    expect(reads).toEqual(["d"]);
  });

  it("bounds its raw node cache by bytes: past the budget, the first nodes read are read again", async () => {
    const reads: string[] = [];
    // 30,000 bytes: a third for raw nodes, ~7 entries of 1,000 bytes.
    const store = new TrieNodeStore(
      {
        getNode: async (k) => {
          reads.push(k);
          return new Uint8Array(1000);
        },
      },
      { cacheBytes: 30_000 },
    );
    for (let i = 0; i < 20; i++) await store.get(`k${i}`);
    await store.get("k19");
    expect(reads.length).toBe(20);
    await store.get("k0");
    expect(reads.length).toBe(21);
  });

  it("bounds its decoded node cache by bytes, and answers the same through it", async () => {
    const nodes = new Map<string, Uint8Array>();
    const writer = new TrieNodeStore({ getNode: async (k) => nodes.get(k) });
    const trie = () =>
      new MerklePatriciaTrie({
        db: writer,
        valueEncoding: ValueEncoding.Bytes,
        common: { customCrypto: { keccak256 } },
      });
    const written = trie();
    const keys = Array.from({ length: 2000 }, (_, i) => keccak256(Uint8Array.of(i >> 8, i & 255)));
    await applyTrieWrites(
      written,
      keys.map((key, i) => ({ key, value: Uint8Array.of(1, i & 255, 2) })),
    );
    for (const [k, v] of writer.takeWrites()) nodes.set(k, v);
    const store = new TrieNodeStore({ getNode: async (k) => nodes.get(k) }, { cacheBytes: 300_000 });
    const read = new MerklePatriciaTrie({
      db: store,
      valueEncoding: ValueEncoding.Bytes,
      root: written.root(),
      common: { customCrypto: { keccak256 } },
    });
    for (const [i, key] of keys.entries()) {
      expect(await trieGet(read, key, store.decodedNodes)).toEqual(Uint8Array.of(1, i & 255, 2));
      expect(store.decodedNodes.bytes).toBeLessThanOrEqual(200_000);
    }
    // ~4,000 nodes (2,000 leaves and their branches) do not fit: the cache evicted.
    expect(store.decodedNodes.size).toBeGreaterThan(100);
    expect(store.decodedNodes.size).toBeLessThan(nodes.size / 2);
  });
});
