import { Hardfork } from "@ethereumjs/common";
import { EVMError } from "@ethereumjs/evm";
import { BIGINT_0, bigIntToBytes, bytesToBigInt, setLengthLeft } from "@ethereumjs/util";
import { assertPinnedSource } from "./pinnedSource.js";

/**
 * MSTORE's, SLOAD's, SSTORE's and LOG's handlers and SLOAD's and SSTORE's gas handlers of the pinned
 * @ethereumjs/evm, line for line, but for one thing: the 32-byte word (the stored value, the slot key, the topic)
 * is made from the stack's bigint in one pass over its hex digits, and SSTORE's value (its shortest bytes) and
 * the slot's current and original values (padded to 32 bytes, or empty when zero) without hex round trips. ethereumjs writes `setLengthLeft(bigIntToBytes(x), 32)`: a hex string, a prefix added and
 * validated by a regular expression, bytes parsed from it, then padded by spreading both arrays into a new one
 * — ~2.5 µs a word on this machine against ~0.2, and an OpenZeppelin ERC-20 transfer makes ~15 such words
 * (9 MSTOREs, its SLOADs twice: gas, then the load, the Transfer event's three topics).
 *
 * `stepLoop.ts` runs these in place of the originals (identified by identity in the EVM's opcode table, so a
 * custom opcode is left alone). The originals' sources are fingerprinted: if ethereumjs changes one, loading
 * fails here, loudly, instead of running a stale copy (the version is pinned exactly; update the port and the
 * hashes together).
 */
const PINNED_SOURCES_SHA256 = {
  mstore: "29edc93190b4e005fccbab2a60aaa94fe903c829eca4bbeaf4c228e781f326bb",
  sload: "f0aad8fd616a70240813743839d63f9801d0c2d4dc1d7eb4d99cfd6a8e2baa98",
  sloadGas: "bcc3d658b9e4417bbc647ee3519c9e268bed3350762c2a5a7033570a7d127b2d",
  log: "edb80da68f1ea91cc45785b4578cf1acdd54e4866615bc4fd0485a3479e61128",
  sstore: "707207ab1d17a82612fb83f774216b17068e1021d8049a228b6c42e65c7ad8ba",
  sstoreGas: "b51063daf05d5f11d3898cfe8ec7f8c4181cf5f5a662254d189525d886376c11",
  setLengthLeftStorage: "6fd107e2654d5865146875a298aff6298964e5d3ee8801ee804f94858f6303cf",
} as const;

/** What the ported handlers touch of ethereumjs's `RunState`. */
interface WordRunState {
  stack: { pop(): bigint; popN(n: number): bigint[]; push(v: bigint): void; peek(n?: number): bigint[] };
  memory: {
    write(offset: number, size: number, value: Uint8Array): void;
    read(offset: number, size: number): Uint8Array;
  };
  opCode: number;
  interpreter: {
    storageLoad(key: Uint8Array, original?: boolean, trackBAL?: boolean): Promise<Uint8Array>;
    storageStore(key: Uint8Array, value: Uint8Array): Promise<void>;
    getAddress(): { toString(): string };
    isStatic(): boolean;
    log(data: Uint8Array, numberOfTopics: number, topics: Uint8Array[]): void;
    chargeStateGas(amount: bigint, context: string): void;
    creditStateGasRefund(amount: bigint, context: string): void;
    _evm: {
      common: WordCommon;
      blockLevelAccessList?: { addStorageRead(address: string, key: Uint8Array): void };
      createdAccountStateGas: Map<string, bigint>;
    };
  };
  env: {
    accessWitness?: {
      readAccountStorage(address: unknown, key: bigint): bigint;
      writeAccountStorage(address: unknown, key: bigint): bigint;
    };
    block: { header: { gasLimit: bigint } };
  };
}
interface WordCommon {
  isActivatedEIP(eip: number): boolean;
  param(name: string): bigint;
  hardfork(): string;
  gteHardfork(hardfork: string): boolean;
}
type OpHandler = (runState: WordRunState, common?: WordCommon) => unknown;
type GasHandler = (runState: WordRunState, gas: bigint, common: WordCommon) => Promise<bigint>;

