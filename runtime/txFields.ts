import { RLP } from "@ethereumjs/rlp";
import { Capability, type TypedTransaction } from "@ethereumjs/tx";
import { Address, bytesToBigInt } from "@ethereumjs/util";

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

/**
 * The fields of a transaction's raw bytes (its EIP-2718 envelope) of type 0–2, read with one RLP
 * decode; undefined for other types. The bytes must be a transaction the node already decoded and
 * validated (the mempool's, a block's): nothing is checked here that decoding checked.
 */
export function fieldsOfRaw(raw: Uint8Array): TxFields | undefined {
  const type = raw[0] >= 0xc0 ? 0 : raw[0];
  if (type > 2) return undefined;
  const f = RLP.decode(type === 0 ? raw : raw.subarray(1)) as Uint8Array[];
  // Legacy: nonce, gasPrice, gasLimit, to, value, data, v, r, s. EIP-2930: chainId first and the
  // access list after data. EIP-1559: chainId, nonce, tip, fee cap, gasLimit, to, value, data, access list.
  const at = type === 0 ? 0 : 1;
  const feeMarket = type === 2;
  const gas = feeMarket ? at + 3 : at + 2;
  const to = f[gas + 1];
  return {
    type,
    nonce: bytesToBigInt(f[at]),
    gasLimit: bytesToBigInt(f[gas]),
    to: to.length === 0 ? undefined : new Address(to),
    value: bytesToBigInt(f[gas + 2]),
    data: f[gas + 3],
    accessListLength: type === 0 ? 0 : (f[gas + 4] as unknown as unknown[]).length,
    feeMarket,
    maxFeePerGas: bytesToBigInt(feeMarket ? f[at + 2] : f[at + 1]),
    maxPriorityFeePerGas: bytesToBigInt(f[at + 1]),
  };
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
