/**
 * eth_call answers at the head that outlive the block they were computed at. Each answer keeps what
 * the call read (accounts and slots with the values it saw; `simulation/callReads.ts`); when the head
 * moves, the keys the head state was written at since (`stateWrites.ts`) are read again at the new
 * root, and only the answers that read a key whose value changed are dropped. An answer that read
 * the block itself (NUMBER, TIMESTAMP, BLOCKHASH, …) lives for its block only, as does one still
 * running when the head moves. Bounded (LRU by entries).
 *
 * Soundness rests on one invariant: every answer in the cache is the answer at the current epoch
 * (head hash + state root), so all answers that read a key saw the same value, kept once per key in
 * the index. A key read with a value that disagrees is poisoned (`UNKNOWN_VALUE`): any write drops it.
 */
import type { CallOutcome } from "../../rpc/backend.js";
import { type CallReads, UNKNOWN_VALUE } from "./simulation/callReads.js";
import type { StateWrites } from "./stateWrites.js";

/** The committed values at the new head, as the worker's fingerprints format them. */
export interface CurrentValues {
  account(address: string): Promise<string>;
  slot(key: string): Promise<string>;
}

export type InvalidationReason = "block_context" | "pending" | "written" | "reset";

export interface CallCacheMetrics {
  invalidated(reason: InvalidationReason, n: number): void;
}

interface Entry {
  key: string;
  outcome: Promise<CallOutcome>;
  /** Index keys this answer depends on; null while it runs. */
  deps: string[] | null;
  perBlock: boolean;
  live: boolean;
}

interface Dep {
  value: string;
  entries: Set<Entry>;
}

/** An answer that read more keys than this is not kept past its block (the index's memory stays bounded). */
const MAX_READS_PER_ANSWER = 4096;

const ACCOUNT = "a:";
const SLOT = "s:";

export class CallResultCache {
  private readonly entries = new Map<string, Entry>();
  private readonly index = new Map<string, Dep>();
  private readonly perBlock = new Set<Entry>();
  private readonly pending = new Set<Entry>();
  /** The head (hash|root) every entry is valid at; null before the first call. */
  private epochKey: string | null = null;
  /** Writes taken at the last move: they may belong to the block after it (being executed then). */
  private previousWrites: StateWrites | null = null;

  constructor(
    private readonly capacity: number,
    private readonly metrics?: CallCacheMetrics,
  ) {}

  get epoch(): string | null {
    return this.epochKey;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Moves the cache to `epochKey` given the writes made since the last move. Writes made before a
   * move may belong to the block after it (its execution starts once the head block is committed,
   * possibly before the first call at that head), so each set of writes is checked at two moves.
   */
  async advance(epochKey: string, writes: StateWrites, current: CurrentValues): Promise<void> {
    if (epochKey === this.epochKey) return;
    const previous = this.previousWrites;
    this.previousWrites = writes;
    const fromKey = this.epochKey;
    this.epochKey = null; // no answer is served while the move runs
    this.dropAll(this.pending, "pending");
    this.dropAll(this.perBlock, "block_context");
    if (fromKey === null || writes.all || previous?.all === true) {
      this.clear();
      this.epochKey = epochKey;
      return;
    }
    const accounts = new Set([...writes.accounts, ...(previous?.accounts ?? [])]);
    const slots = new Set([...writes.slots, ...(previous?.slots ?? [])]);
    const cleared = new Set([...writes.storageCleared, ...(previous?.storageCleared ?? [])]);
    if (cleared.size > 0) {
      for (const k of this.index.keys()) {
        if (k.startsWith(SLOT) && cleared.has(k.slice(SLOT.length, k.indexOf("|")))) slots.add(k.slice(SLOT.length));
      }
    }
    let written = 0;
    const check = async (indexKey: string, read: () => Promise<string>) => {
      const dep = this.index.get(indexKey);
      if (dep === undefined) return;
      const now = await read();
      if (now === dep.value) return;
      const victims = [...dep.entries];
      for (const e of victims) this.drop(e);
      written += victims.length;
    };
    for (const a of accounts) await check(ACCOUNT + a, () => current.account(a));
    for (const s of slots) await check(SLOT + s, () => current.slot(s));
    if (written > 0) this.metrics?.invalidated("written", written);
    this.epochKey = epochKey;
  }

  /** Everything goes (a rewind, a state loaded): the next `advance` starts afresh. */
  reset(): void {
    this.metrics?.invalidated("reset", this.entries.size);
    this.clear();
    this.epochKey = null;
    this.previousWrites = null;
  }

  /** The answer cached at the current epoch, or undefined. */
  get(key: string): Promise<CallOutcome> | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    // Recency: re-insert (Map keeps insertion order; the first key is the least recently used).
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.outcome;
  }

  /** Caches `outcome`, run at the current epoch; its reads are indexed once it resolves. */
  put(key: string, run: Promise<CallOutcome & { reads?: CallReads }>): Promise<CallOutcome> {
    const outcome = run.then(({ reads: _reads, ...o }) => o);
    const e: Entry = { key, outcome, deps: null, perBlock: false, live: true };
    const old = this.entries.get(key);
    if (old !== undefined) this.drop(old);
    this.entries.set(key, e);
    this.pending.add(e);
    if (this.entries.size > this.capacity) this.drop(this.entries.values().next().value as Entry);
    run.then(
      (r) => {
        if (!e.live) return;
        this.pending.delete(e);
        if (r.reads === undefined || r.reads.accounts.length + r.reads.slots.length > MAX_READS_PER_ANSWER) {
          this.drop(e);
          return;
        }
        this.index_(e, r.reads);
      },
      () => this.drop(e),
    );
    return outcome;
  }

  private index_(e: Entry, reads: CallReads): void {
    if (reads.blockContext) {
      e.perBlock = true;
      e.deps = [];
      this.perBlock.add(e);
      return;
    }
    const deps: string[] = [];
    const add = (k: string, value: string) => {
      deps.push(k);
      const dep = this.index.get(k);
      if (dep === undefined) {
        this.index.set(k, { value, entries: new Set([e]) });
        return;
      }
      dep.entries.add(e);
      if (dep.value !== value) dep.value = UNKNOWN_VALUE;
    };
    for (const [a, v] of reads.accounts) add(ACCOUNT + a, v);
    for (const [s, v] of reads.slots) add(SLOT + s, v);
    e.deps = deps;
  }

  private dropAll(set: Set<Entry>, reason: InvalidationReason): void {
    if (set.size === 0) return;
    this.metrics?.invalidated(reason, set.size);
    for (const e of [...set]) this.drop(e);
  }

  private drop(e: Entry): void {
    if (!e.live) return;
    e.live = false;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    this.pending.delete(e);
    this.perBlock.delete(e);
    for (const k of e.deps ?? []) {
      const dep = this.index.get(k);
      if (dep === undefined) continue;
      dep.entries.delete(e);
      if (dep.entries.size === 0) this.index.delete(k);
    }
  }

  private clear(): void {
    for (const e of this.entries.values()) e.live = false;
    this.entries.clear();
    this.index.clear();
    this.perBlock.clear();
    this.pending.clear();
  }
}
