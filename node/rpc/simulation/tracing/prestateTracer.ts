/**
 * geth's `prestateTracer` (eth/tracers/native/prestate.go): every account and storage slot the
 * transaction touched, as it was before; with `diffMode`, `{pre, post}` for what it changed.
 * Touched is read or written through the state manager, so native modules' storage counts as the
 * EVM's does. The state manager is wrapped for the transaction's duration only.
 */
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { type Account, type Address, createAddressFromString, KECCAK256_NULL } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import type { PrestateTracerOptions } from "../../../../rpc/trace.js";
import type { FrameHooks } from "./frames.js";
import { type BoundedText, hex, quantity, word } from "./output.js";
import type { TxTracer } from "./tracer.js";

interface AccountState {
  exists: boolean;
  balance: bigint;
  nonce: bigint;
  code: Uint8Array;
  /** Slot (word) → value (word) before the transaction. */
  storage: Map<string, string>;
}

type Methods = Pick<
  MerkleStateManager,
  "getAccount" | "putAccount" | "deleteAccount" | "getStorage" | "putStorage" | "getCode"
>;

const ZERO_WORD = word(0n);
const EMPTY = new Uint8Array(0);

export class PrestateTracer implements TxTracer, FrameHooks {
  readonly wantsSteps = false;
  private readonly pre = new Map<string, AccountState>();
  private readonly createdAccounts = new Set<string>();
  private original: Methods | undefined;
  private post: Map<string, Partial<AccountState>> | undefined;

  constructor(
    private readonly cfg: PrestateTracerOptions,
    private readonly out: BoundedText,
  ) {}

  created(_depth: number, address: Uint8Array): void {
    this.createdAccounts.add(hex(address));
  }

  txStart(_t: unknown, vm: VM): void {
    const sm = vm.stateManager as MerkleStateManager;
    const o: Methods = {
      getAccount: sm.getAccount,
      putAccount: sm.putAccount,
      deleteAccount: sm.deleteAccount,
      getStorage: sm.getStorage,
      putStorage: sm.putStorage,
      // As it is now: the EIP-3607 lift for a contract sender (runTraced) is installed after this
      // and disguises one code read, which must be runTx's check, not this tracer's.
      getCode: sm.getCode,
    };
    this.original = o;
    const seeAccount = async (address: Address, account?: Account | undefined, read = true) => {
      const key = hex(address.bytes);
      if (this.pre.has(key)) return;
      // Recorded before anything is awaited: reading the code reads the account again (through here).
      const state: AccountState = { exists: true, balance: 0n, nonce: 0n, code: EMPTY, storage: new Map() };
      this.pre.set(key, state);
      const a = read ? await o.getAccount.call(sm, address) : account;
      state.exists = a !== undefined;
      state.balance = a?.balance ?? 0n;
      state.nonce = a?.nonce ?? 0n;
      if (a !== undefined && !equal(a.codeHash, KECCAK256_NULL)) state.code = await o.getCode.call(sm, address);
      this.out.charge(200 + 2 * state.code.length);
    };
    const seeSlot = async (address: Address, slot: Uint8Array, value?: Uint8Array) => {
      await seeAccount(address);
      const state = this.pre.get(hex(address.bytes)) as AccountState;
      const k = word(slot);
      if (state.storage.has(k)) return;
      const v = value ?? (await o.getStorage.call(sm, address, slot));
      if (state.storage.has(k)) return;
      this.out.charge(140);
      state.storage.set(k, word(v));
    };
    sm.getAccount = async (address: Address) => {
      const a = await o.getAccount.call(sm, address);
      await seeAccount(address, a, false);
      return a;
    };
    sm.putAccount = async (address: Address, account?: Account) => {
      await seeAccount(address);
      return o.putAccount.call(sm, address, account);
    };
    sm.deleteAccount = async (address: Address) => {
      await seeAccount(address);
      return o.deleteAccount.call(sm, address);
    };
    sm.getStorage = async (address: Address, slot: Uint8Array) => {
      const v = await o.getStorage.call(sm, address, slot);
      await seeSlot(address, slot, v);
      return v;
    };
    sm.putStorage = async (address: Address, slot: Uint8Array, value: Uint8Array) => {
      await seeSlot(address, slot);
      return o.putStorage.call(sm, address, slot, value);
    };
  }

  async txEnd(_t: unknown, vm: VM): Promise<void> {
    const sm = vm.stateManager as MerkleStateManager;
    const o = this.original;
    if (o !== undefined) {
      // Own properties removed: the prototype's methods show through again.
      for (const k of ["getAccount", "putAccount", "deleteAccount", "getStorage", "putStorage"] as const) {
        delete (sm as unknown as Record<string, unknown>)[k];
      }
    }
    // Contracts created by the transaction had no state before it.
    for (const a of this.createdAccounts) if (this.pre.get(a)?.exists === false) this.pre.delete(a);
    if (!this.cfg.diffMode) return;
    const post = new Map<string, Partial<AccountState>>();
    for (const [key, before] of this.pre) {
      const address = createAddressFromString(key);
      const after = await sm.getAccount(address);
      const changed: Partial<AccountState> = {};
      let modified = false;
      if ((after?.balance ?? 0n) !== before.balance) {
        changed.balance = after?.balance ?? 0n;
        modified = true;
      }
      if ((after?.nonce ?? 0n) !== before.nonce) {
        changed.nonce = after?.nonce ?? 0n;
        modified = true;
      }
      const code = after === undefined ? EMPTY : await sm.getCode(address);
      if (!equal(code, before.code)) {
        changed.code = code;
        modified = true;
      }
      const slots = new Map<string, string>();
      for (const [slot, value] of [...before.storage]) {
        const now = word(await sm.getStorage(address, hexToSlot(slot)));
        if (now === value) before.storage.delete(slot);
        else {
          modified = true;
          if (value === ZERO_WORD) before.storage.delete(slot);
          if (now !== ZERO_WORD) slots.set(slot, now);
        }
      }
      if (slots.size > 0) changed.storage = slots;
      if (modified) post.set(key, changed);
      else this.pre.delete(key);
    }
    // diffMode's pre shows only accounts that existed.
    for (const [key, s] of this.pre) if (!s.exists) this.pre.delete(key);
    this.post = post;
  }

  write(): void {
    if (this.post === undefined) {
      this.out.push(this.accounts(this.pre));
      return;
    }
    this.out.push(`{"post":${this.accounts(this.post)},"pre":${this.accounts(this.pre)}}`);
  }

  /** geth's `account` JSON: balance, code, nonce (a number), storage; empty ones omitted. */
  private accounts(m: Map<string, Partial<AccountState>>): string {
    const entries: string[] = [];
    for (const [key, a] of m) {
      const f: string[] = [];
      if (a.balance !== undefined) f.push(`"balance":"${quantity(a.balance)}"`);
      if (!this.cfg.disableCode && a.code !== undefined && a.code.length > 0) f.push(`"code":"${hex(a.code)}"`);
      if (a.nonce !== undefined && a.nonce > 0n) f.push(`"nonce":${a.nonce}`);
      if (!this.cfg.disableStorage && a.storage !== undefined && a.storage.size > 0) {
        f.push(`"storage":{${[...a.storage].map(([k, v]) => `"${k}":"${v}"`).join(",")}}`);
      }
      entries.push(`"${key}":{${f.join(",")}}`);
    }
    return `{${entries.join(",")}}`;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexToSlot(w: string): Uint8Array {
  return Uint8Array.from(Buffer.from(w.slice(2), "hex"));
}
