import { Capability, type TypedTransaction } from "@ethereumjs/tx";
import { bytesToBigInt } from "@ethereumjs/util";
import { receiptBloom } from "../runtime/primitives/receipt.js";
import type { BlockRef, BlockWithTxs, LogView, ReceiptView, TxView } from "./backend.js";
import { toHexData as hex, toHexQuantity as qty } from "./hex.js";
import { RawJSON } from "./jsonrpc.js";

/** JSON shapes of blocks, transactions, receipts and logs, as geth returns them. */

/** keccak256(rlp([])): Azora blocks have no uncles. */
const EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
const ZERO_NONCE = "0x0000000000000000";

export function formatHeader(ref: BlockRef): Record<string, unknown> {
  const h = ref.header;
  return {
    number: qty(h.number),
    hash: hex(ref.hash),
    parentHash: hex(h.parentHash),
    nonce: ZERO_NONCE,
    sha3Uncles: EMPTY_UNCLES_HASH,
    logsBloom: hex(h.logsBloom),
    transactionsRoot: hex(h.transactionsRoot),
    stateRoot: hex(h.stateRoot),
    receiptsRoot: hex(h.receiptsRoot),
    miner: hex(h.miner),
    difficulty: "0x0",
    // No totalDifficulty: the execution-apis Block has none, and geth dropped it after the merge.
    extraData: "0x",
    gasLimit: qty(h.gasLimit),
    gasUsed: qty(h.gasUsed),
    timestamp: qty(h.timestamp),
    baseFeePerGas: qty(h.baseFeePerGas),
    // PREVRANDAO is the parent hash on Azora (deterministic, not randomness).
    mixHash: hex(h.parentHash),
    // BFT fields, beside the Ethereum ones.
    proposer: hex(h.proposer),
    validatorsHash: hex(h.validatorsHash),
    lastCommitHash: hex(h.lastCommitHash),
    evidenceHash: hex(h.evidenceHash),
  };
}

export function formatBlock(block: BlockWithTxs, fullTransactions: boolean): Record<string, unknown> {
  return {
    ...formatHeader(block),
    size: qty(block.size),
    transactions: block.transactions.map((t) => (fullTransactions ? formatTransaction(t) : hex(t.hash))),
    uncles: [],
  };
}

type FeeMarketTx = TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
type LegacyPricedTx = TypedTransaction & { gasPrice: bigint };

export function formatTransaction(view: TxView): Record<string, unknown> {
  const tx = view.tx;
  const loc = view.location;
  const out: Record<string, unknown> = {
    blockHash: loc === undefined ? null : hex(loc.blockHash),
    blockNumber: loc === undefined ? null : qty(loc.blockNumber),
    // Required by the execution-apis TransactionInfo since 2025 (geth 1.16 answers it too).
    blockTimestamp: loc === undefined ? null : qty(loc.blockTimestamp),
    transactionIndex: loc === undefined ? null : qty(loc.index),
    hash: hex(view.hash),
    from: hex(view.from),
    to: tx.to === undefined ? null : tx.to.toString(),
    nonce: qty(tx.nonce),
    gas: qty(tx.gasLimit),
    value: qty(tx.value),
    input: hex(tx.data),
    type: qty(tx.type),
  };
  if (tx.supports(Capability.EIP1559FeeMarket)) {
    const t = tx as FeeMarketTx;
    out.maxFeePerGas = qty(t.maxFeePerGas);
    out.maxPriorityFeePerGas = qty(t.maxPriorityFeePerGas);
    // Mined: the effective price paid; pooled: the fee cap (as geth does).
    const effective =
      loc === undefined
        ? t.maxFeePerGas
        : loc.baseFeePerGas + t.maxPriorityFeePerGas < t.maxFeePerGas
          ? loc.baseFeePerGas + t.maxPriorityFeePerGas
          : t.maxFeePerGas;
    out.gasPrice = qty(effective);
  } else {
    out.gasPrice = qty((tx as LegacyPricedTx).gasPrice);
  }
  if (tx.supports(Capability.EIP2930AccessLists)) {
    const list = (tx as TypedTransaction & { accessList: [Uint8Array, Uint8Array[]][] }).accessList;
    out.accessList = list.map(([address, keys]) => ({ address: hex(address), storageKeys: keys.map(hex) }));
  }
  if (tx.supports(Capability.EIP7702EOACode)) {
    // geth's SetCodeAuthorization JSON: every number a quantity, the address as data.
    const list = (tx as TypedTransaction & { authorizationList: Uint8Array[][] }).authorizationList;
    out.authorizationList = list.map(([chainId, address, nonce, yParity, r, s]) => ({
      chainId: qty(bytesToBigInt(chainId)),
      address: hex(address),
      nonce: qty(bytesToBigInt(nonce)),
      yParity: qty(bytesToBigInt(yParity)),
      r: qty(bytesToBigInt(r)),
      s: qty(bytesToBigInt(s)),
    }));
  }
  if (tx.type !== 0 || tx.supports(Capability.EIP155ReplayProtection)) out.chainId = qty(tx.common.chainId());
  const v = tx.v ?? 0n;
  out.v = qty(v);
  out.r = qty(tx.r ?? 0n);
  out.s = qty(tx.s ?? 0n);
  if (tx.type !== 0) out.yParity = qty(v);
  return out;
}

