import { assert } from "../../runtime/lib/assert.js";
import type { Validator, ValidatorUpdate } from "../../runtime/primitives/validatorSet.js";
import type { ValidatorSet } from "../core/validatorSet.js";
import type { ValidatorSchedule } from "../validatorSchedule.js";
import { type HeightValidators, nextValidators } from "./updates.js";

/** Heights below the head whose validators stay in memory (late votes, the last commit, evidence of recent heights). */
const KEPT_BELOW_HEAD = 16n;
/** Heights whose proposer sequences are memoized. */
const MAX_SEQUENCES = 8;
/** Proposer sequences are extended at least this far, then doubled. */
const MIN_SEQUENCE = 16;
/** Heights above the settled ones whose proposers may be guessed (message admission looks 4 ahead). */
const MAX_GUESS_AHEAD = 16n;

/**
 * The validators of each height as the chain decided them, near the head, in memory: what consensus,
 * message admission and block sync ask for synchronously. Validator updates reported by block H take
 * effect at H + 2 (CometBFT), so once H is committed the sets of H + 1 and H + 2 are settled; later
 * heights are not known yet (`validators` answers null; `tentative` offers the newest set, for holding
 * messages that are verified again when their height comes).
 *
 * Each height's record is written with the block that settles it (`settle`, in the block's batch), so
 * reading a height is O(1) at any chain length; nothing is rebuilt from genesis. Older heights are the
 * store's business (node/chain/validatorStore.ts reads them by height from LevelDB).
 */
export class ValidatorHistory implements ValidatorSchedule {
  private readonly byHeight = new Map<bigint, HeightValidators>();
  private readonly sequences = new Map<bigint, number[]>();
  private headHeight: bigint;

  /** `records`: consecutive heights ending at `head` + 2 (at least those two). */
  constructor(head: bigint, records: readonly HeightValidators[]) {
    this.headHeight = head;
    for (const r of records) this.byHeight.set(r.height, r);
    assert(
      this.byHeight.has(head + 1n) && this.byHeight.has(head + 2n),
      "validators of head + 1 and head + 2 are known",
    );
  }

  get head(): bigint {
    return this.headHeight;
  }

  /** The highest height whose validators are settled (head + 2). */
  get settledThrough(): bigint {
    return this.headHeight + 2n;
  }

  /** The validators of `height` when settled and kept in memory, else undefined. */
  at(height: bigint): HeightValidators | undefined {
    return this.byHeight.get(height);
  }

  validators(height: bigint): readonly Validator[] | null {
    return this.byHeight.get(height)?.validators ?? null;
  }

  /**
   * For a height above the settled ones: the newest settled validators — a guess, good for holding a
   * message until its height comes, and the validators a light-client check trusts.
   */
  tentative(height: bigint): { validators: readonly Validator[] } | null {
    if (height <= this.settledThrough) return null;
    return { validators: this.setRecord(this.settledThrough).validators };
  }

  /** The newest settled validators with priorities advanced to `height` as if nothing changed (a near guess). */
  private guessSet(height: bigint): ValidatorSet {
    assert(height - this.settledThrough <= MAX_GUESS_AHEAD, "proposers are guessed only a few heights ahead");
    let set = this.setRecord(this.settledThrough).set;
    for (let h = this.settledThrough; h < height; h++) set = set.next();
    return set;
  }

  private setRecord(height: bigint): HeightValidators {
    const r = this.byHeight.get(height);
    assert(r !== undefined, `validators of height ${height} are settled`);
    return r;
  }

  /** The consensus view of `height`'s validators (throws for an unsettled height: a caller bug). */
  setAt(height: bigint): ValidatorSet {
    return this.setRecord(height).set;
  }

  proposer(height: bigint, round: number): number {
    let seq = this.sequences.get(height);
    if (seq === undefined || round >= seq.length) {
      const want = Math.max(round + 1, MIN_SEQUENCE, 2 * (seq?.length ?? 0));
      const set = height > this.settledThrough ? this.guessSet(height) : this.setRecord(height).set;
      seq = set.proposerSequence(want);
      this.sequences.delete(height);
      this.sequences.set(height, seq);
      if (this.sequences.size > MAX_SEQUENCES) this.sequences.delete(this.sequences.keys().next().value as bigint);
    }
    return seq[round];
  }

  /**
   * The validators of `height` + 2 once `height` (the head + 1) is committed with `updates` — computed,
   * not yet remembered: the caller writes them with the block, then calls `settle`. Throws
   * `ValidatorUpdateError` for updates that cannot apply.
   */
  next(height: bigint, updates: readonly ValidatorUpdate[]): HeightValidators {
    assert(height === this.headHeight + 1n, "validators are settled for the block after the head");
    const base = this.byHeight.get(height + 1n);
    assert(base !== undefined, "validators of the height after the block are settled");
    return nextValidators(base, updates);
  }

  /** `height` is committed and `record` (from `next`) holds the validators of `height` + 2. */
  settle(height: bigint, record: HeightValidators): void {
    assert(height === this.headHeight + 1n, "settled in order");
    assert(record.height === height + 2n, "the record is for two heights above the block");
    this.byHeight.set(record.height, record);
    this.headHeight = height;
    for (const h of this.byHeight.keys()) if (h < height - KEPT_BELOW_HEAD) this.byHeight.delete(h);
    // Sequences of heights at or below the block are done with; those at or above the newly settled
    // height were guessed from the previous newest set, which the block's updates may have changed.
    for (const h of this.sequences.keys()) if (h <= height || h >= record.height) this.sequences.delete(h);
  }

  /**
   * Heights the chain jumped to without settling each one (a rollback and restart, tests): the window
   * is replaced by `records` (consecutive, ending at `head` + 2).
   */
  reset(head: bigint, records: readonly HeightValidators[]): void {
    this.byHeight.clear();
    this.sequences.clear();
    this.headHeight = head;
    for (const r of records) this.byHeight.set(r.height, r);
    assert(
      this.byHeight.has(head + 1n) && this.byHeight.has(head + 2n),
      "validators of head + 1 and head + 2 are known",
    );
  }
}
