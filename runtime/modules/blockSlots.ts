import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { Address } from "@ethereumjs/util";
import { unprefixedHex } from "../primitives/bytes.js";

/**
 * Module storage as a module call reads and writes it: a word is its bytes without leading zeros
 * (empty for zero), as the state manager stores it.
 */
export interface SlotStore {
  get(account: Address, slot: Uint8Array): Promise<Uint8Array>;
  put(account: Address, slot: Uint8Array, value: Uint8Array): Promise<void>;
}

/** A word of module storage this block has read or written; `slot` is never changed by module code. */
interface Slot {
  account: Address;
  slot: Uint8Array;
  value: Uint8Array;
  dirty: boolean;
}

const slotKey = (accountHex: string, slot: Uint8Array): string => accountHex + unprefixedHex(slot);

/**
 * The storage words the executor's direct module path (runtime/moduleFastPath.ts) read and wrote
 * during one block, in front of the state manager. Each word reaches the state manager once per block
 * (`flush`) instead of once per write, and a call's writes stay its own until it succeeds
 * (`TxModuleSlots.commit`), so the direct path needs no state checkpoint per transaction: a profile
 * of LEARN transfers put a tenth of the main thread in the state manager's journaled storage cache
 * (hex keys, an ordered map per account, a pre-state copy per write and checkpoint level, a commit
 * merging each), which a LEARN sender's balance word paid on every transfer.
 *
 * The block must `flush` before anything else reads or writes module storage through the state
 * manager — any transaction on the VM (it may call a module's precompile), the end-block hooks, the
 * state root — and `discard` when the block is dropped. `flush` forgets the words too: a VM
 * transaction may change them.
 */
export class BlockModuleSlots {
  private readonly words = new Map<string, Slot>();
  /** Accounts a write was checked against (the state manager refuses storage of a missing account). */
  private readonly existing = new Set<string>();

  constructor(private readonly state: MerkleStateManager) {}

  /** The storage of one module call: its writes are the block's at `commit`, dropped otherwise. */
  forTx(): TxModuleSlots {
    return new TxModuleSlots(this);
  }

  /** Whether any word is kept (a flush has work to do). */
  get size(): number {
    return this.words.size;
  }

  /** Writes the block's changed words to the state manager (in any order: the root is the same) and forgets every word. */
  async flush(): Promise<void> {
    for (const w of this.words.values()) if (w.dirty) await this.state.putStorage(w.account, w.slot, w.value);
    this.discard();
  }

  discard(): void {
    this.words.clear();
    this.existing.clear();
  }

  /** @internal */
  async read(key: string, account: Address, slot: Uint8Array): Promise<Uint8Array> {
    const kept = this.words.get(key);
    if (kept !== undefined) return kept.value;
    const value = await this.state.getStorage(account, slot);
    this.words.set(key, { account, slot, value, dirty: false });
    return value;
  }

  /** @internal As the state manager's `putStorage`: a write to an account that does not exist throws. */
  async checkWritable(accountHex: string, account: Address): Promise<void> {
    if (this.existing.has(accountHex)) return;
    if ((await this.state.getAccount(account)) === undefined)
      throw new Error("putStorage() called on non-existing account");
    this.existing.add(accountHex);
  }

  /** @internal */
  keep(key: string, w: Slot): void {
    this.words.set(key, w);
  }
}

/** One module call's view of the block's module storage (`BlockModuleSlots.forTx`). */
export class TxModuleSlots implements SlotStore {
  private readonly writes = new Map<string, Slot>();

  constructor(private readonly block: BlockModuleSlots) {}

  get(account: Address, slot: Uint8Array): Promise<Uint8Array> {
    const key = slotKey(unprefixedHex(account.bytes), slot);
    const own = this.writes.get(key);
    if (own !== undefined) return Promise.resolve(own.value);
    return this.block.read(key, account, slot);
  }

  async put(account: Address, slot: Uint8Array, value: Uint8Array): Promise<void> {
    const accountHex = unprefixedHex(account.bytes);
    await this.block.checkWritable(accountHex, account);
    this.writes.set(slotKey(accountHex, slot), { account, slot, value, dirty: true });
  }

  /** The call succeeded: its writes become the block's. */
  commit(): void {
    for (const [key, w] of this.writes) this.block.keep(key, w);
  }
}
