import { assert } from "../../runtime/lib/assert.js";
import { type Logger, nullLogger } from "../../runtime/lib/logger.js";
import { MempoolError, MempoolErrorCode, type PoolLimit } from "./errors.js";
import { BinaryHeap } from "./heap.js";
import { KeyedLock } from "./keyedLock.js";
import { type MempoolOptions, txSlots } from "./options.js";
import { selectByPriceAndNonce } from "./selection.js";
import { type Layout, layoutOf, type PoolEntry, SenderTxs } from "./senderTxs.js";
import type {
  AddResult,
  MempoolContent,
  MempoolStateReader,
  MempoolStats,
  PooledTx,
  SelectForBlockOpts,
} from "./types.js";

export interface MempoolModules {
  state: MempoolStateReader;
  /** Milliseconds; stamps `receivedAt`. Defaults to `Date.now`. */
  clock?: () => number;
  logger?: Logger;
}

export interface OnNewHeadOpts {
  /**
   * Every account whose nonce or balance the new head may have changed: the senders of the block's
   * txs (including txs this pool never saw) and the accounts its execution wrote; for a dev-mode
   * state edit, the edited accounts. A superset is fine; a missing account keeps a stale cached
   * nonce and balance until something else reports it.
   */
  accounts?: Iterable<string>;
}

const EMPTY_LAYOUT: Layout = { pendingCount: 0, pendingSlots: 0, queuedCount: 0, queuedSlots: 0 };

type PendingListener = (tx: PooledTx) => void;

/**
 * The transaction pool, after geth's legacypool. Per sender, txs from the state nonce on without a
 * gap are *pending* (executable, offered to block building); later ones are *queued* until the gap
 * fills. See README.md for the admission and eviction policy.
 *
 * Every mutation happens synchronously after the awaits of a call, so concurrent calls never see a
 * half-updated pool; the per-sender lock keeps one sender's adds (and head revalidation) in order.
 */
export class Mempool {
  private opts: MempoolOptions;
  private readonly state: MempoolStateReader;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly priceBump: bigint;
  private readonly byHash = new Map<string, PoolEntry>();
  private readonly bySender = new Map<string, SenderTxs>();
  private readonly locks = new KeyedLock();
  private readonly listeners = new Set<PendingListener>();
  private totals: Layout = { ...EMPTY_LAYOUT };
  private nextSeq = 0;
  /**
   * Senders whose tx list or cached state changed since the last head (admission, inclusion, a
   * drop): `onNewHead` re-checks their funding against the cached balance even when the head did
   * not change their account — filling a gap, say, lengthens the run the balance must cover.
   */
  private readonly changed = new Set<string>();
  /**
   * No queued entry was admitted before this (ms, injected clock): `expireQueued` skips its scan
   * until the cutoff passes it. A lower bound, lowered whenever an entry is classified queued.
   */
  private oldestQueuedAt = Number.POSITIVE_INFINITY;

  constructor(opts: MempoolOptions, modules: MempoolModules) {
    assert(opts.accountSlots >= 1 && opts.accountQueue >= 0, "mempool: accountSlots >= 1, accountQueue >= 0");
    assert(opts.globalSlots >= 1 && opts.globalQueue >= 0, "mempool: globalSlots >= 1, globalQueue >= 0");
    assert(Number.isInteger(opts.priceBumpPercent) && opts.priceBumpPercent >= 0, "mempool: integer price bump");
    this.opts = opts;
    this.state = modules.state;
    this.clock = modules.clock ?? Date.now;
    this.log = modules.logger ?? nullLogger;
    this.priceBump = BigInt(opts.priceBumpPercent);
  }

  /**
   * The chain parameters admission checks against (the block gas limit and the base-fee floor), as
   * governance changes them: the node passes those of the next height after each commit. Transactions
   * already in the pool stay; block building skips what no longer fits.
   */
  setChainLimits(limits: { blockGasLimit: bigint; minBaseFeePerGas: bigint }): void {
    if (limits.blockGasLimit === this.opts.blockGasLimit && limits.minBaseFeePerGas === this.opts.minBaseFeePerGas)
      return;
    this.opts = { ...this.opts, ...limits };
  }

