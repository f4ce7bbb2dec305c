import type { Common } from "@ethereumjs/common";
import { RLP } from "@ethereumjs/rlp";
import {
  type AccessListBytes,
  Capability,
  create1559FeeMarketTxFromBytesArray,
  createAccessList2930TxFromBytesArray,
  createEOACode7702TxFromBytesArray,
  createLegacyTxFromBytesArray,
  createTxFromRLP,
  isLegacyTx,
  TransactionType,
  type TypedTransaction,
} from "@ethereumjs/tx";
import {
  Address,
  bigIntToUnpaddedBytes,
  bytesToBigInt,
  bytesToHex,
  concatBytes,
  ecrecover,
  publicToAddress,
  SECP256K1_ORDER,
  SECP256K1_ORDER_DIV_2,
} from "@ethereumjs/util";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { assert } from "../../runtime/lib/assert.js";
import { MempoolError, MempoolErrorCode } from "./errors.js";
import { type FastDecodedTx, tryFastDecode } from "./fastDecode.js";
import type { PooledTx } from "./types.js";

export interface DecodeContext {
  common: Common;
  chainId: bigint;
  /** geth's txMaxSize is 128 KiB (`DEFAULT_MAX_TX_BYTES`). */
  maxTxBytes: number;
  /** Stamps `receivedAt` (decode time); the pool keeps its own admission time per entry. */
  clock?: () => number;
  /** Adds the time of decoding and of sender recovery to the node's per-stage figures. */
  stages?: {
    sampleTx(site: string): boolean;
    now(): number;
    addSampled(stage: "decode" | "recover", ms: number): void;
  };
}

/** Legacy, EIP-2930, EIP-1559 and EIP-7702 set-code. Blob txs (3) are not carried: Azora has no blobs. */
export type SupportedType = 0 | 1 | 2 | 4;

/** Signed field counts: a shorter list is geth's "rlp: too few elements". */
const FIELD_COUNT: Record<SupportedType, number> = { 0: 9, 1: 11, 2: 12, 4: 13 };
/** Index of the first signature field (v / yParity); r and s follow it. */
const SIGNATURE_AT: Record<SupportedType, number> = { 0: 6, 1: 8, 2: 9, 4: 10 };
/** Fields that are RLP lists rather than byte strings: the access list, and a set-code tx's authorizations. */
const LIST_FIELDS: Record<SupportedType, readonly number[]> = { 0: [], 1: [7], 2: [8], 4: [8, 9] };

/** Error text from ethereumjs can embed tx fields; keep what we echo to RPC callers short. */
const MAX_REASON_CHARS = 200;

/**
 * Decode and statelessly validate raw transaction bytes from RPC or gossip.
 *
 * Checks run in this order (first failure wins): size, type, RLP/field decoding, EIP-155 replay
 * protection, chain id, signature, intrinsic gas (and the EIP-7623 calldata floor), tip above fee
 * cap. Messages are geth's. The common case (`tryFastDecode`) is one pass over the RLP, two keccaks
 * and one native ecrecover, with the ethereumjs object built only when something uses it; whatever
 * that path does not accept is decoded by ethereumjs, and only a rejected tx pays for
 * `diagnoseUndecodable`, which finds the first failing check in the order above.
 */
export function decodeRawTransaction(raw: Uint8Array, ctx: DecodeContext): PooledTx {
  assert(ctx.common.chainId() === ctx.chainId, "decode context: common and chainId disagree");
  if (raw.length > ctx.maxTxBytes) {
    throw new MempoolError({ code: MempoolErrorCode.OVERSIZED_DATA, size: raw.length, maxSize: ctx.maxTxBytes });
  }
  const stages = ctx.stages?.sampleTx("decode") === true ? ctx.stages : undefined;
  const t0 = stages === undefined ? 0 : stages.now();
  const type = envelopeType(raw);

  const fast = tryFastDecode(raw, ctx.chainId, stages === undefined ? undefined : () => stages.now());
  if (fast !== undefined) {
    if (stages !== undefined) {
      stages.addSampled("decode", stages.now() - t0 - fast.recoverMs);
      stages.addSampled("recover", fast.recoverMs);
    }
    return pooledFromFast(fast, raw, ctx);
  }
  return decodeWithEthereumjs(raw, type, ctx, stages, t0);
}

