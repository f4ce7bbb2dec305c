import type { Common } from "@ethereumjs/common";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { AccountCache, CODEHASH_PREFIX, MerkleStateManager } from "@ethereumjs/statemanager";
import {
  Account,
  type Address,
  concatBytes,
  createAccountFromRLP,
  createAddressFromString,
  EthereumJSErrorWithoutCode,
  unpadBytes,
  unprefixedHexToBytes,
  ValueEncoding,
} from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
import { encodeAccount } from "./accountRlp.js";
import { flatKeyCaches } from "./flatKeyCaches.js";
import { applyTrieWrites, TrieTops, type TrieWrite } from "./trieBatch.js";
import { type DecodedNodeCache, trieGet } from "./trieGet.js";
import { storeLastCheckpoint, type TrieNodeStore } from "./trieNodeStore.js";

export interface WorldStateOptions {
  /** LRU entries of the account/storage/code caches (0 disables them: fine for one-shot readers). */
  cacheEntries: number;
  /**
   * LRU entries of ethereumjs's raw node cache in front of the store. 0 for the head state too: the
   * store's own byte-bounded caches (raw and decoded) serve the same nodes, so a second cache only
   * kept nodes the store had evicted (200,000 entries of hex keys and node bytes).
   */
  trieCacheEntries: number;
}

export const HEAD_STATE_OPTIONS: WorldStateOptions = { cacheEntries: 200_000, trieCacheEntries: 0 };
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
      ? flatKeyCaches({
          account: { size: opts.cacheEntries },
          storage: { size: opts.cacheEntries },
          code: { size: Math.max(1000, opts.cacheEntries / 10) },
        })
      : undefined;
  return new BatchFlushStateManager({ common, trie, caches }, store.decodedNodes, opts.cacheEntries);
}

const EMPTY_RLP = Uint8Array.of(0x80);

// `putAccount` hands the account cache an object whose `serialize()` returns the RLP already written: the
// pinned ethereumjs's `AccountCache.put` stores exactly that. If it stops doing so, refuse to load.
if (!String(AccountCache.prototype.put).includes(": account.serialize()")) {
  throw new Error(
    "@ethereumjs/statemanager's AccountCache.put changed shape: BatchFlushStateManager.putAccount relies on it",
  );
}

/**
 * The account cache's entries decoded, by the entry's RLP array: ethereumjs's cache keeps an account
 * as its RLP (a fresh array per `put`, never written to afterwards), and every `getAccount` hit decoded
 * it again — an RLP list, four views and two BigInts through hex strings, ~15 % of what the dev node
 * allocated per value transfer (sampling heap profile under the bench; an account is read several
 * times per transaction: admission, execution, the RPC's nonce and balance). Weak, so an entry lives
 * as long as its RLP does in the cache or its journal.
 */
const decodedAccounts = new WeakMap<Uint8Array, Account>();

/**
 * A fresh `Account` for a cached RLP — callers mutate what `getAccount` returns (nonce, balance)
 * before `putAccount`, so the decoded one is a template that never escapes. Its hashes are shared:
 * an account's `storageRoot` and `codeHash` are replaced, never written in place.
 */
function accountOfCachedRLP(rlp: Uint8Array): Account {
  let decoded = decodedAccounts.get(rlp);
  if (decoded === undefined) {
    decoded = createAccountFromRLP(rlp);
    decodedAccounts.set(rlp, decoded);
  }
  return copyAccount(decoded);
}

/** The account as its RLP decodes: the four fields of the encoding (codeSize and version are not in it). */
function copyAccount(a: Account): Account {
  return new Account(a.nonce, a.balance, a.storageRoot, a.codeHash);
}

/**
 * Storage tries whose decoded top a state manager keeps between flushes (those of the accounts the
 * last blocks wrote: native collections, tokens). A large trie's top is at most 273 branches, each
 * ~2.5 KB decoded: ~0.7 MB, so ~22 MB if every one kept were that large; the bench writes ~20.
 */
const STORAGE_TOPS = 32;

/**
 * ethereumjs's state manager, whose reads and writes between flushes already go to flat account and
 * storage caches (keyed by address and address + slot, journaled with checkpoint/commit/revert), with
 * two changes. A cache miss reads the trie with `trieGet` (a plain loop down the key's path) instead
 * of ethereumjs's general trie walk. And `flush` — what `getStateRoot` runs once per block — writes the cached changes into the
 * tries as one batch per trie (`applyTrieWrites`: each changed node encoded and hashed once) instead
 * of one `trie.put` per account and per slot, each re-hashing its whole path up to the root.
 * Same order and same rules as `MerkleStateManager.flush` (code, then storage, then accounts; a
 * storage write of an account that no longer exists is dropped; an empty value deletes the slot),
 * so the same state root: test/unit/runtime/trieBatch.test.ts checks it on random changes and
 * random blocks.
 */
export class BatchFlushStateManager extends MerkleStateManager {
  private readonly nodes: DecodedNodeCache | undefined;
  /**
   * The decoded tops the last flushes wrote, of the account trie and of storage tries: apart, since
   * a kept top's nodes must be readable by the next trie on its root, and the account trie writes
   * into the block's checkpoint while storage tries write straight to the node store.
   */
  private readonly accountTop = new TrieTops(1);
  private readonly storageTops = new TrieTops(STORAGE_TOPS);

