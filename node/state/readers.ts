import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import { LRU } from "../../runtime/lib/lru.js";
import { bytesToHex } from "../../runtime/primitives/bytes.js";
import { KECCAK256_EMPTY } from "../../runtime/primitives/hash.js";
import type { TrieNodeStore } from "../../runtime/state/trieNodeStore.js";
import { openWorldState, READER_STATE_OPTIONS } from "../../runtime/state/worldState.js";

export interface AccountView {
  nonce: bigint;
  balance: bigint;
  codeHash: Uint8Array;
  storageRoot: Uint8Array;
}

/**
 * Read-only view of the state at one committed root (balances, nonces, code, storage, proofs).
 * The state at a root never changes and nothing here writes, so views are cached and shared and
 * reads need no ordering. EVM simulations do not run here: they run on the simulation workers
 * (`node/rpc/simulation/`), off the thread that runs consensus.
 */
export class StateView {
  readonly stateRoot: Uint8Array;
  readonly stateManager: MerkleStateManager;

  constructor(stateRoot: Uint8Array, stateManager: MerkleStateManager) {
    this.stateRoot = stateRoot;
    this.stateManager = stateManager;
  }

  async getAccount(address: Uint8Array): Promise<AccountView> {
    const a = await this.stateManager.getAccount(new Address(address));
    if (a === undefined) return { nonce: 0n, balance: 0n, codeHash: KECCAK256_EMPTY, storageRoot: new Uint8Array(32) };
    return { nonce: a.nonce, balance: a.balance, codeHash: a.codeHash, storageRoot: a.storageRoot };
  }

  getCode(address: Uint8Array): Promise<Uint8Array> {
    return this.stateManager.getCode(new Address(address));
  }

  getStorage(address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    return this.stateManager.getStorage(new Address(address), slot);
  }

  /** Read-only access to the state manager (e.g. building a proof). */
  read<T>(fn: (stateManager: MerkleStateManager) => Promise<T>): Promise<T> {
    return fn(this.stateManager);
  }
}

/** Cache of state views by root (the head's and recent ones: MetaMask queries by explicit number). */
export class StateReaders {
  private readonly views = new LRU<string, Promise<StateView>>(16);

  constructor(
    private readonly common: Common,
    private readonly store: TrieNodeStore,
  ) {}

  at(stateRoot: Uint8Array): Promise<StateView> {
    const key = bytesToHex(stateRoot);
    let view = this.views.get(key);
    if (view === undefined) {
      view = this.open(stateRoot);
      this.views.set(key, view);
      view.catch(() => this.views.delete(key));
    }
    return view;
  }

  private async open(stateRoot: Uint8Array): Promise<StateView> {
    return new StateView(stateRoot, openWorldState(this.common, this.store, stateRoot, READER_STATE_OPTIONS));
  }
}