const entry = import.meta.resolve("@ethereumjs/evm");
const { handlers } = (await import(new URL("./opcodes/functions.js", entry).href)) as {
  handlers: Map<number, OpHandler>;
};
const { dynamicGasHandlers } = (await import(new URL("./opcodes/gas.js", entry).href)) as {
  dynamicGasHandlers: Map<number, GasHandler>;
};
const { accessStorageEIP2929 } = (await import(new URL("./opcodes/EIP2929.js", entry).href)) as {
  accessStorageEIP2929: (
    runState: WordRunState,
    key: Uint8Array,
    isSstore: boolean,
    common: WordCommon,
    chargeGas?: boolean,
  ) => bigint;
};

/** SSTORE's gas rules (EIP-1283, -2200, -8038), used as they are: they receive the words made here. */
type SstoreRule = (runState: WordRunState, ...args: unknown[]) => bigint;
const { chargeSstoreAccessEIP8038, updateSstoreGasEIP2200, updateSstoreGasEIP8038 } = (await import(
  new URL("./opcodes/EIP2200.js", entry).href
)) as Record<"chargeSstoreAccessEIP8038" | "updateSstoreGasEIP2200" | "updateSstoreGasEIP8038", SstoreRule>;
const { updateSstoreGasEIP1283 } = (await import(new URL("./opcodes/EIP1283.js", entry).href)) as {
  updateSstoreGasEIP1283: SstoreRule;
};
const { updateSstoreGas, trap, setLengthLeftStorage } = (await import(new URL("./opcodes/util.js", entry).href)) as {
  updateSstoreGas: SstoreRule;
  trap(err: string): never;
  setLengthLeftStorage(value: Uint8Array): Uint8Array;
};
const { activeCostPerStateByte } = (await import(new URL("./eip8037.js", entry).href)) as {
  activeCostPerStateByte(common: WordCommon, blockGasLimit?: bigint): bigint;
};
for (const fn of [
  accessStorageEIP2929,
  chargeSstoreAccessEIP8038,
  updateSstoreGasEIP2200,
  updateSstoreGasEIP8038,
  updateSstoreGasEIP1283,
  updateSstoreGas,
  trap,
  activeCostPerStateByte,
]) {
  if (typeof fn !== "function") {
    throw new Error("@ethereumjs/evm's SLOAD/SSTORE internals changed: runtime/evm/wordOps.ts must be updated");
  }
}

const MSTORE = 0x52;
const SLOAD = 0x54;
const SSTORE = 0x55;
const LOG0 = 0xa0;
const LOG4 = 0xa4;
export const ORIGINAL = {
  mstore: handlers.get(MSTORE),
  sload: handlers.get(SLOAD),
  sloadGas: dynamicGasHandlers.get(SLOAD),
  log: handlers.get(LOG0),
  sstore: handlers.get(SSTORE),
  sstoreGas: dynamicGasHandlers.get(SSTORE),
  setLengthLeftStorage,
};
for (const [name, pinned] of Object.entries(PINNED_SOURCES_SHA256)) {
  assertPinnedSource(`${name} handler`, ORIGINAL[name as keyof typeof ORIGINAL], pinned, "runtime/evm/wordOps.ts");
}

/** The value of each ASCII hex digit. */
const HEX_DIGIT = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX_DIGIT["0123456789abcdef".charCodeAt(i)] = i;
const WORD_LIMIT = 1n << 256n;

/**
 * `setLengthLeft(bigIntToBytes(x), 32)`: `x` as 32 big-endian bytes. Outside 0 ≤ x < 2²⁵⁶ (never on the EVM's
 * stack) it is that expression itself, which throws as ethereumjs does.
 */
