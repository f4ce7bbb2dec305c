import { Account, Address, bigIntToBytes, KECCAK256_RLP, setLengthLeft } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { openWorldState } from "../../../runtime/state/worldState.js";

const common = createChainCommon(1337n);
const addressOf = (i: number) => new Address(setLengthLeft(bigIntToBytes(BigInt(i) + 0x1000n), 20));
const SLOT = setLengthLeft(Uint8Array.of(1), 32);

/** What `putStorage` does for an account in each state the account cache can hold it in. */
async function outcomes(cacheEntries: number): Promise<string[]> {
  const sm = openWorldState(common, new TrieNodeStore({ getNode: async () => undefined }), KECCAK256_RLP, {
    cacheEntries,
    trieCacheEntries: 0,
  });
  const [stored, readAbsent, neverSeen, deleted, written] = [1, 2, 3, 4, 5].map(addressOf);
  await sm.putAccount(stored, new Account(1n));
  await sm.putAccount(deleted, new Account(1n));
  await sm.getStateRoot(); // in the trie now; the caches start empty again below
  sm.clearCaches();
  await sm.checkpoint();
  await sm.getAccount(stored); // cached from the trie
  await sm.getAccount(readAbsent); // cached as absent
  await sm.deleteAccount(deleted); // cached as deleted
  await sm.putAccount(written, new Account(0n, 5n)); // cached as written, not in the trie
  const out: string[] = [];
  for (const a of [stored, readAbsent, neverSeen, deleted, written, addressOf(1)]) {
    try {
      await sm.putStorage(a, SLOT, Uint8Array.of(7));
      out.push("stored");
    } catch (e) {
      out.push((e as Error).message.includes("non-existing account") ? "refused" : `error ${(e as Error).message}`);
    }
  }
  return out;
}

describe("putStorage's account check through the caches", () => {
  it("refuses the same accounts as ethereumjs's own check without caches: absent, never seen, deleted", async () => {
    const expected = ["stored", "refused", "refused", "refused", "stored", "stored"];
    expect(await outcomes(0)).toEqual(expected); // ethereumjs's MerkleStateManager.putStorage, no caches
    expect(await outcomes(1000)).toEqual(expected);
  });
});
