import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { type BlockHashLookup, createAzoraVM } from "../../runtime/evm/vm.js";
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
 * Read-only view of the state at one committed root, with its own VM for eth_call / estimateGas.
 * The state at a root never changes, so views are cached and shared; EVM runs on a view are
 * serialised (one journal per VM) and always reverted.
 */
export class StateView {
  readonly stateRoot: Uint8Array;
  readonly stateManager: MerkleStateManager;
  /** Built on the first simulation: most views (one per new head) only ever serve reads. */
  private vm: Promise<VM> | null = null;
  private readonly createVM: (sm: MerkleStateManager) => Promise<VM>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    stateRoot: Uint8Array,
    stateManager: MerkleStateManager,
    createVM: (sm: MerkleStateManager) => Promise<VM>,
  ) {
    this.stateRoot = stateRoot;
    this.stateManager = stateManager;
    this.createVM = createVM;
  }

  /**
   * Reads wait their turn behind simulations: a simulation's checkpoint holds its overrides and
   * writes in the shared caches until it reverts, and a read in between would see them.
   */
  getAccount(address: Uint8Array): Promise<AccountView> {
    return this.exclusive(async () => {
      const a = await this.stateManager.getAccount(new Address(address));
      if (a === undefined)
        return { nonce: 0n, balance: 0n, codeHash: KECCAK256_EMPTY, storageRoot: new Uint8Array(32) };
      return { nonce: a.nonce, balance: a.balance, codeHash: a.codeHash, storageRoot: a.storageRoot };
    });
  }

  getCode(address: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(() => this.stateManager.getCode(new Address(address)));
  }

  getStorage(address: Uint8Array, slot: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(() => this.stateManager.getStorage(new Address(address), slot));
  }

  /**
   * Runs `fn` alone on this view's VM inside a state checkpoint that is always reverted, so
   * simulations (eth_call, estimateGas, state overrides) never leave a trace in the shared view.
   */
  simulate<T>(fn: (vm: VM) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.vm ??= this.createVM(this.stateManager);
      const vm = await this.vm;
      await this.stateManager.checkpoint();
      try {
        return await fn(vm);
      } finally {
        await this.stateManager.revert();
      }
    });
  }

  /** Read-only access to the state manager, in turn with simulations (e.g. building a proof). */
  read<T>(fn: (stateManager: MerkleStateManager) => Promise<T>): Promise<T> {
    return this.exclusive(() => fn(this.stateManager));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Cache of state views by root (the head's and recent ones: MetaMask queries by explicit number). */
export class StateReaders {
  private readonly views = new LRU<string, Promise<StateView>>(16);

  constructor(
    private readonly common: Common,
    private readonly store: TrieNodeStore,
    private readonly hashes: BlockHashLookup,
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
    const sm = openWorldState(this.common, this.store, stateRoot, READER_STATE_OPTIONS);
    return new StateView(stateRoot, sm, (stateManager) => createAzoraVM(this.common, stateManager, this.hashes));
  }
}
