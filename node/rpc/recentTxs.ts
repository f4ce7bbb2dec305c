/**
 * Where the transactions of the last few committed blocks are, in memory: block number and index
 * by hash. Clients poll `eth_getTransactionReceipt` / `eth_getTransactionByHash` for a transaction
 * mostly around its inclusion, so these answer without LevelDB's tx index — the one read per poll
 * that the profile under receipt-polling load still had on the main thread. Older transactions
 * fall back to the index. Bounded by blocks and by transactions (the oldest blocks go first).
 */
export interface TxLocation {
  number: bigint;
  index: number;
}

/** Defaults: the last 256 blocks (the RPC's block caches, bounded by bytes, hold fewer full ones); 64k entries is a few MB at most. */
export const RECENT_TX_BLOCKS = 256;
export const RECENT_TX_ENTRIES = 65_536;

export class RecentTxIndex {
  private readonly byHash = new Map<string, TxLocation>();
  /** The indexed blocks, oldest first: number and tx hashes, to evict and to rewind. */
  private readonly blocks: { number: bigint; hashes: string[] }[] = [];

  constructor(
    private readonly maxBlocks = RECENT_TX_BLOCKS,
    private readonly maxEntries = RECENT_TX_ENTRIES,
  ) {}

  /** A committed block's tx hashes (lowercase 0x hex), in block order. */
  addBlock(number: bigint, txHashes: readonly string[]): void {
    const hashes = [...txHashes];
    // A block taller than the whole budget is not indexed (its txs are found through LevelDB).
    if (hashes.length > this.maxEntries) return;
    for (let index = 0; index < hashes.length; index++) this.byHash.set(hashes[index], { number, index });
    this.blocks.push({ number, hashes });
    while (this.blocks.length > this.maxBlocks || this.byHash.size > this.maxEntries) this.evictOldest();
  }

  /** The chain went back to `head` (dev mode's evm_revert / anvil_reset): forget the blocks above it. */
  rewind(head: bigint): void {
    while (this.blocks.length > 0 && this.blocks[this.blocks.length - 1].number > head) {
      const b = this.blocks.pop() as { number: bigint; hashes: string[] };
      this.forget(b);
    }
  }

  get(hash: string): TxLocation | undefined {
    return this.byHash.get(hash);
  }

  get size(): number {
    return this.byHash.size;
  }

  private evictOldest(): void {
    const b = this.blocks.shift();
    if (b !== undefined) this.forget(b);
  }

  private forget(b: { number: bigint; hashes: string[] }): void {
    // A hash re-included later (after a rewind) points at its newer block: leave that entry alone.
    for (const h of b.hashes) if (this.byHash.get(h)?.number === b.number) this.byHash.delete(h);
  }
}