export function word32(x: bigint): Uint8Array {
  if (x < BIGINT_0 || x >= WORD_LIMIT) return setLengthLeft(bigIntToBytes(x), 32);
  const hex = x.toString(16);
  const out = new Uint8Array(32);
  let i = hex.length;
  for (let j = 31; i > 0; j--) {
    const lo = HEX_DIGIT[hex.charCodeAt(--i)];
    out[j] = i > 0 ? (HEX_DIGIT[hex.charCodeAt(--i)] << 4) | lo : lo;
  }
  return out;
}

/** 0x52: MSTORE */
function mstore(runState: WordRunState): void {
  const [offset, word] = runState.stack.popN(2);
  const buf = word32(word);
  const offsetNum = Number(offset);
  runState.memory.write(offsetNum, 32, buf);
}

/** 0x54: SLOAD */
async function sload(runState: WordRunState): Promise<void> {
  const key = runState.stack.pop();
  const keyBuf = word32(key);
  const value = await runState.interpreter.storageLoad(keyBuf);
  const valueBigInt = value.length ? bytesToBigInt(value) : BIGINT_0;
  runState.stack.push(valueBigInt);
}

/** SLOAD's dynamic gas */
async function sloadGas(runState: WordRunState, gas: bigint, common: WordCommon): Promise<bigint> {
  const key = runState.stack.peek()[0];
  const keyBuf = word32(key);
  let charge2929Gas = true;
  if (common.isActivatedEIP(6800) || common.isActivatedEIP(7864)) {
    const address = runState.interpreter.getAddress();
    const coldAccessGas = (
      runState.env.accessWitness as NonNullable<WordRunState["env"]["accessWitness"]>
    ).readAccountStorage(address, key);
    gas += coldAccessGas;
    charge2929Gas = coldAccessGas === BIGINT_0;
  }
  if (common.isActivatedEIP(2929)) {
    gas += accessStorageEIP2929(runState, keyBuf, false, common, charge2929Gas);
  }
  return gas;
}

/**
 * `bigIntToBytes(x)` for 0 < x < 2²⁵⁶ (SSTORE's value: "the shortest representation"), a new array. Outside
 * that range (never on the EVM's stack) it is that expression itself.
 */
export function shortestBytes(x: bigint): Uint8Array {
  if (x <= BIGINT_0 || x >= WORD_LIMIT) return bigIntToBytes(x);
  const w = word32(x);
  let i = 0;
  while (w[i] === 0) i++;
  return w.slice(i);
}

/**
 * `setLengthLeftStorage(value)`: empty when `value` is all zeros, else `value` left-padded to 32 bytes (itself
 * when it has 32 already; longer throws, as ethereumjs's `setLengthLeft` does).
 */
export function storageWord(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  if (i === value.length) return new Uint8Array(0);
  if (value.length >= 32) return setLengthLeft(value, 32);
  const out = new Uint8Array(32);
  out.set(value, 32 - value.length);
  return out;
}