  /**
   * Admits a decoded tx or throws a `MempoolError` with geth's message. Checks that need no state
   * run first; the sender's nonce and balance are then read under that sender's lock.
   */
  async add(input: PooledTx): Promise<AddResult> {
    // No copy of `input`: its `tx` may be a lazy getter (ParallelDecoder) that a spread would run.
    const ptx = input;
    assert(
      ptx.hash === ptx.hash.toLowerCase() && ptx.sender === ptx.sender.toLowerCase(),
      "pooled tx hex is lowercase",
    );
    this.validateStateless(ptx);
    return this.locks.run(ptx.sender, async () => {
      const { nonce, balance } = await this.state.getAccount(ptx.sender);
      return this.admit(ptx, nonce, balance);
    });
  }

  /** Next nonce after the sender's pending run; the state nonce when it has none (`eth_getTransactionCount` "pending"). */
  async pendingNonce(address: string): Promise<bigint> {
    const sender = address.toLowerCase();
    const { nonce: stateNonce } = await this.state.getAccount(sender);
    const acct = this.bySender.get(sender);
    if (acct === undefined) return stateNonce;
    // Math.max does not take bigints; the cached nonce may be ahead of a lagging state read.
    let next = acct.stateNonce;
    if (stateNonce > next) next = stateNonce;
    for (const e of acct.entries()) {
      if (e.tx.nonce < next) continue;
      if (e.tx.nonce !== next) break;
      next++;
    }
    return next;
  }

  /** Txs for the next block, best effective tip first, each sender in nonce order. Leaves the pool unchanged. */
  selectForBlock(opts: SelectForBlockOpts): PooledTx[] {
    return selectByPriceAndNonce(this.bySender.values(), opts);
  }

  /** After a commit: forget included txs. Inclusion of nonce n proves the state nonce is at least n+1. */
  removeIncluded(txHashes: string[]): void {
    const touched = new Set<SenderTxs>();
    for (const h of txHashes) {
      const entry = this.byHash.get(h.toLowerCase());
      if (entry === undefined) continue;
      const acct = this.senderOf(entry);
      this.detach(acct, entry);
      if (entry.tx.nonce + 1n > acct.stateNonce) acct.stateNonce = entry.tx.nonce + 1n;
      this.changed.add(acct.sender);
      touched.add(acct);
    }
    const promoted: PoolEntry[] = [];
    for (const acct of touched) promoted.push(...this.settle(acct));
    this.enforceGlobalLimits();
    this.emitPending(promoted);
  }

  /**
   * After a commit: re-reads nonce and balance of the pooled senders among `accounts` (what the head
   * changed), re-checks senders whose list changed since the last head against their cached state,
   * drops stale and unaffordable txs and promotes what became executable. The work is proportional
   * to what the block and the adds since the last head changed, not to the pool: every other sender
   * would re-read the same state and come out unchanged (a differential test checks this against
   * re-reading every sender).
   */
  async onNewHead(opts: OnNewHeadOpts = {}): Promise<void> {
    const reread = new Set<string>();
    for (const a of opts.accounts ?? []) {
      const sender = a.toLowerCase();
      if (this.bySender.has(sender)) reread.add(sender);
    }
    const recheck = [...this.changed].filter((sender) => !reread.has(sender));
    this.changed.clear();
    await Promise.all([...reread].map((sender) => this.locks.run(sender, () => this.revalidate(sender))));
    for (const sender of recheck) {
      const acct = this.bySender.get(sender);
      if (acct !== undefined) this.dropUnfunded(acct);
    }
    this.expireQueued();
    this.enforceGlobalLimits();
  }

  /** Removes a tx the block builder found invalid at execution; its higher nonces become queued. */
  drop(hash: string, reason: string): boolean {
    const entry = this.byHash.get(hash.toLowerCase());
    if (entry === undefined) return false;
    const acct = this.senderOf(entry);
    this.detach(acct, entry);
    this.changed.add(acct.sender);
    this.emitPending(this.settle(acct));
    this.enforceGlobalLimits();
    this.log.debug("dropped tx", { hash: entry.tx.hash, sender: entry.tx.sender, reason });
    return true;
  }

