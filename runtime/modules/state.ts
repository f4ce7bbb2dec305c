import type { Address } from "@ethereumjs/util";
import { uintWord } from "./abi.js";
import { uintToAddress, WORD_MODULUS } from "./words.js";

/**
 * What module code needs of the state, whoever runs it: a transaction's call (`ModuleCall`, gas
 * metered, writes through the EVM journal) or a block hook (`SystemCall`, unmetered, writes to the
 * block's state directly). Staking and governance are written against this, so the same rule
 * serves `undelegate` in a transaction and a slash in a block hook.
 */
export interface ModuleState {
  readonly self: Address;
  load(slot: Uint8Array, account?: Address): Promise<bigint>;
  store(slot: Uint8Array, value: bigint, account?: Address): Promise<void>;
  loadString(slot: Uint8Array, account?: Address): Promise<string>;
  storeString(slot: Uint8Array, value: string, account?: Address): Promise<void>;
  balanceOf(address: Address): Promise<bigint>;
  moveNative(from: Address, to: Address, amount: bigint): Promise<void>;
  /** Adds (delta > 0) or removes AZR from one account with no counterpart: callers keep the supply right. */
  adjustNative(address: Address, delta: bigint): Promise<void>;
  emit(topics: Uint8Array[], data: Uint8Array, address?: Address): void;
  charge(gas: bigint): void;
  blockTimestamp(): bigint;
  blockNumber(): bigint;
}

/** A run of storage words at `base + field` of the running module, each read at most once per use. */
export class Words {
  private readonly cache = new Map<number, bigint>();
  constructor(
    readonly s: ModuleState,
    private readonly base: bigint,
  ) {}

  slot(field: number): Uint8Array {
    return uintWord((this.base + BigInt(field)) % WORD_MODULUS);
  }

  async get(field: number): Promise<bigint> {
    let v = this.cache.get(field);
    if (v === undefined) {
      v = await this.s.load(this.slot(field));
      this.cache.set(field, v);
    }
    return v;
  }

  /** Skips a write that would not change the word. */
  async set(field: number, value: bigint): Promise<void> {
    if (this.cache.get(field) === value) return;
    await this.s.store(this.slot(field), value);
    this.cache.set(field, value);
  }

  getString(field: number): Promise<string> {
    return this.s.loadString(this.slot(field));
  }

  setString(field: number, value: string): Promise<void> {
    return this.s.storeString(this.slot(field), value);
  }
}

const M = (bits: bigint) => (1n << bits) - 1n;
export const bitsOf = (w: bigint, at: bigint, width: bigint): bigint => (w >> at) & M(width);
export const withBits = (w: bigint, at: bigint, width: bigint, v: bigint): bigint =>
  (w & ~(M(width) << at)) | ((v & M(width)) << at);
export const addressOfWord = (w: bigint): Uint8Array => uintToAddress(w);

/**
 * `s` with another module's account as the default for storage and logs: how one module runs
 * another's rules in-process (governance setting staking parameters, staking updating vote
 * weights) while every word lands in the owner's storage.
 */
export function atAccount(s: ModuleState, account: Address): ModuleState {
  return {
    self: account,
    load: (slot, a = account) => s.load(slot, a),
    store: (slot, v, a = account) => s.store(slot, v, a),
    loadString: (slot, a = account) => s.loadString(slot, a),
    storeString: (slot, v, a = account) => s.storeString(slot, v, a),
    balanceOf: (a) => s.balanceOf(a),
    moveNative: (f, t, v) => s.moveNative(f, t, v),
    adjustNative: (a, d) => s.adjustNative(a, d),
    emit: (topics, data, a = account) => s.emit(topics, data, a),
    charge: (g) => s.charge(g),
    blockTimestamp: () => s.blockTimestamp(),
    blockNumber: () => s.blockNumber(),
  };
}
