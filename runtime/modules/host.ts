import { EVMError, type ExecResult, Message, type PrecompileFunc, type PrecompileInput } from "@ethereumjs/evm";
import { Account, Address } from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
import {
  AbiError,
  type AbiType,
  type AbiValue,
  concat,
  decodeArgs,
  encodeArgs,
  encodeErrorString,
  selector,
  selectorKey,
  uintWord,
  wordToBigInt,
} from "./abi.js";
import type { AzoraEVM } from "./evm.js";
import type { ModuleState } from "./state.js";
import { WORD_MODULUS } from "./words.js";

/** Thrown by module code to revert with ABI-encoded data (a custom error or `Error(string)`). */
export class Revert extends Error {
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    super("revert");
    this.data = data;
  }
}

export class OutOfGas extends Error {}

/**
 * Thrown by a `ModuleCall` run outside the EVM (the executor's direct path) when the module needs
 * what only an EVM frame has: a nested contract call, native AZR moved through the journal. The
 * direct path drops its checkpoint and runs the transaction through the VM instead.
 */
export class NeedsEVM extends Error {
  constructor(what: string) {
    super(`a native module call outside the EVM needs ${what}`);
  }
}

/** What a module call knows of its frame: the EVM's `Message`, or the executor's direct path. */
export interface CallFrame {
  to: Address;
  caller: Address;
  value: bigint;
  isStatic: boolean;
  depth: number;
}

/** The executing block's values a module may read (TIMESTAMP, NUMBER, PREVRANDAO). */
export interface CallBlock {
  timestamp: bigint;
  number: bigint;
  prevRandao: Uint8Array;
}

/** Reverts with a Solidity custom error: `error Name(types...)`. */
export function customError(signature: string, types: readonly AbiType[], values: readonly AbiValue[]): Revert {
  return new Revert(concat(selector(signature), encodeArgs(types, values)));
}

export function reason(message: string): Revert {
  return new Revert(encodeErrorString(message));
}

/** Biggest calldata a module accepts (bounds decoding work before any gas is known to be paid). */
export const MAX_CALLDATA_BYTES = 64 * 1024;

/** Gas of module operations beyond each function's base cost (documented in runtime/modules/README.md). */
export const GAS = {
  /** Reading one storage word. */
  sload: 2_100n,
  /** Writing one storage word (flat: native modules do not refund). */
  sstore: 5_000n,
  /** Per 32-byte word of string/bytes stored or returned. */
  word: 200n,
  /** Per log: base plus per topic plus per data byte, as the LOG opcodes. */
  log: 375n,
  logTopic: 375n,
  logByte: 8n,
} as const;

/** What module code sees of the call it is handling. Every effect goes through the EVM's journal. */
export class ModuleCall implements ModuleState {
  readonly self: Address;
  readonly caller: Address;
  readonly value: bigint;
  readonly isStatic: boolean;
  readonly depth: number;
  readonly evm: AzoraEVM;
  readonly logs: [Uint8Array, Uint8Array[], Uint8Array][] = [];
  private readonly gasLimit: bigint;
  /** Set when the call runs outside the EVM (no frame, no journal): the block it runs in. */
  private readonly outside: CallBlock | undefined;
  gasUsed = 0n;

  /**
   * Inside the EVM (a precompile run) `outside` is undefined and the block is the EVM's own. The
   * executor's direct path passes the block instead: then the call reads and writes state through
   * the state manager alone, and whatever needs an EVM frame throws `NeedsEVM`.
   */
  constructor(evm: AzoraEVM, frame: CallFrame, gasLimit: bigint, outside?: CallBlock) {
    this.evm = evm;
    this.self = frame.to;
    this.caller = frame.caller;
    this.value = frame.value;
    this.isStatic = frame.isStatic;
    this.depth = frame.depth;
    this.gasLimit = gasLimit;
    this.outside = outside;
  }

  /** Charges gas before the work it pays for; out of gas aborts the whole call. */
  charge(gas: bigint): void {
    this.gasUsed += gas;
    if (this.gasUsed > this.gasLimit) throw new OutOfGas();
  }

  gasLeft(): bigint {
    return this.gasLimit - this.gasUsed;
  }