  get(hash: string): PooledTx | undefined {
    return this.byHash.get(hash.toLowerCase())?.tx;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash.toLowerCase());
  }

  stats(): MempoolStats {
    return { pending: this.totals.pendingCount, queued: this.totals.queuedCount };
  }

  /** Snapshot for `txpool_content`: per sender, nonce order. */
  content(): MempoolContent {
    const pending = new Map<string, PooledTx[]>();
    const queued = new Map<string, PooledTx[]>();
    for (const acct of this.bySender.values()) {
      const p: PooledTx[] = [];
      const q: PooledTx[] = [];
      for (const e of acct.entries()) (e.pending ? p : q).push(e.tx);
      if (p.length > 0) pending.set(acct.sender, p);
      if (q.length > 0) queued.set(acct.sender, q);
    }
    return { pending, queued };
  }

  /** Called synchronously whenever a tx becomes pending (admitted, or promoted by a filled gap). */
  onPending(listener: PendingListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // --- admission ---

  /** geth's stateless pool checks: cheap, and refused before the sender's lock is taken. */
  private validateStateless(ptx: PooledTx): void {
    if (this.byHash.has(ptx.hash)) throw new MempoolError({ code: MempoolErrorCode.ALREADY_KNOWN, hash: ptx.hash });
    if (ptx.gasLimit > this.opts.blockGasLimit) {
      throw new MempoolError({
        code: MempoolErrorCode.GAS_LIMIT_EXCEEDED,
        gasLimit: ptx.gasLimit,
        blockGasLimit: this.opts.blockGasLimit,
      });
    }
    if (ptx.maxFeePerGas < this.opts.minBaseFeePerGas) {
      throw new MempoolError({
        code: MempoolErrorCode.UNDERPRICED,
        maxFeePerGas: ptx.maxFeePerGas,
        minBaseFeePerGas: this.opts.minBaseFeePerGas,
      });
    }
  }

  /** Stateful checks and the insert; synchronous, so it sees and leaves the pool consistent. */
  private admit(input: PooledTx, stateNonce: bigint, balance: bigint): AddResult {
    const { accountSlots, accountQueue } = this.opts;
    // A concurrent add of the same bytes may have won while we awaited state.
    if (this.byHash.has(input.hash)) {
      throw new MempoolError({ code: MempoolErrorCode.ALREADY_KNOWN, hash: input.hash });
    }
    let acct = this.bySender.get(input.sender);
    if (acct !== undefined) {
      this.raiseStateNonce(acct, stateNonce);
      acct.balance = balance;
      this.changed.add(acct.sender);
      this.emitPending(this.settle(acct));
      acct = this.bySender.get(input.sender); // settle deletes a sender left with no txs
    }
    const baseNonce = acct?.stateNonce ?? stateNonce;
    const { nonce } = input;
    if (nonce < baseNonce) {
      throw new MempoolError({ code: MempoolErrorCode.NONCE_TOO_LOW, nonce, stateNonce: baseNonce });
    }
    // Relative to the end of the sender's executable run, not to the state nonce: a sender whose
    // pending txs wait for the next block may keep extending the run (geth has no cap there either);
    // only a gap deeper than the sender's queue allowance can never become executable in time.
    const lastPending = acct?.lastPending();
    const nextPending = lastPending === undefined ? baseNonce : lastPending.tx.nonce + 1n;
    const maxNonce = nextPending + BigInt(Math.max(accountSlots, accountQueue)) - 1n;
    if (nonce > maxNonce) throw new MempoolError({ code: MempoolErrorCode.NONCE_TOO_HIGH, nonce, maxNonce });
    if (balance < input.cost) {
      throw new MempoolError({ code: MempoolErrorCode.INSUFFICIENT_FUNDS, balance, need: input.cost });
    }
    const existing = acct?.get(nonce);
    if (existing !== undefined && !this.outbids(input, existing.tx)) {
      throw new MempoolError({ code: MempoolErrorCode.REPLACEMENT_UNDERPRICED, hash: existing.tx.hash });
    }
    const need = input.cost + this.committedSpend(acct, nonce, existing !== undefined);
    if (balance < need) throw new MempoolError({ code: MempoolErrorCode.INSUFFICIENT_FUNDS, balance, need });

    const entry: PoolEntry = {
      tx: input,
      admittedAt: this.clock(),
      seq: this.nextSeq,
      slots: txSlots(input.size),
      pending: false,
    };
    const before = acct?.counts ?? EMPTY_LAYOUT;
    const after = acct?.layoutWith(entry, baseNonce) ?? layoutOf([entry], baseNonce);
    if (after.queuedCount > accountQueue && after.queuedCount > before.queuedCount) throw poolFull("accountQueue");
    const victims = this.findRoomFor(input, before, after);

    // Commit: nothing below throws.
    this.nextSeq++;
    for (const v of victims) this.evict(v);
    if (acct === undefined) {
      acct = new SenderTxs(input.sender, baseNonce, balance);
      this.bySender.set(input.sender, acct);
    }
    this.changed.add(input.sender);
    const replaced = acct.put(entry);
    if (replaced !== undefined) this.byHash.delete(replaced.tx.hash);
    this.byHash.set(entry.tx.hash, entry);
    this.emitPending(this.settle(acct));
    const status = replaced !== undefined ? "replaced" : entry.pending ? "pending" : "queued";
    this.log.debug("tx admitted", { hash: entry.tx.hash, sender: entry.tx.sender, nonce: nonce.toString(), status });
    return { hash: entry.tx.hash, status };
  }

  /** geth's replacement rule: both fee caps strictly higher and at least `priceBumpPercent` higher. */
  private outbids(next: PooledTx, old: PooledTx): boolean {
    const factor = 100n + this.priceBump;
    const minFee = (old.maxFeePerGas * factor) / 100n;
    const minTip = (old.maxPriorityFeePerGas * factor) / 100n;
    return (
      next.maxFeePerGas > old.maxFeePerGas &&
      next.maxPriorityFeePerGas > old.maxPriorityFeePerGas &&
      next.maxFeePerGas >= minFee &&
      next.maxPriorityFeePerGas >= minTip
    );
  }

  /**
   * What the sender's other pooled txs may spend before this one runs: the costs of its lower
   * nonces. A replacement also counts the higher nonces, as geth does, so raising one fee cannot
   * leave the txs behind it unfunded.
   */
  private committedSpend(acct: SenderTxs | undefined, nonce: bigint, replacing: boolean): bigint {
    if (acct === undefined) return 0n;
    // The usual admission appends the next nonce: every other entry is below it.
    const last = acct.entries().at(-1);
    if (!replacing && last !== undefined && nonce > last.tx.nonce) return acct.totalCost;
    let spend = 0n;
    for (const e of acct.entries()) {
      if (e.tx.nonce < nonce || (replacing && e.tx.nonce > nonce)) spend += e.tx.cost;
    }
    return spend;
  }

  /** Entries to evict so the insert keeps both global slot limits; throws `txpool is full` if none qualify. */
  private findRoomFor(input: PooledTx, before: Layout, after: Layout): PoolEntry[] {
    const victims: PoolEntry[] = [];
    const pendingOver = this.totals.pendingSlots + after.pendingSlots - before.pendingSlots - this.opts.globalSlots;
    if (pendingOver > 0) {
      const withinQuota = after.pendingCount <= this.opts.accountSlots;
      victims.push(...this.pickVictims("pending", pendingOver, input, withinQuota));
    }
    const queuedOver = this.totals.queuedSlots + after.queuedSlots - before.queuedSlots - this.opts.globalQueue;
    if (queuedOver > 0) victims.push(...this.pickVictims("queued", queuedOver, input, false));
    return victims;
  }

  /**
   * At most one victim per other sender, its last pending (or last queued) tx, so no other entry
   * changes class. A victim qualifies if it pays a strictly lower tip (then fee cap) than `input`, or,
   * when `reclaimQuota` is set, if its sender holds more than `accountSlots` pending txs:
   * accountSlots is the share geth guarantees each sender, so slots above it are taken back first.
   */
  private pickVictims(
    kind: "pending" | "queued",
    slotsNeeded: number,
    input: PooledTx,
    reclaimQuota: boolean,
  ): PoolEntry[] {
    interface Candidate {
      entry: PoolEntry;
      overQuota: boolean;
    }
    const heap = new BinaryHeap<Candidate>((a, b) =>
      a.overQuota !== b.overQuota ? a.overQuota : evictsBefore(a.entry, b.entry),
    );
    for (const acct of this.bySender.values()) {
      if (acct.sender === input.sender) continue;
      const entry = kind === "pending" ? acct.lastPending() : acct.lastQueued();
      if (entry === undefined) continue;
      const overQuota = reclaimQuota && acct.counts.pendingCount > this.opts.accountSlots;
      if (overQuota || cheaper(entry.tx, input)) heap.push({ entry, overQuota });
    }
    const victims: PoolEntry[] = [];
    let freed = 0;
    while (freed < slotsNeeded) {
      const c = heap.pop();
      if (c === undefined) throw poolFull(kind === "pending" ? "globalSlots" : "globalQueue");
      victims.push(c.entry);
      freed += c.entry.slots;
    }
    return victims;
  }

  // --- reorganisation ---

  /** Re-reads the sender's nonce and balance (the head changed its account), then `dropUnfunded`. */
  private async revalidate(sender: string): Promise<void> {
    if (!this.bySender.has(sender)) return;
    const { nonce, balance } = await this.state.getAccount(sender);
    const acct = this.bySender.get(sender);
    if (acct === undefined) return;
    this.raiseStateNonce(acct, nonce);
    acct.balance = balance;
    this.dropUnfunded(acct);
  }

  /** Drops the sender's stale txs and those its cached balance cannot fund; promotes what became executable. */
  private dropUnfunded(acct: SenderTxs): void {
    const { sender, balance } = acct;
    if (balance >= acct.totalCost) {
      // Funds every run and every gapped tx alike (each is a part of the sum): nothing to drop.
      this.emitPending(this.settle(acct));
      return;
    }
    // geth drops what the balance can no longer fund: along the executable run the costs add up
    // (each tx spends before the next runs); a gapped tx only has to be fundable on its own.
    let next = acct.stateNonce;
    let runIntact = true;
    let spend = 0n;
    const unfunded: PoolEntry[] = [];
    for (const e of acct.entries()) {
      if (e.tx.nonce < acct.stateNonce) continue; // stale; settle removes it
      if (runIntact && e.tx.nonce === next) {
        next++;
        if (spend + e.tx.cost <= balance) spend += e.tx.cost;
        else {
          unfunded.push(e);
          runIntact = false;
        }
      } else {
        runIntact = false;
        if (e.tx.cost > balance) unfunded.push(e);
      }
    }
    for (const e of unfunded) this.detach(acct, e);
    this.emitPending(this.settle(acct));
    if (unfunded.length > 0) this.log.debug("dropped unfunded txs", { sender, count: unfunded.length });
  }

  /** Drops queued txs older than `queuedLifetimeMs` (pending ones are left for blocks to include). */
  private expireQueued(): void {
    const lifetimeMs = this.opts.queuedLifetimeMs;
    if (lifetimeMs === undefined || this.totals.queuedCount === 0) return;
    const cutoff = this.clock() - lifetimeMs;
    if (this.oldestQueuedAt >= cutoff) return; // nothing queued is old enough yet
    this.oldestQueuedAt = Number.POSITIVE_INFINITY; // recomputed by the settles below and the scan
    for (const acct of [...this.bySender.values()]) {
      if (acct.counts.queuedCount === 0) continue;
      const expired = acct.entries().filter((e) => !e.pending && e.admittedAt < cutoff);
      if (expired.length === 0) {
        this.noteQueued(acct);
        continue;
      }
      for (const e of expired) this.detach(acct, e);
      this.emitPending(this.settle(acct));
      this.log.debug("expired queued txs", { sender: acct.sender, count: expired.length });
    }
  }

  private noteQueued(acct: SenderTxs): void {
    if (acct.counts.queuedCount === 0) return;
    for (const e of acct.entries())
      if (!e.pending && e.admittedAt < this.oldestQueuedAt) this.oldestQueuedAt = e.admittedAt;
  }

  /**
   * Re-imposes the global limits after a head change (promotions can push pending past
   * globalSlots; demotions queued past globalQueue). Pending is trimmed from senders above
   * accountSlots only, cheapest first, like geth's truncatePending; the pool's total stays within
   * globalSlots + globalQueue whatever happens, since reorganising never adds txs.
   */
  private enforceGlobalLimits(): void {
    this.trim("pending");
    this.trim("queued");
  }

  private trim(kind: "pending" | "queued"): void {
    const over = (): boolean =>
      kind === "pending"
        ? this.totals.pendingSlots > this.opts.globalSlots
        : this.totals.queuedSlots > this.opts.globalQueue;
    if (!over()) return;
    const heap = new BinaryHeap<SenderTxs>((a, b) => evictsBefore(this.tailOf(a, kind)!, this.tailOf(b, kind)!));
    const eligible = (acct: SenderTxs): boolean =>
      this.tailOf(acct, kind) !== undefined && (kind === "queued" || acct.counts.pendingCount > this.opts.accountSlots);
    for (const acct of this.bySender.values()) if (eligible(acct)) heap.push(acct);
    while (over()) {
      const acct = heap.pop();
      if (acct === undefined) break;
      this.evict(this.tailOf(acct, kind)!);
      if (this.bySender.has(acct.sender) && eligible(acct)) heap.push(acct);
    }
  }

  private tailOf(acct: SenderTxs, kind: "pending" | "queued"): PoolEntry | undefined {
    return kind === "pending" ? acct.lastPending() : acct.lastQueued();
  }

  // --- bookkeeping ---

  private evict(entry: PoolEntry): void {
    const acct = this.senderOf(entry);
    this.detach(acct, entry);
    this.emitPending(this.settle(acct));
    this.log.debug("evicted tx", { hash: entry.tx.hash, sender: entry.tx.sender });
  }

  private raiseStateNonce(acct: SenderTxs, stateNonce: bigint): void {
    if (stateNonce > acct.stateNonce) acct.stateNonce = stateNonce;
  }

  private senderOf(entry: PoolEntry): SenderTxs {
    const acct = this.bySender.get(entry.tx.sender);
    assert(acct !== undefined, "mempool: pooled tx without its sender list");
    return acct;
  }

  /** Removes one entry from the sender list and the hash index; counts are fixed by `settle`. */
  private detach(acct: SenderTxs, entry: PoolEntry): void {
    const removed = acct.remove(entry.tx.nonce);
    assert(removed === entry, "mempool: detached entry is the indexed one");
    this.byHash.delete(entry.tx.hash);
  }

  /**
   * Brings one sender back to a consistent state after its list changed: drops stale nonces,
   * recomputes pending/queued, updates the pool totals and forgets an empty sender. Returns the
   * entries that became pending, for `emitPending`.
   */
  private settle(acct: SenderTxs): PoolEntry[] {
    const before = acct.counts;
    for (const stale of acct.removeStale()) this.byHash.delete(stale.tx.hash);
    const promoted = acct.classify();
    const after = acct.counts;
    this.noteQueued(acct);
    this.totals = {
      pendingCount: this.totals.pendingCount + after.pendingCount - before.pendingCount,
      pendingSlots: this.totals.pendingSlots + after.pendingSlots - before.pendingSlots,
      queuedCount: this.totals.queuedCount + after.queuedCount - before.queuedCount,
      queuedSlots: this.totals.queuedSlots + after.queuedSlots - before.queuedSlots,
    };
    if (acct.size === 0) this.bySender.delete(acct.sender);
    return promoted;
  }

  private emitPending(entries: readonly PoolEntry[]): void {
    if (entries.length === 0 || this.listeners.size === 0) return;
    const listeners = [...this.listeners];
    for (const e of entries) {
      if (this.byHash.get(e.tx.hash) !== e) continue; // evicted by a trim in the same call
      for (const listener of listeners) {
        try {
          listener(e.tx);
        } catch (err) {
          // A subscriber's bug must not leave the pool half-updated or fail the sender's add.
          this.log.warn("pending-tx listener threw", { hash: e.tx.hash }, err);
        }
      }
    }
  }
}

/** Strictly lower tip, then strictly lower fee cap: what a victim must be against a newcomer. */
function cheaper(a: PooledTx, b: PooledTx): boolean {
  if (a.maxPriorityFeePerGas !== b.maxPriorityFeePerGas) return a.maxPriorityFeePerGas < b.maxPriorityFeePerGas;
  return a.maxFeePerGas < b.maxFeePerGas;
}

/** Eviction order: lowest tip, then lowest fee cap, then most recently admitted. */
function evictsBefore(a: PoolEntry, b: PoolEntry): boolean {
  if (a.tx.maxPriorityFeePerGas !== b.tx.maxPriorityFeePerGas) {
    return a.tx.maxPriorityFeePerGas < b.tx.maxPriorityFeePerGas;
  }
  if (a.tx.maxFeePerGas !== b.tx.maxFeePerGas) return a.tx.maxFeePerGas < b.tx.maxFeePerGas;
  return a.seq > b.seq;
}

function poolFull(limit: PoolLimit): MempoolError {
  return new MempoolError({ code: MempoolErrorCode.POOL_FULL, limit });
}
