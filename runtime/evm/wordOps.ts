import { BIGINT_0, bigIntToBytes, bytesToBigInt, setLengthLeft } from "@ethereumjs/util";
import { assertPinnedSource } from "./pinnedSource.js";

/**
 * MSTORE's, SLOAD's and LOG's handlers and SLOAD's gas handler of the pinned @ethereumjs/evm, line for line,
 * but for one thing: the 32-byte word (the stored value, the slot key, the topic) is made from the stack's bigint
 * in one pass over its hex digits. ethereumjs writes `setLengthLeft(bigIntToBytes(x), 32)`: a hex string, a prefix added and
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
    storageLoad(key: Uint8Array): Promise<Uint8Array>;
    getAddress(): unknown;
    log(data: Uint8Array, numberOfTopics: number, topics: Uint8Array[]): void;
  };
  env: { accessWitness?: { readAccountStorage(address: unknown, key: bigint): bigint } };
}
interface WordCommon {
  isActivatedEIP(eip: number): boolean;
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

const MSTORE = 0x52;
const SLOAD = 0x54;
const LOG0 = 0xa0;
const LOG4 = 0xa4;
export const ORIGINAL = {
  mstore: handlers.get(MSTORE),
  sload: handlers.get(SLOAD),
  sloadGas: dynamicGasHandlers.get(SLOAD),
  log: handlers.get(LOG0),
};
for (const [name, pinned] of Object.entries(PINNED_SOURCES_SHA256)) {
  assertPinnedSource(`${name} handler`, ORIGINAL[name as keyof typeof ORIGINAL], pinned, "runtime/evm/wordOps.ts");
}
if (typeof accessStorageEIP2929 !== "function") {
  throw new Error("@ethereumjs/evm's accessStorageEIP2929 changed: runtime/evm/wordOps.ts must be updated");
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

/** Whether `op` has a ported handler here (MSTORE, SLOAD, LOG0–LOG4). */
export function isWordOp(op: number): boolean {
  return op === MSTORE || op === SLOAD || (op >= LOG0 && op <= LOG4);
}

/** An opcode-table entry (`EVM._opcodeMap[op]`). */
export interface WordOpEntry {
  opHandler: unknown;
  gasHandler?: unknown;
}

const ported = new WeakMap<object, WordOpEntry>();

/**
 * The entry to step for `opEntry` of opcode `op`: a copy with the ported handlers for MSTORE, SLOAD and LOGn
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
    if (op >= LOG0 && op <= LOG4 && opEntry.opHandler === ORIGINAL.log) copy.opHandler = log;
    ported.set(opEntry, copy);
  }
  return copy as E;
}
