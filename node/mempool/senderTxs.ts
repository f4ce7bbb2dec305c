import { assert } from "../../runtime/lib/assert.js";
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
    const pending = e.tx.nonce === next;
    if (pending) next++;
    tally(layout, e.slots, pending, 1);
  }
  return layout;
}

/** Adds (`sign` 1) or takes (-1) one entry of `slots` to or from `layout`'s pending or queued side. */
function tally(layout: Layout, slots: number, pending: boolean, sign: 1 | -1): void {
  if (pending) {
    layout.pendingCount += sign;
    layout.pendingSlots += sign * slots;
  } else {
    layout.queuedCount += sign;
    layout.queuedSlots += sign * slots;
  }
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
  /** The layout as of the last `classify`: the pool's totals move by its change across one settle. */
  private layout: Layout = { pendingCount: 0, pendingSlots: 0, queuedCount: 0, queuedSlots: 0 };
  /** Kept in step with every flag change, insert and removal, so `classify` never re-sums the list. */
  private readonly live: Layout = { pendingCount: 0, pendingSlots: 0, queuedCount: 0, queuedSlots: 0 };
  /**
   * Between two `classify` calls, the entries below this index are flagged pending and those from it
   * on queued, except the `fresh` ones (inserted since, flagged queued wherever they sit). Removals
   * and inserts below it shift it, so `classify` only visits the entries whose class may have
   * changed — between this and the new pending run's end — and the fresh ones, instead of the whole
   * list on every admission and every commit.
   */
  private boundary = 0;
  private fresh: PoolEntry[] = [];
  private costSum = 0n;
  /** The state nonce `layout` was classified for, or null when the list changed since (`layoutWith`). */
  private classifiedFor: bigint | null = null;

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

  /** The sum of every entry's `cost` (upfront gas and value): a balance at least this funds them all. */
  get totalCost(): bigint {
    return this.costSum;
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

  /**
   * `layoutOf(this.withEntry(entry), stateNonce)`: the layout admission checks the limits against.
   * The usual admission appends the sender's next nonce to a list classified for this state nonce:
   * that layout is the current one plus the entry (pending if it extends an all-pending run, else
   * queued), without copying and re-walking the list (a differential test checks both agree).
   */
  layoutWith(entry: PoolEntry, stateNonce: bigint): Layout {
    const last = this.list[this.list.length - 1];
    if (this.classifiedFor !== stateNonce || last === undefined || entry.tx.nonce <= last.tx.nonce)
      return layoutOf(this.withEntry(entry), stateNonce);
    const l = { ...this.layout };
    tally(l, entry.slots, l.queuedCount === 0 && entry.tx.nonce === last.tx.nonce + 1n, 1);
    return l;
  }

  /** Inserts, or replaces the same-nonce entry (returned). Call `classify` afterwards. */
  put(entry: PoolEntry): PoolEntry | undefined {
    this.classifiedFor = null;
    // A new entry is queued until `classify` says otherwise, even replacing a pending one: so it is
    // reported as promoted (announced) like any tx that becomes pending.
    entry.pending = false;
    this.count(entry, +1);
    this.costSum += entry.tx.cost;
    this.fresh.push(entry);
    const i = this.indexOf(entry.tx.nonce);
    if (i < this.list.length && this.list[i].tx.nonce === entry.tx.nonce) {
      const old = this.list[i];
      this.count(old, -1);
      this.costSum -= old.tx.cost;
      this.list[i] = entry;
      return old;
    }
    this.list.splice(i, 0, entry);
    if (i < this.boundary) this.boundary++;
    return undefined;
  }

  remove(nonce: bigint): PoolEntry | undefined {
    const i = this.indexOf(nonce);
    if (i >= this.list.length || this.list[i].tx.nonce !== nonce) return undefined;
    this.classifiedFor = null;
    const [e] = this.list.splice(i, 1);
    this.count(e, -1);
    this.costSum -= e.tx.cost;
    if (i < this.boundary) this.boundary--;
    return e;
  }

  /** Drops entries the chain has moved past (nonce < stateNonce). */
  removeStale(): PoolEntry[] {
    const n = this.indexOf(this.stateNonce);
    const stale = this.list.splice(0, n);
    if (n > 0) this.classifiedFor = null;
    for (const e of stale) {
      this.count(e, -1);
      this.costSum -= e.tx.cost;
    }
    this.boundary = Math.max(0, this.boundary - n);
    return stale;
  }

  /**
   * Recomputes pending flags (call `removeStale` first); returns entries that just became pending, in
   * nonce order. The pending run is the longest prefix whose nonces follow the state nonce one by one:
   * as nonces strictly increase, `list[i].nonce === stateNonce + i` holds on a prefix and nowhere
   * after it, so a binary search finds its end.
   */
  classify(): PoolEntry[] {
    const { list } = this;
    assert(list.length === 0 || list[0].tx.nonce >= this.stateNonce, "senderTxs: removeStale before classify");
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].tx.nonce === this.stateNonce + BigInt(mid)) lo = mid + 1;
      else hi = mid;
    }
    const run = lo;
    const promoted: PoolEntry[] = [];
    for (let i = this.boundary; i < run; i++) this.setPending(list[i], true, promoted);
    for (let i = run; i < this.boundary; i++) this.setPending(list[i], false, promoted);
    for (const e of this.fresh) {
      const i = this.indexOf(e.tx.nonce);
      if (i < run && list[i] === e) this.setPending(e, true, promoted);
    }
    // Fresh entries below the old boundary come after the range's promotions: put back in nonce order.
    if (this.fresh.length > 0 && promoted.length > 1)
      promoted.sort((a, b) => (a.tx.nonce < b.tx.nonce ? -1 : a.tx.nonce > b.tx.nonce ? 1 : 0));
    this.boundary = run;
    this.fresh = [];
    this.layout = { ...this.live };
    this.classifiedFor = this.stateNonce;
    return promoted;
  }

  private setPending(e: PoolEntry, pending: boolean, promoted: PoolEntry[]): void {
    if (e.pending === pending) return;
    this.count(e, -1);
    e.pending = pending;
    this.count(e, +1);
    if (pending) promoted.push(e);
  }

  /** Adds (`sign` +1) or takes (-1) one entry to or from the layout, by its current flag. */
  private count(e: PoolEntry, sign: 1 | -1): void {
    tally(this.live, e.slots, e.pending, sign);
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
