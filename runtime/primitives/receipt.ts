import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { assert } from "../lib/assert.js";
import { equalsBytes } from "./bytes.js";
import { CodecError } from "./codecError.js";
import { keccak256 } from "./hash.js";
import {
  expectBytes,
  expectList,
  expectUint,
  pushRlpString,
  type RLPInput,
  rlpDecodeList,
  rlpList,
} from "./rlpCodec.js";

/** An EVM log as ethereumjs produces it: [address, topics, data]. */
export type Log = [address: Uint8Array, topics: Uint8Array[], data: Uint8Array];

/** What the node stores per transaction; everything an `eth_getTransactionReceipt` answer needs. */
export interface Receipt {
  type: number;
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  gasUsed: bigint;
  logs: Log[];
  /** Address created by a contract-creation transaction, else null. */
  contractAddress: Uint8Array | null;
  effectiveGasPrice: bigint;
  /** Recovered sender, kept so reads never need an ecrecover. */
  from: Uint8Array;
}

export const BLOOM_BYTES = 256;

/** A bloom input's three bit positions (0..2047): the low 11 bits of its keccak's first three byte pairs. */
type BloomBits = readonly [number, number, number];

function bloomBitsOf(value: Uint8Array): BloomBits {
  const h = keccak256(value);
  return [((h[0] << 8) | h[1]) & 2047, ((h[2] << 8) | h[3]) & 2047, ((h[4] << 8) | h[5]) & 2047];
}

/**
 * Bloom bits of inputs that recur in log after log, by the array that holds them (`recurringBloomInput`)
 * with a copy of their bytes: a native LEARN transfer's log is four inputs, two of which (LEARN's
 * address, the Transfer topic) are the same in every one, and each costs a keccak at seal otherwise.
 * The copy is compared before the bits are used (32 bytes against a keccak), so an array changed after
 * it was registered is hashed as any other input rather than trusted.
 */
const recurringBloomBits = new WeakMap<Uint8Array, { bytes: Uint8Array; bits: BloomBits }>();

/**
 * Registers `value` (a constant: a module's address, an event topic) as an input whose bloom bits are
 * computed once; returns it. Logs built from the same array then skip its keccak in `logsBloom`.
 */
export function recurringBloomInput<T extends Uint8Array>(value: T): T {
  recurringBloomBits.set(value, { bytes: value.slice(), bits: bloomBitsOf(value) });
  return value;
}

function bloomAdd(bloom: Uint8Array, value: Uint8Array): void {
  const known = recurringBloomBits.get(value);
  if (known !== undefined && equalsBytes(known.bytes, value)) {
    for (const bit of known.bits) setBloomBit(bloom, bit);
    return;
  }
  const h = keccak256(value);
  for (let i = 0; i < 6; i += 2) setBloomBit(bloom, ((h[i] << 8) | h[i + 1]) & 2047);
}

function setBloomBit(bloom: Uint8Array, bit: number): void {
  bloom[BLOOM_BYTES - 1 - (bit >> 3)] |= 1 << (bit & 7);
}

export function logsBloom(logs: Log[], into: Uint8Array = new Uint8Array(BLOOM_BYTES)): Uint8Array {
  for (const [address, topics] of logs) {
    bloomAdd(into, address);
    for (const t of topics) bloomAdd(into, t);
  }
  return into;
}

const NO_LOGS_BLOOM = new Uint8Array(BLOOM_BYTES);

/** Each receipt's bloom, once: sealing (its leaf and the header's union) and RPC formatting read the same bytes. */
const receiptBlooms = new WeakMap<Receipt, Uint8Array>();

/**
 * The logs bloom of `r`, computed on first use (a keccak per address and topic) and kept for the
 * receipt object's lifetime. A receipt never changes after execution, so neither does its bloom;
 * the returned bytes are shared: read them, never write them.
 */
export function receiptBloom(r: Receipt): Uint8Array {
  if (r.logs.length === 0) return NO_LOGS_BLOOM; // most receipts (value transfers): nothing to keep
  let bloom = receiptBlooms.get(r);
  if (bloom === undefined) {
    bloom = logsBloom(r.logs);
    receiptBlooms.set(r, bloom);
  }
  return bloom;
}

/**
 * Records the bloom the executor already has for `r` (ethereumjs's `runTx` builds one per
 * transaction from the same logs), so `receiptBloom` hashes nothing a second time. A test checks
 * the two agree on receipts with logs.
 */
export function rememberReceiptBloom(r: Receipt, bloom: Uint8Array): void {
  assert(bloom.length === BLOOM_BYTES, `a logs bloom has ${BLOOM_BYTES} bytes, got ${bloom.length}`);
  receiptBlooms.set(r, bloom);
}