  /**
   * The timestamp of the block being executed: the value the TIMESTAMP opcode reads. ethereumjs
   * passes precompiles no block context, so this reads the EVM's own protected `_block` (element
   * access keeps it typed), which `runCall`/`runTx` set for the whole transaction, nested frames
   * included; without a block (stand-alone runs) it is 0, as TIMESTAMP would read.
   */
  blockTimestamp(): bigint {
    if (this.outside !== undefined) return this.outside.timestamp;
    return this.evm["_block"]?.header.timestamp ?? 0n;
  }

  /**
   * PREVRANDAO of the block being executed (the parent block's hash on Azora: `ethBlockForEnv`), read
   * like `blockTimestamp`; 32 zero bytes without a block. Deterministic and known to the block's
   * proposer and to anyone who sends a transaction into it: a seed, not a secret.
   */
  prevRandao(): Uint8Array {
    if (this.outside !== undefined) return this.outside.prevRandao;
    return this.evm["_block"]?.header.prevRandao ?? new Uint8Array(32);
  }

  /** NUMBER of the block being executed (0 without a block), read like `blockTimestamp`. */
  blockNumber(): bigint {
    if (this.outside !== undefined) return this.outside.number;
    return this.evm["_block"]?.header.number ?? 0n;
  }

  requireWritable(): void {
    if (this.isStatic) throw reason("state change in a static call");
  }

  async load(slot: Uint8Array, account: Address = this.self): Promise<bigint> {
    this.charge(GAS.sload);
    const v = await this.evm.stateManager.getStorage(account, slot);
    return v.length === 0 ? 0n : wordToBigInt(v);
  }

  async store(slot: Uint8Array, value: bigint, account: Address = this.self): Promise<void> {
    this.requireWritable();
    this.charge(GAS.sstore);
    // Storage tries drop zero values, as SSTORE does; leading zero bytes are stripped like the EVM.
    const w = uintWord(value);
    let i = 0;
    while (i < 32 && w[i] === 0) i++;
    await this.evm.stateManager.putStorage(account, slot, w.subarray(i));
  }

  /** A string in storage: its byte length at `slot`, the bytes from keccak(slot) on (like Solidity). */
  async loadString(slot: Uint8Array, account: Address = this.self): Promise<string> {
    const len = await this.load(slot, account);
    return new TextDecoder().decode(await this.loadBytes(slot, Number(len), account));
  }

  async storeString(slot: Uint8Array, value: string, account: Address = this.self): Promise<void> {
    const bytes = new TextEncoder().encode(value);
    await this.store(slot, BigInt(bytes.length), account);
    await this.storeBytes(slot, bytes, account);
  }

  /**
   * `length` bytes stored from keccak(slot) on, 32 a word (a string's bytes without its length word,
   * for callers that keep the length elsewhere): 200 gas a word on top of nothing else.
   */
  async loadBytes(slot: Uint8Array, length: number, account: Address = this.self): Promise<Uint8Array> {
    const words = Math.ceil(length / 32);
    this.charge(GAS.word * BigInt(words));
    const base = wordToBigInt(keccakSlot(slot));
    const out = new Uint8Array(words * 32);
    for (let i = 0; i < words; i++) {
      const v = await this.evm.stateManager.getStorage(account, uintWord((base + BigInt(i)) % WORD_MODULUS));
      out.set(v, i * 32 + (32 - v.length));
    }
    return out.subarray(0, length);
  }

  /** `bytes` from keccak(slot) on, 32 a word, as `loadBytes` reads them: 5,000 + 200 gas a word. */
  async storeBytes(slot: Uint8Array, bytes: Uint8Array, account: Address = this.self): Promise<void> {
    this.requireWritable();
    const words = Math.ceil(bytes.length / 32);
    this.charge((GAS.sstore + GAS.word) * BigInt(words));
    const base = wordToBigInt(keccakSlot(slot));
    const padded = new Uint8Array(words * 32);
    padded.set(bytes);
    for (let i = 0; i < words; i++) {
      const w = padded.subarray(i * 32, i * 32 + 32);
      let z = 0;
      while (z < 32 && w[z] === 0) z++;
      await this.evm.stateManager.putStorage(account, uintWord((base + BigInt(i)) % WORD_MODULUS), w.subarray(z));
    }
  }

