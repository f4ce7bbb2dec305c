// ethereumjs's account and storage caches key their maps by `bytesToUnprefixedHex`, which on Node 20
// (no `Uint8Array.prototype.toHex`) is noble's `hex += …` per byte: a rope of ~20 strings for an
// address and ~60 for a slot, built on every get and put — several per transaction, ~1–2.5 KB each
// (the largest allocation sites of a value transfer and a LEARN transfer after the trie). These
// subclasses key by Node's flat hex of the same bytes: the same strings, so `flush`, `checkpoint`,
// `commit` and `revert` (inherited, keyed by those strings) behave as before. Only the ordered-map
// type without DEBUG is taken over; the LRU type and DEBUG logging run ethereumjs's own code.
import { AccountCache, Caches, CacheType, StorageCache } from "@ethereumjs/statemanager";
import type { Account, Address } from "@ethereumjs/util";
import { unprefixedHex } from "../primitives/bytes.js";

type AccountElem = ReturnType<AccountCache["get"]>;
/** ethereumjs's `hexToBytes('0x80')`: a slot known to be empty. */
const EMPTY_SLOT = () => Uint8Array.of(0x80);

export class FlatKeyAccountCache extends AccountCache {
  override get(address: Address): AccountElem {
    const map = this._orderedMapCache;
    if (map === undefined || this.DEBUG) return super.get(address);
    const elem = map.getElementByKey(unprefixedHex(address.bytes));
    this._stats.reads += 1;
    if (elem) this._stats.hits += 1;
    return elem;
  }

  override put(address: Address, account: Account | undefined, couldBePartialAccount = false): void {
    const map = this._orderedMapCache;
    if (map === undefined || this.DEBUG) {
      super.put(address, account, couldBePartialAccount);
      return;
    }
    const key = unprefixedHex(address.bytes);
    this._saveCachePreState(key);
    const accountRLP =
      account === undefined
        ? undefined
        : couldBePartialAccount
          ? account.serializeWithPartialInfo()
          : account.serialize();
    map.setElement(key, { accountRLP });
    this._stats.writes += 1;
  }

  override del(address: Address): void {
    const map = this._orderedMapCache;
    if (map === undefined || this.DEBUG) {
      super.del(address);
      return;
    }
    const key = unprefixedHex(address.bytes);
    this._saveCachePreState(key);
    map.setElement(key, { accountRLP: undefined });
    this._stats.deletions += 1;
  }
}

export class FlatKeyStorageCache extends StorageCache {
  override get(address: Address, key: Uint8Array): Uint8Array | undefined {
    const map = this._orderedMapCache;
    if (map === undefined || this.DEBUG) return super.get(address, key);
    const slots = map.getElementByKey(unprefixedHex(address.bytes));
    this._stats.reads += 1;
    if (!slots) return undefined;
    this._stats.hits += 1;
    return slots.get(unprefixedHex(key));
  }

  override put(address: Address, key: Uint8Array, value: Uint8Array): void {
    if (this._orderedMapCache === undefined || this.DEBUG) {
      super.put(address, key, value);
      return;
    }
    this.setSlot(unprefixedHex(address.bytes), unprefixedHex(key), value);
    this._stats.writes += 1;
  }

  override del(address: Address, key: Uint8Array): void {
    if (this._orderedMapCache === undefined || this.DEBUG) {
      super.del(address, key);
      return;
    }
    this.setSlot(unprefixedHex(address.bytes), unprefixedHex(key), EMPTY_SLOT());
    this._stats.deletions += 1;
  }

  private setSlot(addressHex: string, keyHex: string, value: Uint8Array): void {
    const map = this._orderedMapCache as NonNullable<StorageCache["_orderedMapCache"]>;
    this._saveCachePreState(addressHex, keyHex);
    const slots = map.getElementByKey(addressHex) ?? new Map<string, Uint8Array>();
    slots.set(keyHex, value);
    map.setElement(addressHex, slots);
  }
}

/** `new Caches(opts)` with the account and storage caches above in place of ethereumjs's. */
export function flatKeyCaches(opts: ConstructorParameters<typeof Caches>[0]): Caches {
  const caches = new Caches(opts);
  const { account, storage } = caches.settings;
  if (caches.account !== undefined && account.type === CacheType.ORDERED_MAP) {
    caches.account = new FlatKeyAccountCache(account);
  }
  if (caches.storage !== undefined && storage.type === CacheType.ORDERED_MAP) {
    caches.storage = new FlatKeyStorageCache(storage);
  }
  return caches;
}
