import { Capability, type TypedTransaction } from "@ethereumjs/tx";
import { Address } from "@ethereumjs/util";
import { unprefixedHex } from "./primitives/bytes.js";
import { CodecError } from "./primitives/codecError.js";
import { type RlpItem, rlpHeader } from "./primitives/rlpHeader.js";

/**
 * What block execution reads of a transaction outside the VM (the value-transfer and native-module
 * fast paths, fees and receipts): its signed fields, without ethereumjs's transaction object, whose construction
 * (field validation, a copy of `Common`) cost more than the fast path's own work.
 */
export interface TxFields {
  /** EIP-2718 type: 0 legacy, 1 EIP-2930, 2 EIP-1559, 4 EIP-7702 (from an ethereumjs object only). */
  readonly type: number;
  readonly nonce: bigint;
  readonly gasLimit: bigint;
  /** Undefined for a contract creation. */
  readonly to: Address | undefined;
  readonly value: bigint;
  readonly data: Uint8Array;
  /** Entries of the access list (0 for a legacy transaction). */
  readonly accessListLength: number;
  /** An EIP-1559 fee cap and tip: `maxFeePerGas` and `maxPriorityFeePerGas` apply. */
  readonly feeMarket: boolean;
  /** The fee cap; a legacy or EIP-2930 transaction's gas price. */
  readonly maxFeePerGas: bigint;
  /** The tip cap; a legacy or EIP-2930 transaction's gas price. */
  readonly maxPriorityFeePerGas: bigint;
}

/** The fields of an ethereumjs transaction. */
export function fieldsOfTx(tx: TypedTransaction): TxFields {
  const feeMarket = tx.supports(Capability.EIP1559FeeMarket);
  const t = tx as TypedTransaction & {
    gasPrice?: bigint;
    maxFeePerGas?: bigint;
    maxPriorityFeePerGas?: bigint;
    accessList?: unknown[];
  };
  const maxFeePerGas = (feeMarket ? t.maxFeePerGas : t.gasPrice) as bigint;
  return {
    type: tx.type,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    to: tx.to,
    value: tx.value,
    data: tx.data,
    accessListLength: tx.supports(Capability.EIP2930AccessLists) ? (t.accessList as unknown[]).length : 0,
    feeMarket,
    maxFeePerGas,
    maxPriorityFeePerGas: (feeMarket ? t.maxPriorityFeePerGas : t.gasPrice) as bigint,
  };
}

/** Item bounds of the raw reading, reused across calls (it is synchronous and keeps none of them). */
const starts = new Int32Array(12);
const ends = new Int32Array(12);

/**
 * The fields of a transaction's raw bytes (its EIP-2718 envelope) of type 0–2, read in place: the
 * items' bounds by walking the RLP headers, integers straight from the bytes, and only `data` and
 * `to` as views of `raw` — not a full RLP decode, whose per-item copies and hex-string BigInts were
 * the largest allocation of a value transfer's execution (~6 KB of ~70 KB per tx). Undefined for
 * other types. The bytes must be a transaction the node already decoded and validated (the
 * mempool's, a block's) and must not change afterwards: nothing is checked here that decoding checked.
 */
export function fieldsOfRaw(raw: Uint8Array): TxFields | undefined {
  const type = raw[0] >= 0xc0 ? 0 : raw[0];
  if (type > 2) return undefined;
  const outer = itemAt(raw, type === 0 ? 0 : 1, raw.length);
  let n = 0;
  for (let at = outer.start; at < outer.end && n < starts.length; n++) {
    const item = itemAt(raw, at, outer.end);
    starts[n] = item.start;
    ends[n] = item.end;
    at = item.end;
  }
  // Legacy: nonce, gasPrice, gasLimit, to, value, data, v, r, s. EIP-2930: chainId first and the
  // access list after data. EIP-1559: chainId, nonce, tip, fee cap, gasLimit, to, value, data, access list.
  const at = type === 0 ? 0 : 1;
  const feeMarket = type === 2;
  const gas = feeMarket ? at + 3 : at + 2;
  const to = gas + 1;
  return {
    type,
    nonce: uintAt(raw, at),
    gasLimit: uintAt(raw, gas),
    to: ends[to] === starts[to] ? undefined : new Address(raw.subarray(starts[to], ends[to])),
    value: uintAt(raw, gas + 2),
    data: raw.subarray(starts[gas + 3], ends[gas + 3]),
    accessListLength: type === 0 ? 0 : countItems(raw, starts[gas + 4], ends[gas + 4]),
    feeMarket,
    maxFeePerGas: uintAt(raw, feeMarket ? at + 2 : at + 1),
    maxPriorityFeePerGas: uintAt(raw, at + 1),
  };
}

/** Item `i` of the last walk as an unsigned big-endian integer (decoding checked it canonical). */
function uintAt(raw: Uint8Array, i: number): bigint {
  const start = starts[i];
  const end = ends[i];
  // Up to 6 bytes stay exact in a double: one BigInt, no hex string (nonces, gas, fees, small values).
  if (end - start <= 6) {
    let x = 0;
    for (let k = start; k < end; k++) x = x * 256 + raw[k];
    return BigInt(x);
  }
  return BigInt(`0x${unprefixedHex(raw.subarray(start, end))}`);
}

/** The number of items in a list's payload (an access list's entries). */
function countItems(raw: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let at = start; at < end; n++) at = itemAt(raw, at, end).end;
  return n;
}

/** An RLP header of bytes the caller promised were decoded before; a typed error if they were not. */
function itemAt(raw: Uint8Array, at: number, limit: number): RlpItem {
  const item = rlpHeader(raw, at, limit);
  if (item === undefined) throw new CodecError("transaction", "not canonical RLP (fields of undecoded bytes)");
  return item;
}

/** Effective gas price paid per unit (EIP-1559: min(fee cap, base fee + tip); legacy: the gas price). */
export function effectiveGasPrice(f: TxFields, baseFeePerGas: bigint): bigint {
  if (!f.feeMarket) return f.maxFeePerGas;
  const withTip = baseFeePerGas + f.maxPriorityFeePerGas;
  return withTip < f.maxFeePerGas ? withTip : f.maxFeePerGas;
}

/** Prague's base cost of a transaction, calldata gas per zero and non-zero byte, EIP-7623's floor per token. */
const TX_GAS = 21_000n;
const ZERO_BYTE_GAS = 4n;
const NONZERO_BYTE_GAS = 16n;
const FLOOR_GAS_PER_TOKEN = 10n;

/**
 * Intrinsic gas and EIP-7623 calldata floor of a call (not a creation) without access list or
 * authorizations, as ethereumjs's `getIntrinsicGas` and `getCalldataFloorGas` give them under the
 * chain's rules (test/unit/runtime/txFields.test.ts compares them on random calldata).
 */
export function callGas(data: Uint8Array): { intrinsic: bigint; floor: bigint } {
  let zeros = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
  const nonZeros = BigInt(data.length - zeros);
  return {
    intrinsic: TX_GAS + BigInt(zeros) * ZERO_BYTE_GAS + nonZeros * NONZERO_BYTE_GAS,
    floor: TX_GAS + (BigInt(zeros) + 4n * nonZeros) * FLOOR_GAS_PER_TOKEN,
  };
}
