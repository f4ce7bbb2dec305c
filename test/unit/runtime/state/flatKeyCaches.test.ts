import { AccountCache, CacheType, StorageCache } from "@ethereumjs/statemanager";
import { Account, Address } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlatKeyAccountCache, FlatKeyStorageCache, flatKeyCaches } from "../../../../runtime/state/flatKeyCaches.js";

/**
 * The flat-key caches must be ethereumjs's caches with other string objects for the same keys: the
 * same random sequence of reads, writes, deletions, checkpoints, commits, reverts and flushes gives
 * the same answers and the same flushed entries on both.
 */
const ADDRESSES = [1, 2, 3].map((i) => new Address(new Uint8Array(20).fill(0xa0 + i)));
const SLOTS = [0, 1, 0xff].map((b) => new Uint8Array(32).fill(b));

const op = fc.oneof(
  fc.record({ kind: fc.constant("get" as const), a: fc.nat(2), k: fc.nat(2) }),
  fc.record({ kind: fc.constant("put" as const), a: fc.nat(2), k: fc.nat(2), v: fc.nat(1000) }),
  fc.record({ kind: fc.constant("putAbsent" as const), a: fc.nat(2) }),
  fc.record({ kind: fc.constant("del" as const), a: fc.nat(2), k: fc.nat(2) }),
  fc.constantFrom(
    { kind: "checkpoint" as const },
    { kind: "commit" as const },
    { kind: "revert" as const },
    { kind: "flush" as const },
  ),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Runs `ops` on an account and a storage cache; everything they answer, in order. */
function trace(account: AccountCache, storage: StorageCache, ops: Op[]): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  for (const o of ops) {
    switch (o.kind) {
      case "get":
        out.push(account.get(ADDRESSES[o.a]), storage.get(ADDRESSES[o.a], SLOTS[o.k]));
        break;
      case "put":
        account.put(ADDRESSES[o.a], new Account(BigInt(o.v), BigInt(o.v) * 7n));
        storage.put(ADDRESSES[o.a], SLOTS[o.k], Uint8Array.of(o.v & 0x7f));
        break;
      case "putAbsent":
        account.put(ADDRESSES[o.a], undefined);
        break;
      case "del":
        account.del(ADDRESSES[o.a]);
        storage.del(ADDRESSES[o.a], SLOTS[o.k]);
        break;
      case "checkpoint":
        account.checkpoint();
        storage.checkpoint();
        depth++;
        break;
      case "commit":
      case "revert":
        if (depth === 0) break;
        account[o.kind]();
        storage[o.kind]();
        depth--;
        break;
      case "flush":
        out.push(account.flush(), storage.flush());
        break;
    }
  }
  out.push(account.size(), storage.size(), account.stats(), storage.stats());
  return out;
}

describe("flat-key state caches", () => {
  it("answer and flush as ethereumjs's caches on random operation sequences", () => {
    const opts = { size: 100, type: CacheType.ORDERED_MAP };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const flat = trace(new FlatKeyAccountCache(opts), new FlatKeyStorageCache(opts), ops);
        expect(flat).toEqual(trace(new AccountCache(opts), new StorageCache(opts), ops));
      }),
      { numRuns: 300, seed: 20261207 },
    );
  });

  it("are what the world state's caches are built of", () => {
    const caches = flatKeyCaches({ account: { size: 10 }, storage: { size: 10 } });
    expect(caches.account).toBeInstanceOf(FlatKeyAccountCache);
    expect(caches.storage).toBeInstanceOf(FlatKeyStorageCache);
    // The LRU type stays ethereumjs's own.
    const lru = flatKeyCaches({ account: { size: 10, type: CacheType.LRU } });
    expect(lru.account).not.toBeInstanceOf(FlatKeyAccountCache);
  });
});