/** 0x55: SSTORE */
async function sstore(runState: WordRunState): Promise<void> {
  const [key, val] = runState.stack.popN(2);
  const keyBuf = word32(key);
  // NOTE: this should be the shortest representation
  let value: Uint8Array;
  if (val === BIGINT_0) {
    value = Uint8Array.from([]);
  } else {
    value = shortestBytes(val);
  }
  // EIP-8037: state-gas accounting at the end of SSTORE (per the spec
  // table). State-gas adjustments only happen when the slot was zero at
  // the start of the transaction:
  //   original=0, current=0, new!=0  -> charge stateBytesPerStorageSet * costPerStateByte
  //   original=0, current!=0, new=0  -> refill stateBytesPerStorageSet * costPerStateByte
  //   all other (original, current, new) triplets: no adjustment
  // NB: the regular-gas `sstoreSetGas` (2900 under 8037, was 20000) is
  // still charged in the dynamic gas function above; this only meters
  // the state-gas dimension.
  const common = runState.interpreter._evm.common;
  let originalIsZero = false;
  let currentIsZero = false;
  const newIsZero = val === BIGINT_0;
  if (common.isActivatedEIP(8037)) {
    const current = await runState.interpreter.storageLoad(keyBuf, false, false);
    const original = await runState.interpreter.storageLoad(keyBuf, true, false);
    currentIsZero = current.length === 0;
    originalIsZero = original.length === 0;
  }
  await runState.interpreter.storageStore(keyBuf, value);
  if (common.isActivatedEIP(8037) && originalIsZero) {
    const stateBytes = common.param("stateBytesPerStorageSet");
    const costPerStateByte = activeCostPerStateByte(common, runState.env.block.header.gasLimit);
    const amount = stateBytes * costPerStateByte;
    if (currentIsZero && !newIsZero) {
      // 0 -> 0 -> nonzero: new slot, charge state gas
      runState.interpreter.chargeStateGas(amount, "SSTORE");
      // Track per-address state-gas spent on storage so a same-tx
      // SELFDESTRUCT can refund it (account/code already tracked at CREATE).
      const addrKey = runState.interpreter.getAddress().toString();
      const evm = runState.interpreter._evm;
      const prior = evm.createdAccountStateGas.get(addrKey) ?? BIGINT_0;
      evm.createdAccountStateGas.set(addrKey, prior + amount);
    } else if (!currentIsZero && newIsZero) {
      // 0 -> nonzero -> 0: clearing a slot created in this tx, credit the
      // state-gas refund in LIFO order (gasLeft first up to the frame's
      // spilled amount, then the reservoir)
      runState.interpreter.creditStateGasRefund(amount, "SSTORE clear");
      // Symmetric: subtract from the per-address tracker so we don't
      // double-refund storage that was already cleared inside the tx.
      const addrKey = runState.interpreter.getAddress().toString();
      const evm = runState.interpreter._evm;
      const prior = evm.createdAccountStateGas.get(addrKey) ?? BIGINT_0;
      const next = prior > amount ? prior - amount : BIGINT_0;
      evm.createdAccountStateGas.set(addrKey, next);
    }
  }
}

/** SSTORE's dynamic gas */
async function sstoreGas(runState: WordRunState, gas: bigint, common: WordCommon): Promise<bigint> {
  if (runState.interpreter.isStatic()) {
    trap(EVMError.errorMessages.STATIC_STATE_CHANGE);
  }
  const [key, val] = runState.stack.peek(2);
  const keyBytes = word32(key);
  // NOTE: this should be the shortest representation
  let value: Uint8Array;
  if (val === BIGINT_0) {
    value = Uint8Array.from([]);
  } else {
    value = shortestBytes(val);
  }
  // Read current and original storage for gas calculation.
  // Pass trackBAL=false because we'll track the read manually below,
  // but ONLY after the access/stipend gate (EIP-7928 / EIP-8038).
  const loadSlot = async () => ({
    currentStorage: storageWord(await runState.interpreter.storageLoad(keyBytes, false, false)),
    originalStorage: storageWord(await runState.interpreter.storageLoad(keyBytes, true, false)),
  });
  let sstoreCharge2929Gas = true;
  if (common.isActivatedEIP(8038)) {
    // Access cost must be covered before the implicit read; gate is
    // max(cold access, EIP-2200 stipend + 1).
    gas += chargeSstoreAccessEIP8038(runState, keyBytes, common);
    const { currentStorage, originalStorage } = await loadSlot();
    gas += updateSstoreGasEIP8038(runState, currentStorage, originalStorage, storageWord(value), keyBytes, common);
    sstoreCharge2929Gas = false;
  } else {
    const { currentStorage, originalStorage } = await loadSlot();
    if (common.hardfork() === Hardfork.Constantinople) {
      gas += updateSstoreGasEIP1283(runState, currentStorage, originalStorage, storageWord(value), common);
    } else if (common.gteHardfork(Hardfork.Istanbul)) {
      if (!common.isActivatedEIP(6800) && !common.isActivatedEIP(7864)) {
        gas += updateSstoreGasEIP2200(runState, currentStorage, originalStorage, storageWord(value), keyBytes, common);
      }
    } else {
      gas += updateSstoreGas(runState, currentStorage, storageWord(value), common);
    }
  }
  // If we reach here, the access / EIP-2200 sentry check passed (didn't trap).
  // Per EIP-7928, now track the storage read for BAL. If the SSTORE
  // succeeds later, the write will remove this read (see addStorageWrite).
  // If SSTORE fails with OOG after the gate, the read remains in BAL.
  if (common.isActivatedEIP(7928)) {
    runState.interpreter._evm.blockLevelAccessList?.addStorageRead(
      runState.interpreter.getAddress().toString(),
      keyBytes,
    );
  }
  let charge2929Gas = sstoreCharge2929Gas;
  if (common.isActivatedEIP(6800) || common.isActivatedEIP(7864)) {
    const contract = runState.interpreter.getAddress();
    const coldAccessGas = (
      runState.env.accessWitness as NonNullable<WordRunState["env"]["accessWitness"]>
    ).writeAccountStorage(contract, key);
    gas += coldAccessGas;
    charge2929Gas = coldAccessGas === BIGINT_0;
  }
  if (common.isActivatedEIP(2929)) {
    // We have to do this after the Istanbul (EIP2200) checks.
    // Otherwise, we might run out of gas, due to "sentry check" of 2300 gas,
    // if we deduct extra gas first.
    gas += accessStorageEIP2929(runState, keyBytes, true, common, charge2929Gas);
  }
  return gas;
}