  async balanceOf(address: Address): Promise<bigint> {
    this.charge(GAS.sload);
    return (await this.evm.stateManager.getAccount(address))?.balance ?? 0n;
  }

  /** Moves native AZR between accounts through the journal (reverted with the call). */
  async moveNative(from: Address, to: Address, amount: bigint): Promise<void> {
    if (this.outside !== undefined) throw new NeedsEVM("the journal (native AZR moved)");
    this.requireWritable();
    this.charge(GAS.sstore * 2n);
    if (amount === 0n) return;
    const sm = this.evm.stateManager;
    const src = (await sm.getAccount(from)) ?? new Account();
    if (src.balance < amount) throw reason("insufficient native balance");
    src.balance -= amount;
    await this.evm.journal.putAccount(from, src);
    const dst = (await sm.getAccount(to)) ?? new Account();
    dst.balance += amount;
    await this.evm.journal.putAccount(to, dst);
  }

  /** Mints (delta > 0) or burns AZR of one account through the journal; the caller keeps the supply right. */
  async adjustNative(address: Address, delta: bigint): Promise<void> {
    if (this.outside !== undefined) throw new NeedsEVM("the journal (native AZR minted or burned)");
    this.requireWritable();
    this.charge(GAS.sstore);
    if (delta === 0n) return;
    const account = (await this.evm.stateManager.getAccount(address)) ?? new Account();
    if (account.balance + delta < 0n) throw reason("insufficient native balance");
    account.balance += delta;
    await this.evm.journal.putAccount(address, account);
  }

  emit(topics: Uint8Array[], data: Uint8Array, address: Address = this.self): void {
    this.requireWritable();
    this.charge(GAS.log + GAS.logTopic * BigInt(topics.length) + GAS.logByte * BigInt(data.length));
    this.logs.push([address.bytes, topics, data]);
  }

  async hasCode(address: Address): Promise<boolean> {
    this.charge(GAS.sload);
    return (await this.evm.stateManager.getCodeSize(address)) > 0;
  }

  /**
   * Calls a contract from this module (e.g. `onERC721Received`), as a nested EVM frame with the
   * module as `msg.sender`, forwarding at most 63/64 of the gas left (EIP-150).
   */
  async callContract(to: Address, data: Uint8Array): Promise<{ success: boolean; returnValue: Uint8Array }> {
    if (this.outside !== undefined) throw new NeedsEVM("a nested contract call");
    this.requireWritable();
    this.charge(2_600n);
    const gas = this.gasLeft() - this.gasLeft() / 64n;
    const message = new Message({
      caller: this.self,
      to,
      gasLimit: gas,
      value: 0n,
      data,
      depth: this.depth + 1,
      isStatic: false,
    });
    const r = await this.evm.runCall({ message });
    this.charge(r.execResult.executionGasUsed);
    if (r.execResult.exceptionError === undefined && r.execResult.logs !== undefined) {
      this.logs.push(...(r.execResult.logs as [Uint8Array, Uint8Array[], Uint8Array][]));
    }
    return { success: r.execResult.exceptionError === undefined, returnValue: r.execResult.returnValue };
  }
}

function keccakSlot(slot: Uint8Array): Uint8Array {
  return storageSlot(slot);
}

/** keccak256 of the concatenated 32-byte words: Solidity's mapping slot rule, generalised. */
export function storageSlot(...parts: (Uint8Array | bigint)[]): Uint8Array {
  return keccak256(concat(...parts.map((p) => (typeof p === "bigint" ? uintWord(p) : leftPad32(p)))));
}

function leftPad32(b: Uint8Array): Uint8Array {
  if (b.length === 32) return b;
  const w = new Uint8Array(32);
  w.set(b, 32 - b.length);
  return w;
}

/** A named slot for a module's scalar variables: keccak256("azora.<module>.<name>"). */
export function namedSlot(name: string): Uint8Array {
  return keccak256(new TextEncoder().encode(name));
}

export interface FunctionDef {
  /** Canonical Solidity signature, e.g. `transfer(address,uint256)`. */
  sig: string;
  inputs: readonly AbiType[];
  outputs: readonly AbiType[];
  /** Changes state: refused under STATICCALL. */
  mutates: boolean;
  /** Accepts AZR (msg.value); every other function refuses value. */
  payable?: boolean;
  /** Charged before decoding the arguments. */
  gas: bigint;
  run(call: ModuleCall, args: AbiValue[]): Promise<AbiValue[]> | AbiValue[];
}

