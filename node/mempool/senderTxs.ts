import type { PooledTx } from "./types.js";

/** One pooled tx plus the bookkeeping the pool needs about it. */
export interface PoolEntry {
  readonly tx: PooledTx;
  /** Admission order across the whole pool: the FIFO tie-break that keeps selection deterministic. */
  readonly seq: number;
  /** 32 KiB slots this tx occupies (`txSlots(size)`). */
  readonly slots: number;
  /** When the pool admitted it (ms, pool clock): queued txs expire from here. */
  readonly admittedAt: number;
  /** Part of the contiguous nonce run starting at the sender's state nonce (executable). */
  pending: boolean;
}

/** Pending/queued totals of one sender's txs. */
export interface Layout {
  pendingCount: number;
  pendingSlots: number;
  queuedCount: number;
  queuedSlots: number;
}

/** Classifies nonce-sorted entries: the contiguous run from `stateNonce` is pending, the rest queued. */
export function layoutOf(entries: readonly PoolEntry[], stateNonce: bigint): Layout {
  const layout: Layout = { pendingCount: 0, pendingSlots: 0, queuedCount: 0, queuedSlots: 0 };
  let next = stateNonce;
  for (const e of entries) {
    if (e.tx.nonce === next) {
      next++;
      layout.pendingCount++;
      layout.pendingSlots += e.slots;
    } else {
      layout.queuedCount++;
      layout.queuedSlots += e.slots;
    }
  }
  return layout;
}

/**
 * One sender's txs, kept sorted by nonce. Small by construction (at most accountSlots +
 * accountQueue entries, enforced by the pool's nonce window), so a sorted array beats a tree.
 */
export class SenderTxs {
  readonly sender: string;
  /** Highest state nonce seen for this sender; committed state nonces never decrease. */
  stateNonce: bigint;
  /**
   * The sender's balance at the last state read (admission or a head that changed the account).
   * A head that did not change the account leaves it true, so `onNewHead` re-checks funding
   * against it without reading state.
   */
  balance: bigint;
  private readonly list: PoolEntry[] = [];
  private layout: Layout = { pendingCount: 0, pendingSlots: 0, queuedCount: 0, queuedSlots: 0 };

  constructor(sender: string, stateNonce: bigint, balance: bigint) {
    this.sender = sender;
    this.stateNonce = stateNonce;
    this.balance = balance;
  }

  get size(): number {
    return this.list.length;
  }

  get counts(): Readonly<Layout> {
    return this.layout;
  }

  /** Nonce-ascending view; do not mutate. */
  entries(): readonly PoolEntry[] {
    return this.list;
  }

  get(nonce: bigint): PoolEntry | undefined {
    const i = this.indexOf(nonce);
    return i < this.list.length && this.list[i].tx.nonce === nonce ? this.list[i] : undefined;
  }

  /** Last pending entry: evicting it never changes the class of any other entry. */
  lastPending(): PoolEntry | undefined {
    const n = this.layout.pendingCount;
    return n > 0 ? this.list[n - 1] : undefined;
  }

  /** Highest-nonce entry, when it is queued. */
  lastQueued(): PoolEntry | undefined {
    const last = this.list[this.list.length - 1];
    return last !== undefined && !last.pending ? last : undefined;
  }

  /** The entries as they would be after inserting or replacing `entry`, for admission checks. */
  withEntry(entry: PoolEntry): PoolEntry[] {
    const copy = this.list.slice();
    const i = this.indexOf(entry.tx.nonce);
    const replaces = i < copy.length && copy[i].tx.nonce === entry.tx.nonce;
    copy.splice(i, replaces ? 1 : 0, entry);
    return copy;
  }

  /** Inserts, or replaces the same-nonce entry (returned). Call `classify` afterwards. */
  put(entry: PoolEntry): PoolEntry | undefined {
    const i = this.indexOf(entry.tx.nonce);
    if (i < this.list.length && this.list[i].tx.nonce === entry.tx.nonce) {
      const old = this.list[i];
      this.list[i] = entry;
      return old;
    }
    this.list.splice(i, 0, entry);
    return undefined;
  }

  remove(nonce: bigint): PoolEntry | undefined {
    const i = this.indexOf(nonce);
    if (i < this.list.length && this.list[i].tx.nonce === nonce) return this.list.splice(i, 1)[0];
    return undefined;
  }

  /** Drops entries the chain has moved past (nonce < stateNonce). */
  removeStale(): PoolEntry[] {
    let n = 0;
    while (n < this.list.length && this.list[n].tx.nonce < this.stateNonce) n++;
    return this.list.splice(0, n);
  }

  /** Recomputes pending flags; returns entries that just became pending, in nonce order. */
  classify(): PoolEntry[] {
    const promoted: PoolEntry[] = [];
    let next = this.stateNonce;
    for (const e of this.list) {
      const pending = e.tx.nonce === next;
      if (pending) {
        next++;
        if (!e.pending) promoted.push(e);
      }
      e.pending = pending;
    }
    this.layout = layoutOf(this.list, this.stateNonce);
    return promoted;
  }

  /** Binary search: index of the first entry with nonce >= `nonce`. */
  private indexOf(nonce: bigint): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid].tx.nonce < nonce) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