/** 0xa0: LOG (LOG0 to LOG4) */
function log(runState: WordRunState): void {
  const [memOffset, memLength] = runState.stack.popN(2);
  const topicsCount = runState.opCode - 0xa0;
  const topics = runState.stack.popN(topicsCount);
  const topicsBuf = topics.map(word32);
  let mem: Uint8Array = new Uint8Array(0);
  if (memLength !== BIGINT_0) {
    mem = runState.memory.read(Number(memOffset), Number(memLength));
  }
  runState.interpreter.log(mem, topicsCount, topicsBuf);
}

/** Whether `op` has a ported handler here (MSTORE, SLOAD, SSTORE, LOG0–LOG4). */
export function isWordOp(op: number): boolean {
  return op === MSTORE || op === SLOAD || op === SSTORE || (op >= LOG0 && op <= LOG4);
}

/** An opcode-table entry (`EVM._opcodeMap[op]`). */
export interface WordOpEntry {
  opHandler: unknown;
  gasHandler?: unknown;
}

const ported = new WeakMap<object, WordOpEntry>();

/**
 * The entry to step for `opEntry` of opcode `op`: a copy with the ported handlers for MSTORE, SLOAD, SSTORE and LOGn
 * when the table holds ethereumjs's own, else `opEntry` itself.
 */
export function withWordOps<E extends WordOpEntry>(op: number, opEntry: E): E {
  if (!isWordOp(op)) return opEntry;
  let copy = ported.get(opEntry);
  if (copy === undefined) {
    copy = { ...opEntry };
    if (op === MSTORE && opEntry.opHandler === ORIGINAL.mstore) copy.opHandler = mstore;
    if (op === SLOAD && opEntry.opHandler === ORIGINAL.sload) copy.opHandler = sload;
    if (op === SLOAD && opEntry.gasHandler === ORIGINAL.sloadGas) copy.gasHandler = sloadGas;
    if (op === SSTORE && opEntry.opHandler === ORIGINAL.sstore) copy.opHandler = sstore;
    if (op === SSTORE && opEntry.gasHandler === ORIGINAL.sstoreGas) copy.gasHandler = sstoreGas;
    if (op >= LOG0 && op <= LOG4 && opEntry.opHandler === ORIGINAL.log) copy.opHandler = log;
    ported.set(opEntry, copy);
  }
  return copy as E;
}