/**
 * The reference path: ethereumjs decodes and validates, then recovers the sender. Exported for the
 * differential test of `tryFastDecode`; callers use `decodeRawTransaction`.
 */
export function decodeWithEthereumjs(
  raw: Uint8Array,
  type: SupportedType,
  ctx: DecodeContext,
  stages?: DecodeContext["stages"],
  t0 = 0,
): PooledTx {
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(raw, { common: ctx.common });
  } catch (err) {
    return diagnoseUndecodable(raw, type, ctx, err);
  }
  // ethereumjs accepts unsigned txs (shorter field lists) that geth's decoder refuses.
  if (!tx.isSigned()) return diagnoseUndecodable(raw, type, ctx, undefined);
  if (isLegacyTx(tx) && !tx.supports(Capability.EIP155ReplayProtection)) {
    throw new MempoolError({ code: MempoolErrorCode.UNPROTECTED_TX });
  }

  const t1 = stages === undefined ? 0 : stages.now();
  let sender: string;
  try {
    sender = tx.getSenderAddress().toString().toLowerCase();
  } catch {
    throw new MempoolError({ code: MempoolErrorCode.INVALID_SENDER });
  }
  const t2 = stages === undefined ? 0 : stages.now();
  validateGas(tx);

  const { maxFeePerGas, maxPriorityFeePerGas } = feeFields(tx);
  const hash = bytesToHex(tx.hash()).toLowerCase();
  if (stages !== undefined) {
    stages.addSampled("decode", t1 - t0 + stages.now() - t2);
    stages.addSampled("recover", t2 - t1);
  }
  return {
    tx,
    raw,
    hash,
    sender,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    maxFeePerGas,
    maxPriorityFeePerGas,
    value: tx.value,
    cost: tx.gasLimit * maxFeePerGas + tx.value,
    size: raw.length,
    type,
    receivedAt: (ctx.clock ?? Date.now)(),
  };
}

/**
 * A pooled tx from the fast decode. Its ethereumjs object is built on first use (block execution,
 * RPC reads), with the hash and the recovered sender installed so it never recomputes them.
 */
function pooledFromFast(fast: FastDecodedTx, raw: Uint8Array, ctx: DecodeContext): PooledTx {
  let tx: TypedTransaction | undefined;
  const { common } = ctx;
  return {
    raw,
    hash: toHex(fast.hash),
    sender: toHex(fast.sender),
    nonce: fast.nonce,
    gasLimit: fast.gasLimit,
    maxFeePerGas: fast.maxFeePerGas,
    maxPriorityFeePerGas: fast.maxPriorityFeePerGas,
    value: fast.value,
    cost: fast.gasLimit * fast.maxFeePerGas + fast.value,
    size: raw.length,
    type: fast.type,
    receivedAt: (ctx.clock ?? Date.now)(),
    get tx(): TypedTransaction {
      tx ??= withKnownSender(raw, common, fast.hash, fast.sender);
      return tx;
    },
  };
}

/**
 * The ethereumjs tx for bytes whose hash and sender are already known: built unfrozen so the
 * sender can be installed, then frozen (ethereumjs caches the hash and public key only on a frozen tx).
 */
export function withKnownSender(
  raw: Uint8Array,
  common: Common,
  hash: Uint8Array,
  sender: Uint8Array,
): TypedTransaction {
  const tx = createTxFromRLP(raw, { common, freeze: false });
  const address = new Address(sender);
  tx.getSenderAddress = () => address;
  // The public key is not kept (the fast decode hashes it in place); nothing on the node's paths asks for it,
  // and ethereumjs would recover it again if something did.
  (tx.cache as { hash?: Uint8Array }).hash = hash;
  Object.freeze(tx);
  return tx;
}

