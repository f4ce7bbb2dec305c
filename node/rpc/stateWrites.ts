/**
 * The one hook the cross-block eth_call cache (`callCache.ts`) needs in the block pipeline: which
 * accounts and slots the head state was written at since the last look. Wraps the write methods of
 * the head state manager instance (not the prototype), as `runtime/executor.ts` does for its
 * account writes: blocks (VM, fast paths, native modules, end-block hooks) and dev cheats all write
 * through it. Reverted writes (an aborted proposal) stay recorded: a key recorded for nothing only
 * costs a value comparison.
 */
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { accountKey, slotKey } from "./simulation/callReads.js";

export interface StateWrites {
  accounts: Set<string>;
  slots: Set<string>;
  /** Accounts whose whole storage may have changed (cleared or deleted). */
  storageCleared: Set<string>;
  /** The state was moved to another root (`setStateRoot`: rewind, load): nothing is known. */
  all: boolean;
}

/**
 * Keys of one kind recorded at most between two looks (a node that serves no eth_call looks at none):
 * past it the log only says "everything", which empties the cache at the next look. A slot key is
 * ~150 heap bytes, and a set is held twice (the log, then the cache's previous writes): at 200,000
 * the dev node under the bench kept 13 MB of such keys live after its calls stopped (issue 14). A
 * 60M-gas block writes at most ~12,000 distinct slots (5,000 gas for a cold SSTORE), so a node that
 * answers calls at every block stays under this; more keys between two looks mean calls were rare
 * and the cache held little.
 */
export const MAX_WRITE_KEYS = 16_384;

function empty(): StateWrites {
  return { accounts: new Set(), slots: new Set(), storageCleared: new Set(), all: false };
}

export class StateWriteLog {
  private writes = empty();
  /** `flush` (the state root) writes back what putStorage/putCode recorded already: not a write of its own. */
  private flushing = 0;

  constructor(sm: MerkleStateManager) {
    const own = {
      putAccount: sm.putAccount,
      deleteAccount: sm.deleteAccount,
      putCode: sm.putCode,
      putStorage: sm.putStorage,
      clearStorage: sm.clearStorage,
      setStateRoot: sm.setStateRoot,
      flush: sm.flush,
    };
    sm.putAccount = (address, account) => {
      if (this.flushing === 0) this.note(this.writes.accounts, accountKey(address));
      return own.putAccount.call(sm, address, account);
    };
    sm.deleteAccount = (address) => {
      const a = accountKey(address);
      this.note(this.writes.accounts, a);
      this.note(this.writes.storageCleared, a);
      return own.deleteAccount.call(sm, address);
    };
    sm.putCode = (address, code) => {
      this.note(this.writes.accounts, accountKey(address));
      return own.putCode.call(sm, address, code);
    };
    sm.putStorage = (address, slot, value) => {
      this.note(this.writes.slots, slotKey(address, slot));
      return own.putStorage.call(sm, address, slot, value);
    };
    sm.clearStorage = (address) => {
      this.note(this.writes.storageCleared, accountKey(address));
      return own.clearStorage.call(sm, address);
    };
    sm.setStateRoot = (root, clearCache) => {
      this.overflow();
      return own.setStateRoot.call(sm, root, clearCache);
    };
    sm.flush = async () => {
      this.flushing++;
      try {
        await own.flush.call(sm);
      } finally {
        this.flushing--;
      }
    };
  }

  private note(set: Set<string>, key: string): void {
    if (this.writes.all) return;
    set.add(key);
    if (set.size > MAX_WRITE_KEYS) this.overflow();
  }

  private overflow(): void {
    this.writes = empty();
    this.writes.all = true;
  }

  /** The writes recorded since the last `take`. */
  take(): StateWrites {
    const w = this.writes;
    this.writes = empty();
    return w;
  }
}
