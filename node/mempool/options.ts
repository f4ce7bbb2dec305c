/** Pool bounds, named after geth's `txpool.*` flags; the defaults are geth's. */
export interface MempoolOptions {
  /** Executable txs per sender that eviction never takes away while the sender holds no more than this. */
  accountSlots: number;
  /** Pending (executable) capacity of the whole pool, in 32 KiB slots. */
  globalSlots: number;
  /** Non-executable (nonce-gapped) txs allowed per sender. */
  accountQueue: number;
  /** Non-executable capacity of the whole pool, in 32 KiB slots. */
  globalQueue: number;
  /** Minimum fee bump, in percent, for a same-nonce replacement. */
  priceBumpPercent: number;
  /** The chain's base-fee floor: a tx that cannot pay it can never be included. */
  minBaseFeePerGas: bigint;
  /** Txs asking for more gas than a block holds can never be included. */
  blockGasLimit: bigint;
  /**
   * Queued (nonce-gapped) txs older than this are dropped at the next head, as geth's
   * `txpool.lifetime` does; otherwise gaps nobody fills hold queue slots forever. Default 3 h.
   */
  queuedLifetimeMs?: number;
}

export const DEFAULT_MEMPOOL_OPTIONS: MempoolOptions = {
  accountSlots: 16,
  globalSlots: 5120,
  accountQueue: 64,
  globalQueue: 1024,
  priceBumpPercent: 10,
  minBaseFeePerGas: 0n,
  blockGasLimit: 30_000_000n,
  queuedLifetimeMs: 3 * 60 * 60 * 1000,
};

/** geth's txSlotSize: big txs take several slots so the pool's memory, not just its tx count, is bounded. */
export const TX_SLOT_SIZE_BYTES = 32 * 1024;

/** geth's txMaxSize (4 slots): the default `maxTxBytes` for decoding. */
export const DEFAULT_MAX_TX_BYTES = 4 * TX_SLOT_SIZE_BYTES;

export function txSlots(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / TX_SLOT_SIZE_BYTES));
}
