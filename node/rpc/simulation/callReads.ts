/**
 * What an eth_call read of the state and the block, recorded on the simulation worker while it runs,
 * so the main thread can carry its answer to the next block when that block wrote none of it
 * (`node/rpc/callCache.ts`). Values are recorded, not only keys: a block rewrites accounts it does
 * not change (every call frame writes its target account back, value 0 or not), so "written" alone
 * would drop every cached call into a contract that received a transaction.
 */
import type { Block as EthBlock } from "@ethereumjs/block";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { Account, Address } from "@ethereumjs/util";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";

/** Marks a key the call wrote before reading it: matches no value, so any block write of the key drops the answer. */
export const UNKNOWN_VALUE = "?";

/**
 * A call's reads. `accounts`: address → `accountFingerprint` of the account as first read;
 * `slots`: `slotKey` → the slot's value as first read. `blockContext`: it read the block (NUMBER,
 * TIMESTAMP, COINBASE, BASEFEE, PREVRANDAO, GASLIMIT, BLOCKHASH, BLOBBASEFEE, a module's block reads
 * — anything of the header), so its answer belongs to one block.
 */
export interface CallReads {
  accounts: [string, string][];
  slots: [string, string][];
  blockContext: boolean;
}

/**
 * What of an account a call can observe: existence, nonce, balance, code. Not its storage root:
 * storage is recorded per slot (the only other reader of the root is EIP-7610's CREATE collision
 * check, on accounts with storage but no code and no nonce, which no transaction can make).
 */
export function accountFingerprint(a: Account | undefined): string {
  if (a === undefined) return "none";
  return `${a.nonce.toString(16)}:${a.balance.toString(16)}:${bytesToHex(a.codeHash)}`;
}

/**
 * An account's key in a call's reads and the head's write log: its lowercase 0x-hex, as `Address.toString()` spells
 * it, but from Node's hex encoder: ethereumjs builds that hex a `+=` per byte, a rope of ~15 strings (~450 heap
 * bytes) that every set keeping the key holds (issue 14: the write log held 6 MB of such ropes at the bench's peak).
 */
export function accountKey(address: Address): string {
  return bytesToHex(address.bytes);
}

/** Address (20 bytes) and slot (32) side by side: `slotKey` encodes them with one hex encoding. */
const slotKeyBytes = Buffer.alloc(52);

/**
 * A slot's key: the address's and the slot's bytes as one flat 104-character hex string (`slotOfKey` splits it) —
 * ~120 heap bytes, where `${address}|${slot}` from an `Address.toString()` was a rope of ~20 strings (~470 bytes).
 */
export function slotKey(address: Address, slot: Uint8Array): string {
  if (slot.length !== 32) throw new RangeError(`slotKey: a storage slot is 32 bytes, got ${slot.length}`);
  slotKeyBytes.set(address.bytes, 0);
  slotKeyBytes.set(slot, 20);
  return slotKeyBytes.toString("hex");
}

/** The address and slot a `slotKey` names. */
export function slotOfKey(key: string): { address: Uint8Array; slot: Uint8Array } {
  const bytes = Uint8Array.from(Buffer.from(key, "hex"));
  return { address: bytes.subarray(0, 20), slot: bytes.subarray(20) };
}

interface Recording {
  accounts: Map<string, string>;
  slots: Map<string, string>;
  /** Accounts and slots this call wrote: later reads see the call's own values, not the block's. */
  writtenAccounts: Set<string>;
  writtenSlots: Set<string>;
  clearedStorage: Set<string>;
  blockContext: boolean;
}

/**
 * Wraps the read and write methods of one state manager instance (the worker's; not the prototype)
 * and records into the current recording, if any. The EVM, its journal and the native modules all
 * read through this instance (`ModuleCall.load` → `evm.stateManager.getStorage`), so their reads are
 * seen alike.
 */
export class CallReadRecorder {
  private current: Recording | null = null;