function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`;
}

/** Reads the EIP-2718 envelope byte; refuses types the pool does not carry before any decoding work. */
export function envelopeType(raw: Uint8Array): SupportedType {
  if (raw.length === 0) throw invalidTx("invalid transaction: typed transaction too short");
  const first = raw[0];
  if (first >= 0xc0) return TransactionType.Legacy;
  if (first >= 0x80) throw invalidTx("rlp: expected input list for types.LegacyTx");
  if (
    first !== TransactionType.AccessListEIP2930 &&
    first !== TransactionType.FeeMarketEIP1559 &&
    first !== TransactionType.EOACodeEIP7702
  ) {
    throw new MempoolError({ code: MempoolErrorCode.TX_TYPE_NOT_SUPPORTED, txType: first });
  }
  if (raw.length === 1) throw invalidTx("invalid transaction: typed transaction too short");
  return first;
}

function feeFields(tx: TypedTransaction): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } {
  if ("maxFeePerGas" in tx) return { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
  assert("gasPrice" in tx, "decoded tx has neither gasPrice nor maxFeePerGas");
  return { maxFeePerGas: tx.gasPrice, maxPriorityFeePerGas: tx.gasPrice };
}

function validateGas(tx: TypedTransaction): void {
  const intrinsicGas = tx.getIntrinsicGas();
  if (intrinsicGas > tx.gasLimit) {
    throw new MempoolError({ code: MempoolErrorCode.INTRINSIC_GAS_TOO_LOW, gasLimit: tx.gasLimit, intrinsicGas });
  }
  // Prague's EIP-7623 floor: such a tx fails at execution, so geth refuses it at the door.
  const floorGas = tx.getMinimumGasLimit();
  if (floorGas > tx.gasLimit) {
    throw new MempoolError({ code: MempoolErrorCode.FLOOR_DATA_GAS_TOO_LOW, gasLimit: tx.gasLimit, floorGas });
  }
}

/**
 * ethereumjs refused the bytes (or they were unsigned): find which check fails first, in the
 * documented order. ethereumjs's constructors throw for wrong chain id, high-s, bad y-parity and
 * tip > fee cap alike, so we re-derive each from the raw fields. A structural probe (the tx rebuilt
 * unsigned, with our chain id and the tip clamped to the fee cap) separates field-level decoding
 * errors from those later checks.
 */
function diagnoseUndecodable(raw: Uint8Array, type: SupportedType, ctx: DecodeContext, cause: unknown): never {
  const values = decodeFieldList(raw, type);
  const fields = values as Uint8Array[];
  let probe: TypedTransaction;
  try {
    probe = buildUnsignedProbe(type, fields, ctx);
  } catch (err) {
    throw invalidTx(`invalid transaction: ${reasonOf(err)}`);
  }

  const sigAt = SIGNATURE_AT[type];
  const v = bytesToBigInt(fields[sigAt]);
  const r = bytesToBigInt(fields[sigAt + 1]);
  const s = bytesToBigInt(fields[sigAt + 2]);
  if (type === TransactionType.Legacy) {
    // geth's isProtectedV: 0/1/27/28 (or an empty v) carry no chain id.
    if (v === 0n || v === 1n || v === 27n || v === 28n)
      throw new MempoolError({ code: MempoolErrorCode.UNPROTECTED_TX });
    const chainId = v >= 35n ? (v - 35n) / 2n : null;
    if (chainId !== ctx.chainId) throw invalidChainId(chainId, ctx.chainId);
  } else {
    const chainId = bytesToBigInt(fields[0]);
    if (chainId !== ctx.chainId) throw invalidChainId(chainId, ctx.chainId);
  }

  const yParityOk = type === TransactionType.Legacy || v === 0n || v === 1n;
  const rOk = r > 0n && r < SECP256K1_ORDER;
  const sOk = s > 0n && s <= SECP256K1_ORDER_DIV_2; // EIP-2 low-s
  if (!yParityOk || !rOk || !sOk) throw new MempoolError({ code: MempoolErrorCode.INVALID_SENDER });

  if (type === TransactionType.FeeMarketEIP1559 || type === TransactionType.EOACodeEIP7702) {
    const maxPriorityFeePerGas = bytesToBigInt(fields[2]);
    const maxFeePerGas = bytesToBigInt(fields[3]);
    if (maxPriorityFeePerGas > maxFeePerGas) {
      // ethereumjs cannot build this tx at all, so recover the signer by hand to keep the check order.
      assertRecoverableSender(raw[0], fields, SIGNATURE_AT[type], v, ctx.common);
      validateGas(probe);
      throw new MempoolError({ code: MempoolErrorCode.TIP_ABOVE_FEE_CAP, maxPriorityFeePerGas, maxFeePerGas });
    }
  }
  throw invalidTx(`invalid transaction: ${cause === undefined ? "missing signature" : reasonOf(cause)}`);
}

/** RLP layer only: a list of the signed field count whose scalar fields are byte strings. */
function decodeFieldList(raw: Uint8Array, type: SupportedType): unknown[] {
  let decoded: unknown;
  try {
    decoded = RLP.decode(type === TransactionType.Legacy ? raw : raw.subarray(1));
  } catch (err) {
    throw invalidTx(`rlp: ${reasonOf(err)}`);
  }
  if (!Array.isArray(decoded)) throw invalidTx("rlp: expected input list");
  const want = FIELD_COUNT[type];
  if (decoded.length < want) throw invalidTx("rlp: too few elements");
  if (decoded.length > want) throw invalidTx("rlp: input list has too many elements");
  for (let i = 0; i < decoded.length; i++) {
    if (!LIST_FIELDS[type].includes(i) && !(decoded[i] instanceof Uint8Array)) {
      throw invalidTx("rlp: expected input string or byte");
    }
  }
  return decoded;
}

function buildUnsignedProbe(type: SupportedType, fields: Uint8Array[], ctx: DecodeContext): TypedTransaction {
  const opts = { common: ctx.common };
  const ourChainId = bigIntToUnpaddedBytes(ctx.chainId);
  switch (type) {
    case TransactionType.Legacy:
      return createLegacyTxFromBytesArray(fields.slice(0, 6), opts);
    case TransactionType.AccessListEIP2930: {
      const [, nonce, gasPrice, gasLimit, to, value, data] = fields;
      const accessList = fields[7] as unknown as AccessListBytes;
      return createAccessList2930TxFromBytesArray(
        [ourChainId, nonce, gasPrice, gasLimit, to, value, data, accessList],
        opts,
      );
    }
    case TransactionType.FeeMarketEIP1559: {
      const [, nonce, tip, feeCap, gasLimit, to, value, data] = fields;
      const accessList = fields[8] as unknown as AccessListBytes;
      const clampedTip = bytesToBigInt(tip) > bytesToBigInt(feeCap) ? feeCap : tip;
      return create1559FeeMarketTxFromBytesArray(
        [ourChainId, nonce, clampedTip, feeCap, gasLimit, to, value, data, accessList],
        opts,
      );
    }
    case TransactionType.EOACodeEIP7702: {
      const [, nonce, tip, feeCap, gasLimit, to, value, data] = fields;
      const lists = fields as unknown as Parameters<typeof createEOACode7702TxFromBytesArray>[0];
      const clampedTip = bytesToBigInt(tip) > bytesToBigInt(feeCap) ? feeCap : tip;
      return createEOACode7702TxFromBytesArray(
        [ourChainId, nonce, clampedTip, feeCap, gasLimit, to, value, data, lists[8], lists[9]],
        opts,
      );
    }
  }
}

/** EIP-2718 signing hash keccak(type || rlp(unsigned fields)), then ecrecover; throws INVALID_SENDER. */
function assertRecoverableSender(
  typeByte: number,
  fields: Uint8Array[],
  sigAt: number,
  yParity: bigint,
  common: Common,
): void {
  const msgHash = keccak_256(concatBytes(Uint8Array.of(typeByte), RLP.encode(fields.slice(0, sigAt))));
  try {
    const recover = common.customCrypto.ecrecover ?? ecrecover;
    publicToAddress(recover(msgHash, yParity, fields[sigAt + 1], fields[sigAt + 2]));
  } catch {
    throw new MempoolError({ code: MempoolErrorCode.INVALID_SENDER });
  }
}

function invalidTx(reason: string): MempoolError {
  return new MempoolError({ code: MempoolErrorCode.INVALID_TX, reason: reason.slice(0, MAX_REASON_CHARS) });
}

function invalidChainId(chainId: bigint | null, expected: bigint): MempoolError {
  return new MempoolError({ code: MempoolErrorCode.INVALID_CHAIN_ID, chainId, expected });
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
