/**
 * Automine's coalescing rule: how long the dev producer holds back a block although transactions
 * wait. Every block costs a fixed ~4 ms of CPU (seal, signature, one atomic batch, mempool update,
 * listeners) whatever it holds, so under a stream of transactions ten-transaction blocks spend more
 * on blocks than on execution. A lone transaction must still be mined at once (Hardhat and Anvil
 * users expect automine to answer a send with a block), so the hold applies only to a stream: right
 * after a block that carried transactions, the next one waits until `windowMs` after it, while the
 * event loop admits what arrives meanwhile. After an empty block, or once the window has passed
 * (an idle chain), a waiting transaction is mined immediately.
 */

/** The hold after a non-empty block (ms): ~a block's fixed cost, so a stream's latency grows by about one block time. */
export const AUTOMINE_COALESCE_MS = 4;

export interface LastBlock {
  /** When the producer finished the last block (the producer's clock, ms). */
  atMs: number;
  /** Transactions that block carried. */
  txs: number;
}

/** Milliseconds to wait before building a block for waiting transactions: 0 = build now. */
export function automineHoldMs(last: LastBlock, nowMs: number, windowMs: number = AUTOMINE_COALESCE_MS): number {
  if (last.txs === 0 || windowMs <= 0) return 0;
  // Never longer than the window, even if the clock stepped back since the last block.
  const hold = Math.min(last.atMs + windowMs - nowMs, windowMs);
  return hold > 0 ? hold : 0;
}
