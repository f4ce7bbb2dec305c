import type { Common } from "@ethereumjs/common";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { Caches, CODEHASH_PREFIX, MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, concatBytes, createAddressFromString, unprefixedHexToBytes, ValueEncoding } from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
import { applyTrieWrites, type TrieWrite } from "./trieBatch.js";
import type { TrieNodeStore } from "./trieNodeStore.js";

export interface WorldStateOptions {
  /** LRU entries of the account/storage/code caches (0 disables them: fine for one-shot readers). */
  cacheEntries: number;
  /** LRU entries of decoded trie nodes. */
  trieCacheEntries: number;
}

export const HEAD_STATE_OPTIONS: WorldStateOptions = { cacheEntries: 200_000, trieCacheEntries: 200_000 };
export const READER_STATE_OPTIONS: WorldStateOptions = { cacheEntries: 20_000, trieCacheEntries: 0 };

/**
 * Ethereum's account state: a secure Merkle Patricia trie (keys hashed) whose nodes live in `store`,
 * opened at `root`. Same layout as Ethereum, so `eth_getProof` answers verify with standard tools.
 */
export function openWorldState(
  common: Common,
  store: TrieNodeStore,
  root: Uint8Array,
  opts: WorldStateOptions,
): MerkleStateManager {
  const trie = new MerklePatriciaTrie({
    db: store,
    valueEncoding: ValueEncoding.Bytes,
    useKeyHashing: true,
    root,
    cacheSize: opts.trieCacheEntries,
    common: { customCrypto: { keccak256 } },
  });
  const caches =
    opts.cacheEntries > 0
      ? new Caches({
          account: { size: opts.cacheEntries },
          storage: { size: opts.cacheEntries },
          code: { size: Math.max(1000, opts.cacheEntries / 10) },
        })
      : undefined;
  return new BatchFlushStateManager({ common, trie, caches });
}

/**
 * ethereumjs's state manager, whose reads and writes between flushes already go to flat account and
 * storage caches (keyed by address and address + slot, journaled with checkpoint/commit/revert), with
 * one change: `flush` — what `getStateRoot` runs once per block — writes the cached changes into the
 * tries as one batch per trie (`applyTrieWrites`: each changed node encoded and hashed once) instead
 * of one `trie.put` per account and per slot, each re-hashing its whole path up to the root.
 * Same order and same rules as `MerkleStateManager.flush` (code, then storage, then accounts; a
 * storage write of an account that no longer exists is dropped; an empty value deletes the slot),
 * so the same state root: test/unit/runtime/trieBatch.test.ts checks it on random changes and
 * random blocks.
 */
export class BatchFlushStateManager extends MerkleStateManager {
  override async flush(): Promise<void> {
    const caches = this._caches;
    if (caches === undefined) return;
    for (const [addressHex, { code }] of caches.code?.flush() ?? []) {
      if (code === undefined) continue;
      const address = createAddressFromString(`0x${addressHex}`);
      const codeHash = keccak256(code);
      await this._getCodeDB().put(this._prefixCodeHashes ? concatBytes(CODEHASH_PREFIX, codeHash) : codeHash, code);
      if ((await this.getAccount(address)) === undefined) await this.putAccount(address, new Account());
      await this.modifyAccountFields(address, { codeHash });
    }

    const slotsByAccount = new Map<string, TrieWrite[]>();
    for (const [addressHex, keyHex, value] of caches.storage?.flush() ?? []) {
      const decoded = RLP.decode(value ?? new Uint8Array(0)) as Uint8Array;
      let writes = slotsByAccount.get(addressHex);
      if (writes === undefined) {
        writes = [];
        slotsByAccount.set(addressHex, writes);
      }
      // Storage tries hash their keys; a slot's value is stored RLP-encoded and deleted when empty.
      writes.push({
        key: keccak256(unprefixedHexToBytes(keyHex)),
        value: decoded.length > 0 ? RLP.encode(decoded) : null,
      });
    }
    for (const [addressHex, writes] of slotsByAccount) {
      const address = createAddressFromString(`0x${addressHex}`);
      const account = await this.getAccount(address);
      if (account === undefined) continue;
      const storageTrie = this._getStorageTrie(address, account);
      await applyTrieWrites(storageTrie, writes);
      account.storageRoot = storageTrie.root();
      await this.putAccount(address, account);
    }

    const accountWrites: TrieWrite[] = [];
    for (const [addressHex, elem] of caches.account?.flush() ?? []) {
      accountWrites.push({ key: keccak256(unprefixedHexToBytes(addressHex)), value: elem.accountRLP ?? null });
    }
    await applyTrieWrites(this._trie, accountWrites);
  }
}
