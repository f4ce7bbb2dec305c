import { CheckpointDB, MerklePatriciaTrie } from "@ethereumjs/mpt";
import { ValueEncoding } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { keccak256 } from "../../../../runtime/primitives/hash.js";
import { applyTrieWrites } from "../../../../runtime/state/trieBatch.js";
import { trieGet } from "../../../../runtime/state/trieGet.js";
import {
  nodeKey,
  type StoredNodes,
  storeLastCheckpoint,
  storeTrieNodes,
  TrieNodeStore,
} from "../../../../runtime/state/trieNodeStore.js";

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

  it("storeTrieNodes and storeLastCheckpoint leave the store and the checkpoints as CheckpointDB's batch and commit do, over random checkpoints, reads, commits and reverts", async () => {
    let seed = 5;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
    const stores = [
      new TrieNodeStore({ getNode: async () => undefined }),
      new TrieNodeStore({ getNode: async () => undefined }),
    ];
    const [fast, plain] = stores.map((store) => new CheckpointDB({ db: store, valueEncoding: ValueEncoding.Bytes }));
    const written = stores.map(() => new Map<string, Uint8Array>());
    // A block's writes taken for LevelDB.
    const takeAll = () => {
      for (const [i, store] of stores.entries()) for (const [k, v] of store.takeWrites()) written[i].set(k, v);
    };
    let puts = 0;
    const hashes: Uint8Array[] = [];
    for (let step = 0; step < 400; step++) {
      const op = rand(8);
      if (op === 0) for (const db of [fast, plain]) db.checkpoint(new Uint8Array(32));
      else if (op === 1 && fast.hasCheckpoints()) {
        storeLastCheckpoint(fast);
        for (const db of [fast, plain]) await db.commit();
      } else if (op === 4) {
        // Reads under a checkpoint enter its map too (a miss as no value): the commit writes them again.
        const key = rand(2) === 0 && hashes.length > 0 ? hashes[rand(hashes.length)] : randomBytes(32);
        expect(await fast.get(key)).toEqual(await plain.get(key));
      } else if (op === 2 && fast.hasCheckpoints()) for (const db of [fast, plain]) await db.revert();
      else if (op === 3) takeAll();
      else {
        // Some hashes repeat (a node written again by a later block, or twice in one checkpoint).
        const nodes: StoredNodes = { hashes: [], encodings: [] };
        for (let i = rand(6); i >= 0; i--) {
          nodes.hashes.push(rand(4) === 0 ? keccak256(bytes(rand(20))) : randomBytes(32));
          hashes.push(nodes.hashes[nodes.hashes.length - 1]);
          nodes.encodings.push(randomBytes(1 + rand(120)));
        }
        puts += nodes.hashes.length;
        await storeTrieNodes(fast, nodes);
        await plain.batch(nodes.hashes.map((key, i) => ({ type: "put" as const, key, value: nodes.encodings[i] })));
      }
      expect(fast.checkpoints.map((c) => [...c.keyValueMap])).toEqual(plain.checkpoints.map((c) => [...c.keyValueMap]));
      expect(stores[0].pendingCount).toBe(stores[1].pendingCount);
    }
    while (fast.hasCheckpoints()) {
      storeLastCheckpoint(fast);
      for (const db of [fast, plain]) await db.commit();
    }
    takeAll();
    expect(puts).toBeGreaterThan(500);
    expect(written[0].size).toBeGreaterThan(100);
    expect([...written[0]].sort()).toEqual([...written[1]].sort());
    // The keys are the hashes in unprefixed lowercase hex, as ethereumjs names them.
    const hash = keccak256(bytes(1));
    expect(nodeKey(hash)).toBe(Buffer.from(hash).toString("hex"));
    expect(nodeKey(randomBytes(40).subarray(3, 35))).toMatch(/^[0-9a-f]{64}$/);
  });
});
