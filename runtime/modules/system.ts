import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, type Address } from "@ethereumjs/util";
import { assert } from "../lib/assert.js";
import { uintWord, wordToBigInt } from "./abi.js";
import { storageSlot } from "./host.js";
import type { ModuleState } from "./state.js";

/**
 * A module's access to the state from a block hook (begin/end of block): no caller, no gas, writes
 * straight to the block's state (the whole block runs in one checkpoint, so an aborted block drops
 * them). Logs have no transaction to go into; they are kept in `logs` for whoever wants them.
 */
export class SystemCall implements ModuleState {
  readonly logs: [Uint8Array, Uint8Array[], Uint8Array][] = [];

  constructor(
    private readonly sm: MerkleStateManager,
    readonly self: Address,
    private readonly block: { number: bigint; timestamp: bigint },
  ) {}

  async load(slot: Uint8Array, account: Address = this.self): Promise<bigint> {
    const v = await this.sm.getStorage(account, slot);
    return v.length === 0 ? 0n : wordToBigInt(v);
  }

  async store(slot: Uint8Array, value: bigint, account: Address = this.self): Promise<void> {
    await this.sm.putStorage(account, slot, stripZeros(uintWord(value)));
  }

  async loadString(slot: Uint8Array, account: Address = this.self): Promise<string> {
    const len = Number(await this.load(slot, account));
    const words = Math.ceil(len / 32);
    const base = wordToBigInt(storageSlot(slot));
    const out = new Uint8Array(words * 32);
    for (let i = 0; i < words; i++) {
      const v = await this.sm.getStorage(account, uintWord((base + BigInt(i)) % 2n ** 256n));
      out.set(v, i * 32 + (32 - v.length));
    }
    return new TextDecoder().decode(out.subarray(0, len));
  }

  async storeString(slot: Uint8Array, value: string, account: Address = this.self): Promise<void> {
    const bytes = new TextEncoder().encode(value);
    await this.store(slot, BigInt(bytes.length), account);
    const base = wordToBigInt(storageSlot(slot));
    const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
    padded.set(bytes);
    for (let i = 0; i * 32 < padded.length; i++) {
      await this.sm.putStorage(
        account,
        uintWord((base + BigInt(i)) % 2n ** 256n),
        stripZeros(padded.subarray(i * 32, i * 32 + 32)),
      );
    }
  }

  async balanceOf(address: Address): Promise<bigint> {
    return (await this.sm.getAccount(address))?.balance ?? 0n;
  }

  async moveNative(from: Address, to: Address, amount: bigint): Promise<void> {
    if (amount === 0n) return;
    await this.adjustNative(from, -amount);
    await this.adjustNative(to, amount);
  }

  async adjustNative(address: Address, delta: bigint): Promise<void> {
    if (delta === 0n) return;
    const account = (await this.sm.getAccount(address)) ?? new Account();
    // Hooks move only what the module accounts for: a shortfall is a broken invariant.
    assert(account.balance + delta >= 0n, "a block hook overdrew an account");
    account.balance += delta;
    await this.sm.putAccount(address, account);
  }

  emit(topics: Uint8Array[], data: Uint8Array, address: Address = this.self): void {
    this.logs.push([address.bytes, topics, data]);
  }

  charge(_gas: bigint): void {}

  blockTimestamp(): bigint {
    return this.block.timestamp;
  }

  blockNumber(): bigint {
    return this.block.number;
  }
}

function stripZeros(w: Uint8Array): Uint8Array {
  let i = 0;
  while (i < w.length && w[i] === 0) i++;
  return w.subarray(i);
}