  /**
   * Entries the account and storage caches took in since they were last emptied (misses filled plus
   * writes flushed, so an upper bound). ethereumjs's default cache type, an ordered map, ignores its
   * `size` and never evicts: the head state's caches held every account and slot the node ever touched
   * (the memory soak's live heap grew ~80 MB per 10 min at 130 tx/s, `Account` and `TreeNode` by one
   * per new account). Its LRU type is no fix: it can drop a written entry before the block's flush.
   */
  private cacheFills = 0;

  constructor(
    opts: ConstructorParameters<typeof MerkleStateManager>[0],
    nodes?: DecodedNodeCache,
    /** Past this many fills the caches are emptied at the next commit to the base (nothing unflushed then). */
    private readonly cacheBound = Number.POSITIVE_INFINITY,
  ) {
    super(opts);
    this.nodes = nodes;
  }

  override async commit(): Promise<void> {
    storeLastCheckpoint(this._trie.database());
    await super.commit();
    if (this._checkpointCount === 0 && this.cacheFills > this.cacheBound) {
      this.clearCaches();
      this.cacheFills = 0;
    }
  }

  /** As `MerkleStateManager.getAccount`; a miss reads the trie with `trieGet` (keys are hashed). */
  override async getAccount(address: Address): Promise<Account | undefined> {
    const cached = this._caches?.account?.get(address);
    if (cached !== undefined)
      return cached.accountRLP !== undefined ? accountOfCachedRLP(cached.accountRLP) : undefined;
    const rlp = await trieGet(this._trie, keccak256(address.bytes), this.nodes);
    const account = rlp !== null ? createAccountFromRLP(rlp) : undefined;
    this._caches?.account?.put(address, account);
    this.cacheFills++;
    return account;
  }

  /**
   * As `MerkleStateManager.putAccount`, with the account's RLP written by `encodeAccount` (the cache
   * would call `account.serialize()`), and that RLP recorded as decoded (a copy of `account`'s fields,
   * which the caller may still change): the next read of an account just written — the sender's and
   * recipient's on their next transaction — skips the decoding too.
   */
  override async putAccount(address: Address, account: Account | undefined): Promise<void> {
    const cache = this._caches?.account;
    if (cache === undefined || account === undefined) return super.putAccount(address, account);
    const rlp = encodeAccount(account);
    cache.put(address, { serialize: () => rlp } as Account);
    decodedAccounts.set(rlp, copyAccount(account));
  }

  /** As `MerkleStateManager.getStorage`; a miss reads the storage trie with `trieGet`. */
  override async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    if (key.length !== 32) throw EthereumJSErrorWithoutCode("Storage key must be 32 bytes long");
    const cached = this._caches?.storage?.get(address, key);
    if (cached !== undefined) return RLP.decode(cached) as Uint8Array;
    const account = await this.getAccount(address);
    if (account === undefined) return new Uint8Array();
    const value = await trieGet(this._getStorageTrie(address, account), keccak256(key), this.nodes);
    // A slot read as absent is cached as RLP of the empty string, as ethereumjs does.
    this._caches?.storage?.put(address, key, value ?? EMPTY_RLP);
    this.cacheFills++;
    return RLP.decode(value ?? new Uint8Array(0)) as Uint8Array;
  }

  /**
   * As `MerkleStateManager.putStorage` with caches, minus its write-through: ethereumjs 10.1.3 ends
   * it with `this._caches?.storage?.put(…) ?? (await this._writeContractStorage(…))`, and since
   * `put` returns nothing, every SSTORE and module store also updates the storage trie (a path walk
   * and re-hash) and the account, then `flush` writes the same slot again. Here the value only goes
   * to the journaled cache, and the trie is written once, at `flush`. The account's `storageRoot`
   * is therefore that of the last flush until then; the only reader, EIP-7610's CREATE collision
   * check, needs an account with storage but neither code nor nonce, which no transaction can make.
   */
  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this._caches?.storage === undefined) return super.putStorage(address, key, value);
    if (key.length !== 32) throw EthereumJSErrorWithoutCode("Storage key must be 32 bytes long");
    if (value.length > 32) throw EthereumJSErrorWithoutCode("Storage value cannot be longer than 32 bytes");
    if ((await this.getAccount(address)) === undefined) {
      throw EthereumJSErrorWithoutCode("putStorage() called on non-existing account");
    }
    this._caches.storage.put(address, key, RLP.encode(unpadBytes(value)));
  }

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
      this.cacheFills++;
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
      await applyTrieWrites(storageTrie, writes, this.nodes, this.storageTops);
      account.storageRoot = storageTrie.root();
      await this.putAccount(address, account);
    }

    const accountWrites: TrieWrite[] = [];
    for (const [addressHex, elem] of caches.account?.flush() ?? []) {
      this.cacheFills++;
      accountWrites.push({ key: keccak256(unprefixedHexToBytes(addressHex)), value: elem.accountRLP ?? null });
    }
    await applyTrieWrites(this._trie, accountWrites, this.nodes, this.accountTop);
  }
}