export function formatLog(l: LogView): Record<string, unknown> {
  return {
    address: hex(l.log[0]),
    topics: l.log[1].map(hex),
    data: hex(l.log[2]),
    blockNumber: qty(l.blockNumber),
    blockHash: hex(l.blockHash),
    transactionHash: hex(l.transactionHash),
    transactionIndex: qty(l.transactionIndex),
    logIndex: qty(l.logIndex),
    removed: false,
  };
}

export function receiptLogs(r: ReceiptView): LogView[] {
  return r.receipt.logs.map((log, i) => ({
    log,
    blockNumber: r.blockNumber,
    blockHash: r.blockHash,
    transactionHash: r.tx.hash,
    transactionIndex: r.transactionIndex,
    logIndex: r.firstLogIndex + i,
  }));
}

/** A receipt's `to`: from the view when the backend read it without a decode, else from the transaction. */
function recipient(view: TxView): string | null {
  const to = view.to;
  if (to !== undefined) return to === null ? null : hex(to);
  const decoded = view.tx.to;
  return decoded === undefined ? null : decoded.toString();
}

export function formatReceipt(r: ReceiptView): Record<string, unknown> {
  const rc = r.receipt;
  return {
    transactionHash: hex(r.tx.hash),
    transactionIndex: qty(r.transactionIndex),
    blockHash: hex(r.blockHash),
    blockNumber: qty(r.blockNumber),
    from: hex(rc.from),
    to: recipient(r.tx),
    cumulativeGasUsed: qty(rc.cumulativeGasUsed),
    gasUsed: qty(rc.gasUsed),
    contractAddress: rc.contractAddress === null ? null : hex(rc.contractAddress),
    logs: receiptLogs(r).map(formatLog),
    logsBloom: hex(receiptBloom(rc)),
    status: qty(rc.status),
    effectiveGasPrice: qty(rc.effectiveGasPrice),
    type: qty(rc.type),
  };
}

/**
 * JSON text per receipt or mined-transaction view, made once. A view belongs to one decoded block
 * (the backend keeps a few hundred, keyed by block hash) and a block's receipts and transactions
 * never change — a rewound block is another view — so the text outlives no change and goes when
 * the view does. A client polling a receipt (the view is the same object on every poll) then costs a
 * map lookup, not a format (the bloom re-hashed), a walk and a stringify of ~15 fields and every log.
 */
function textCache<V extends object>(format: (view: V) => Record<string, unknown>): (view: V) => string {
  const texts = new WeakMap<V, string>();
  return (view) => {
    let text = texts.get(view);
    if (text === undefined) {
      // All strings, nulls and arrays of them: `JSON.stringify` writes what the RPC's result walk would.
      text = JSON.stringify(format(view));
      texts.set(view, text);
    }
    return text;
  };
}

const receiptText = textCache(formatReceipt);
const minedTxText = textCache(formatTransaction);

/**
 * `formatTransaction` as JSON text, cached per view for a mined transaction. A pooled one (no
 * location: its view is made per request, and its gas price is the fee cap until mined) is
 * formatted as ever.
 */
export function formatTransactionJSON(view: TxView): RawJSON | Record<string, unknown> {
  return view.location === undefined ? formatTransaction(view) : new RawJSON(minedTxText(view));
}

/** `formatReceipt` as the JSON text the RPC answers, cached per view. */
export function formatReceiptJSON(r: ReceiptView): RawJSON {
  return new RawJSON(receiptText(r));
}

/** A block's receipts as one JSON array, each from the per-view cache. */
export function formatReceiptsJSON(rs: readonly ReceiptView[]): RawJSON {
  const parts: string[] = ["["];
  for (let i = 0; i < rs.length; i++) {
    if (i > 0) parts.push(",");
    parts.push(receiptText(rs[i]));
  }
  parts.push("]");
  return new RawJSON(parts);
}