  constructor(sm: MerkleStateManager) {
    const own = {
      getAccount: sm.getAccount,
      getStorage: sm.getStorage,
      getCode: sm.getCode,
      getCodeSize: sm.getCodeSize,
      putAccount: sm.putAccount,
      deleteAccount: sm.deleteAccount,
      putCode: sm.putCode,
      putStorage: sm.putStorage,
      clearStorage: sm.clearStorage,
    };
    const accountRead = async (address: Address, r: Recording) => {
      const key = accountKey(address);
      if (r.accounts.has(key) || r.writtenAccounts.has(key)) return;
      const account = await own.getAccount.call(sm, address);
      if (!r.accounts.has(key) && !r.writtenAccounts.has(key)) r.accounts.set(key, accountFingerprint(account));
    };
    const accountWritten = (address: Address) => {
      const r = this.current;
      if (r === null) return;
      const key = accountKey(address);
      if (!r.accounts.has(key)) r.accounts.set(key, UNKNOWN_VALUE);
      r.writtenAccounts.add(key);
    };
    sm.getAccount = async (address) => {
      const account = await own.getAccount.call(sm, address);
      const r = this.current;
      if (r !== null) {
        const key = accountKey(address);
        if (!r.accounts.has(key) && !r.writtenAccounts.has(key)) r.accounts.set(key, accountFingerprint(account));
      }
      return account;
    };
    sm.getCode = async (address) => {
      if (this.current !== null) await accountRead(address, this.current);
      return own.getCode.call(sm, address);
    };
    sm.getCodeSize = async (address) => {
      if (this.current !== null) await accountRead(address, this.current);
      return own.getCodeSize.call(sm, address);
    };
    sm.getStorage = async (address, slot) => {
      const value = await own.getStorage.call(sm, address, slot);
      const r = this.current;
      if (r !== null) {
        const a = accountKey(address);
        const key = slotKey(address, slot);
        if (!r.slots.has(key) && !r.writtenSlots.has(key) && !r.clearedStorage.has(a)) {
          r.slots.set(key, bytesToHex(value));
        }
      }
      return value;
    };
    sm.putAccount = (address, account) => {
      accountWritten(address);
      return own.putAccount.call(sm, address, account);
    };
    sm.deleteAccount = (address) => {
      accountWritten(address);
      this.current?.clearedStorage.add(accountKey(address));
      return own.deleteAccount.call(sm, address);
    };
    sm.putCode = (address, code) => {
      accountWritten(address);
      return own.putCode.call(sm, address, code);
    };
    sm.putStorage = (address, slot, value) => {
      const r = this.current;
      if (r !== null) {
        const key = slotKey(address, slot);
        if (!r.slots.has(key)) r.slots.set(key, UNKNOWN_VALUE);
        r.writtenSlots.add(key);
      }
      return own.putStorage.call(sm, address, slot, value);
    };
    sm.clearStorage = (address) => {
      this.current?.clearedStorage.add(accountKey(address));
      return own.clearStorage.call(sm, address);
    };
  }

  /** Records until `stop`. One call at a time: the worker runs one job at a time. */
  start(): void {
    this.current = {
      accounts: new Map(),
      slots: new Map(),
      writtenAccounts: new Set(),
      writtenSlots: new Set(),
      clearedStorage: new Set(),
      blockContext: false,
    };
  }

  stop(): CallReads | undefined {
    const r = this.current;
    this.current = null;
    if (r === null) return undefined;
    return { accounts: [...r.accounts], slots: [...r.slots], blockContext: r.blockContext };
  }

  /** The call read the block (BLOCKHASH goes through the block-hash lookup, not the header). */
  blockContextRead(): void {
    if (this.current !== null) this.current.blockContext = true;
  }

  /**
   * `block` whose header reports any read while recording: the interpreter's block opcodes and the
   * native modules (`ModuleCall.blockTimestamp` …) read `block.header`, and nothing else of it is read
   * for a plain call. Whatever does read it makes the answer per-block: conservative by construction.
   */
  watch(block: EthBlock): EthBlock {
    const header = new Proxy(block.header, {
      get: (target, prop) => {
        this.blockContextRead();
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const watched = Object.create(block) as EthBlock;
    Object.defineProperty(watched, "header", { value: header });
    return watched;
  }
}
