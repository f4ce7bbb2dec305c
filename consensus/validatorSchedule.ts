import { bytesToHex } from "../runtime/primitives/bytes.js";
import type { Validator } from "../runtime/primitives/validatorSet.js";
import { ValidatorSet } from "./core/validatorSet.js";

/**
 * Port: who validates which height. Message verification asks it for the signers it may accept
 * and for the proposer of a round; a set that changes on chain (staking) answers `null` for
 * heights whose set is not settled yet, and messages of those heights are not believed.
 */
export interface ValidatorSchedule {
  /** The validators of `height` (index = the validator id in votes and commits), or null if not known yet. */
  validators(height: bigint): readonly Validator[] | null;
  /**
   * The proposer (validator index) of `round` at `height`; asked only for heights whose validators are
   * known, or offered by `tentative`.
   */
  proposer(height: bigint, round: number): number;
  /**
   * For a near height whose validators are not settled yet: the newest settled ones, a guess good for
   * holding a message until its height comes (it is verified again then). Null when there is no guess.
   */
  tentative?(height: bigint): { validators: readonly Validator[] } | null;
}

/** Heights whose proposer state is kept (the driver walks heights in order and looks a few ahead). */
const MAX_CACHED_HEIGHTS = 16;
/** Proposer sequences are extended at least this far, then doubled. */
const MIN_SEQUENCE = 16;

/**
 * One fixed set of validators at every height, with CometBFT's proposer priorities advanced once per
 * height — for tests and tools that need no on-chain set changes (the node reads the validators of each
 * height from `ValidatorHistory`, consensus/validators/history.ts). Each height's priorities are derived from the nearest cached
 * lower height, and the proposer sequence of a height is memoized, so the proposer of round r costs
 * O(r) once per height — not once per message, which would let one message with a huge round
 * number stall the node.
 */
export class StaticValidatorSchedule implements ValidatorSchedule {
  private readonly base: ValidatorSet;
  private readonly sets = new Map<bigint, ValidatorSet>();
  private readonly sequences = new Map<bigint, number[]>();

  constructor(private readonly list: readonly Validator[]) {
    this.base = new ValidatorSet(list.map((v) => ({ address: bytesToHex(v.address), votingPower: v.votingPower })));
  }

  validators(_height: bigint): readonly Validator[] {
    return this.list;
  }

  /** The consensus validator set of `height`: the genesis priorities advanced `height` times. */
  setAt(height: bigint): ValidatorSet {
    const cached = this.sets.get(height);
    if (cached !== undefined) return cached;
    let from = 0n;
    let set = this.base;
    for (const [h, s] of this.sets) {
      if (h < height && h >= from) {
        from = h;
        set = s;
      }
    }
    for (let h = from; h < height; h++) set = set.next();
    remember(this.sets, height, set);
    return set;
  }

  proposer(height: bigint, round: number): number {
    let seq = this.sequences.get(height);
    if (seq === undefined || round >= seq.length) {
      const want = Math.max(round + 1, MIN_SEQUENCE, 2 * (seq?.length ?? 0));
      seq = this.setAt(height).proposerSequence(want);
      remember(this.sequences, height, seq);
    }
    return seq[round];
  }
}

/** Inserts as the newest entry, evicting the oldest beyond MAX_CACHED_HEIGHTS. */
function remember<V>(map: Map<bigint, V>, key: bigint, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CACHED_HEIGHTS) map.delete(map.keys().next().value as bigint);
}
