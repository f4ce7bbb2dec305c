import type { Caches } from "@ethereumjs/statemanager";
import { Account, Address, bigIntToBytes, KECCAK256_RLP, setLengthLeft } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { openWorldState } from "../../../runtime/state/worldState.js";

const common = createChainCommon(1337n);
const addressOf = (i: number) => new Address(setLengthLeft(bigIntToBytes(BigInt(i) + 0x1000n), 20));
const slotOf = (i: number) => setLengthLeft(bigIntToBytes(BigInt(i) + 1n), 32);
const CONTRACT = addressOf(0);

const cachedEntries = (sm: unknown) => {
  const c = (sm as { _caches: Caches })._caches;
  return { accounts: c.account?.size() ?? 0, storageSlots: c.storage?.dump(CONTRACT)?.size ?? 0 };
};

describe("head state caches stay bounded (ethereumjs's ordered-map caches never evict)", () => {
  it("empties them at a block boundary past the bound; same state roots and reads as without caches", async () => {
    const bound = 100;
    const cached = openWorldState(common, new TrieNodeStore({ getNode: async () => undefined }), KECCAK256_RLP, {
      cacheEntries: bound,
      trieCacheEntries: 0,
    });
    const plain = openWorldState(common, new TrieNodeStore({ getNode: async () => undefined }), KECCAK256_RLP, {
      cacheEntries: 0,
      trieCacheEntries: 0,
    });
    await cached.putAccount(CONTRACT, new Account());
    await plain.putAccount(CONTRACT, new Account());
    let peak = { accounts: 0, storageSlots: 0 };
    const perBlock = 20;
    for (let block = 0; block < 30; block++) {
      for (const sm of [cached, plain]) {
        await sm.checkpoint();
        for (let k = 0; k < perBlock; k++) {
          const i = block * perBlock + k + 1;
          // Each block reads then writes fresh accounts and fresh slots, as transfers to new recipients do.
          const prev = (await sm.getAccount(addressOf(i))) ?? new Account();
          prev.balance += BigInt(i);
          await sm.putAccount(addressOf(i), prev);
          await sm.getStorage(CONTRACT, slotOf(i));
          await sm.putStorage(CONTRACT, slotOf(i), bigIntToBytes(BigInt(i)));
        }
        await sm.getStateRoot();
        await sm.commit();
      }
      expect(await cached.getStateRoot()).toEqual(await plain.getStateRoot());
      const now = cachedEntries(cached);
      peak = {
        accounts: Math.max(peak.accounts, now.accounts),
        storageSlots: Math.max(peak.storageSlots, now.storageSlots),
      };
    }
    // 600 accounts and 600 slots were touched; the caches never held much more than the bound plus a block's worth.
    expect(peak.accounts).toBeLessThanOrEqual(bound + 2 * perBlock);
    expect(peak.storageSlots).toBeLessThanOrEqual(bound + 2 * perBlock);
    // Reads after an emptying come from the trie, the same as the uncached state's.
    for (const i of [1, 77, 300, 600]) {
      expect((await cached.getAccount(addressOf(i)))?.balance).toBe(BigInt(i));
      expect(await cached.getStorage(CONTRACT, slotOf(i))).toEqual(await plain.getStorage(CONTRACT, slotOf(i)));
    }
  });
});
