import { BinaryHeap } from "./heap.js";
import type { PoolEntry, SenderTxs } from "./senderTxs.js";
import type { PooledTx, SelectForBlockOpts } from "./types.js";

/** geth's params.TxGas: once less gas than this is left, no further tx can fit. */
const MIN_TX_GAS = 21_000n;

interface Head {
  entry: PoolEntry;
  /** Index of `entry` in its sender's nonce-sorted entries. */
  index: number;
  entries: readonly PoolEntry[];
  tip: bigint;
}

/** EIP-1559 effective tip: what the block producer earns per gas at this base fee. */
export function effectiveTip(tx: PooledTx, baseFeePerGas: bigint): bigint {
  const headroom = tx.maxFeePerGas - baseFeePerGas;
  if (headroom < tx.maxPriorityFeePerGas) return headroom;
  return tx.maxPriorityFeePerGas;
}

/**
 * geth's TransactionsByPriceAndNonce: a heap holds each sender's lowest-nonce pending tx, keyed by
 * effective tip (ties: earliest admission). Popping one pushes that sender's next nonce, so every
 * sender's txs leave in nonce order while the block fills by price. A sender's chain ends at a tx
 * that cannot pay the base fee or does not fit the remaining gas: its successors would have a nonce
 * gap in this block. O(n log s) for n txs from s senders.
 */
export function selectByPriceAndNonce(senders: Iterable<SenderTxs>, opts: SelectForBlockOpts): PooledTx[] {
  const { baseFeePerGas, gasLimit } = opts;
  const maxTxs = opts.maxTxs ?? Number.POSITIVE_INFINITY;
  const heap = new BinaryHeap<Head>((a, b) => a.tip > b.tip || (a.tip === b.tip && a.entry.seq < b.entry.seq));
  const pushIfPayable = (entries: readonly PoolEntry[], index: number): void => {
    const entry = entries[index];
    if (entry === undefined || !entry.pending || entry.tx.maxFeePerGas < baseFeePerGas) return;
    heap.push({ entry, index, entries, tip: effectiveTip(entry.tx, baseFeePerGas) });
  };
  for (const s of senders) pushIfPayable(s.entries(), 0);

  const selected: PooledTx[] = [];
  let gasLeft = gasLimit;
  while (selected.length < maxTxs && gasLeft >= MIN_TX_GAS) {
    const head = heap.pop();
    if (head === undefined) break;
    const tx = head.entry.tx;
    if (tx.gasLimit > gasLeft) continue; // drop this sender's chain; smaller txs of others may still fit
    selected.push(tx);
    gasLeft -= tx.gasLimit;
    pushIfPayable(head.entries, head.index + 1);
  }
  return selected;
}