/** Native modules and NFT collections: a name and an ABI-dispatched function table. */
export interface ModuleDef {
  name: string;
  functions: readonly FunctionDef[];
}

/** Gas every module call pays up front (as a CALL to a warm contract would, roughly). */
export const CALL_BASE_GAS = 700n;

function revertResult(gasUsed: bigint, data: Uint8Array): ExecResult {
  return { executionGasUsed: gasUsed, returnValue: data, exceptionError: new EVMError(EVMError.errorMessages.REVERT) };
}

/**
 * Turns a module into an ethereumjs precompile with the security rules every module shares:
 * - DELEGATECALL and CALLCODE into a module are refused (they would let a contract act as the
 *   module's caller: Moonbeam's 2022 precompile advisory);
 * - caller and value come from the EVM's own call frame, never from calldata;
 * - state changes under STATICCALL are refused;
 * - value is accepted only by payable functions;
 * - gas is charged before work; calldata size and dynamic arguments are capped;
 * - every write goes through the EVM journal, so a revert anywhere reverts module state too.
 */
export function toPrecompile(def: ModuleDef): PrecompileFunc {
  const table = functionTable(def);
  return async (input: PrecompileInput): Promise<ExecResult> => {
    const evm = input._EVM as AzoraEVM;
    const frame = evm.currentFrame;
    if (frame === undefined || frame.to === undefined)
      return revertResult(0n, encodeErrorString(`${def.name}: no call frame`));
    const call = new ModuleCall(evm, frame as CallFrame, input.gasLimit);
    const delegated = frame.delegatecall || !frame.to.equals(frame.codeAddress);
    return runModuleCall(def.name, table, call, input.data, input.gasLimit, delegated);
  };
}

/** A module's functions by selector. */
export type FunctionTable = ReadonlyMap<number, FunctionDef>;

export function functionTable(def: ModuleDef): FunctionTable {
  const table = new Map<number, FunctionDef>();
  for (const f of def.functions) table.set(selectorKey(selector(f.sig)), f);
  return table;
}

/**
 * One call into a module, with the rules every module shares (see `toPrecompile`): what the
 * precompile runs inside the EVM and what the executor's direct path runs outside it, so both give
 * the same gas, return data, logs and revert data. `NeedsEVM` (direct path only) propagates.
 */
export async function runModuleCall(
  name: string,
  table: FunctionTable,
  call: ModuleCall,
  data: Uint8Array,
  gasLimit: bigint,
  delegated: boolean,
): Promise<ExecResult> {
  try {
    call.charge(CALL_BASE_GAS);
    if (delegated) throw reason(`${name}: DELEGATECALL and CALLCODE into a native module are refused`);
    if (data.length > MAX_CALLDATA_BYTES) throw reason(`${name}: calldata too large`);
    const fn = table.get(selectorKey(data));
    if (fn === undefined) throw new Revert(new Uint8Array(0)); // like a contract without fallback
    if (call.value > 0n && fn.payable !== true) throw reason(`${name}: ${fn.sig.split("(")[0]} is not payable`);
    if (fn.mutates) call.requireWritable();
    call.charge(fn.gas);
    let args: AbiValue[];
    try {
      args = decodeArgs(fn.inputs, data.subarray(4));
    } catch (e) {
      if (e instanceof AbiError) throw new Revert(new Uint8Array(0)); // Solidity reverts without data too
      throw e;
    }
    const out = await fn.run(call, args);
    const returnValue = encodeArgs(fn.outputs, out);
    call.charge(GAS.word * BigInt(returnValue.length / 32));
    return { executionGasUsed: call.gasUsed, returnValue, logs: call.logs };
  } catch (e) {
    if (e instanceof Revert) return revertResult(call.gasUsed > gasLimit ? gasLimit : call.gasUsed, e.data);
    if (e instanceof OutOfGas) {
      return {
        executionGasUsed: gasLimit,
        returnValue: new Uint8Array(0),
        exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS),
      };
    }
    throw e; // NeedsEVM, or a bug: surface it instead of hiding it as a revert
  }
}

export { Address };