/** True when `value` may be in the bloom (false positives possible, no false negatives). */
export function bloomMayContain(bloom: Uint8Array, value: Uint8Array): boolean {
  const h = keccak256(value);
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i] << 8) | h[i + 1]) & 2047;
    if ((bloom[BLOOM_BYTES - 1 - (bit >> 3)] & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** RLP of an empty list: the logs of most receipts (value transfers). */
const NO_LOGS_RLP = Uint8Array.of(0xc0);

/** Each receipt's logs encoded, by their array: sealing (the root's leaf) and persisting (storage) share it. */
const encodedLogs = new WeakMap<Log[], Uint8Array>();

/**
 * The RLP of `logs`, encoded on first use and kept for the array's lifetime: a receipt's logs never
 * change after execution (as its bloom), and both of its encodings embed the same list. The bytes
 * are shared: read them, never write them.
 */
function logsEncoding(logs: Log[]): Uint8Array {
  if (logs.length === 0) return NO_LOGS_RLP;
  let encoded = encodedLogs.get(logs);
  if (encoded === undefined) {
    encoded = encodeLogs(logs);
    encodedLogs.set(logs, encoded);
  }
  return encoded;
}

/** The RLP list of `logs` ([address, topics, data] each), written straight into its bytes. */
function encodeLogs(logs: Log[]): Uint8Array {
  const items: Uint8Array[] = [];
  for (const [address, topics, data] of logs) {
    const topicPieces: Uint8Array[] = [];
    for (const t of topics) pushRlpString(topicPieces, t);
    const fields: Uint8Array[] = [];
    pushRlpString(fields, address);
    fields.push(rlpList(topicPieces));
    pushRlpString(fields, data);
    items.push(rlpList(fields));
  }
  return rlpList(items);
}

const STATUS_OK = Uint8Array.of(1);
const EMPTY = new Uint8Array(0);

/** Ethereum's consensus encoding of a receipt (EIP-2718 typed envelope), the leaves of `receiptsRoot`. */
export function encodeReceiptForRoot(r: Receipt): Uint8Array {
  return encodeReceiptWithBloom(r, logsBloom(r.logs));
}

/** `encodeReceiptForRoot` with the receipt's logs bloom already computed (a keccak per address and topic). */
export function encodeReceiptWithBloom(r: Receipt, bloom: Uint8Array): Uint8Array {
  const pieces: Uint8Array[] = [];
  pushRlpString(pieces, r.status === 1 ? STATUS_OK : EMPTY);
  pushRlpString(pieces, bigIntToUnpaddedBytes(r.cumulativeGasUsed));
  pushRlpString(pieces, bloom);
  pieces.push(logsEncoding(r.logs));
  return r.type === 0 ? rlpList(pieces) : rlpList(pieces, r.type);
}

/** Storage encoding of all receipts of one block. */
export function encodeReceipts(receipts: Receipt[]): Uint8Array {
  const items: Uint8Array[] = [];
  for (const r of receipts) {
    const pieces: Uint8Array[] = [];
    pushRlpString(pieces, smallUint(r.type));
    pushRlpString(pieces, smallUint(r.status));
    pushRlpString(pieces, bigIntToUnpaddedBytes(r.cumulativeGasUsed));
    pushRlpString(pieces, bigIntToUnpaddedBytes(r.gasUsed));
    pieces.push(logsEncoding(r.logs));
    pushRlpString(pieces, r.contractAddress ?? EMPTY);
    pushRlpString(pieces, bigIntToUnpaddedBytes(r.effectiveGasPrice));
    pushRlpString(pieces, r.from);
    items.push(rlpList(pieces));
  }
  return rlpList(items);
}

/** The unpadded big-endian bytes of a small non-negative integer (a type or a status): none for 0. */
function smallUint(n: number): Uint8Array {
  return n === 0 ? EMPTY : n < 0x100 ? Uint8Array.of(n) : bigIntToUnpaddedBytes(BigInt(n));
}

function decodeLog(v: RLPInput, what: string): Log {
  const l = expectList(v, what);
  if (l.length !== 3) throw new CodecError(what, "expected 3 fields");
  return [
    expectBytes(l[0], `${what}.address`, 20),
    expectList(l[1], `${what}.topics`).map((t) => expectBytes(t, `${what}.topic`, 32)),
    expectBytes(l[2], `${what}.data`),
  ];
}

export function decodeReceipts(bytes: Uint8Array): Receipt[] {
  return rlpDecodeList(bytes, "receipts").map((item, i) => {
    const what = `receipts[${i}]`;
    const v = expectList(item, what);
    if (v.length !== 8) throw new CodecError(what, "expected 8 fields");
    const status = expectUint(v[1], `${what}.status`);
    if (status > 1n) throw new CodecError(what, "status must be 0 or 1");
    const contractAddress = expectBytes(v[5], `${what}.contractAddress`);
    return {
      type: Number(expectUint(v[0], `${what}.type`)),
      status: Number(status) as 0 | 1,
      cumulativeGasUsed: expectUint(v[2], `${what}.cumulativeGasUsed`),
      gasUsed: expectUint(v[3], `${what}.gasUsed`),
      logs: expectList(v[4], `${what}.logs`).map((l, j) => decodeLog(l, `${what}.logs[${j}]`)),
      contractAddress:
        contractAddress.length === 0 ? null : expectBytes(contractAddress, `${what}.contractAddress`, 20),
      effectiveGasPrice: expectUint(v[6], `${what}.effectiveGasPrice`),
      from: expectBytes(v[7], `${what}.from`, 20),
    };
  });
}
