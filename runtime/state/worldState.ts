import type { Common } from "@ethereumjs/common";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import { ValueEncoding } from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
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
  return new MerkleStateManager({ common, trie, caches });
}
