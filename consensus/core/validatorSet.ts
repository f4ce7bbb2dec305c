import { assert } from "../../runtime/lib/assert.js";

/**
 * A validator set as consensus needs it: voting powers in a fixed order (index = validator id in
 * votes and commits), quorum arithmetic, and CometBFT's weighted round-robin proposer selection.
 */
export interface ConsensusValidator {
  /** Stable tie-breaker for proposer selection (the validator address, hex). */
  address: string;
  votingPower: bigint;
}

export class ValidatorSet {
  readonly validators: readonly ConsensusValidator[];
  readonly totalPower: bigint;
  /** Proposer priorities at the start of the current height (CometBFT `ProposerPriority`). */
  private readonly priorities: bigint[];

  constructor(validators: readonly ConsensusValidator[], priorities?: readonly bigint[]) {
    assert(validators.length > 0, "a validator set is not empty");
    let total = 0n;
    for (const v of validators) {
      assert(v.votingPower > 0n, "voting power is positive");
      total += v.votingPower;
    }
    this.validators = validators;
    this.totalPower = total;
    this.priorities = priorities === undefined ? validators.map(() => 0n) : [...priorities];
    assert(this.priorities.length === validators.length, "one priority per validator");
  }

  get size(): number {
    return this.validators.length;
  }

  /** More than two thirds of the total power (Tendermint's 2f+1). */
  isQuorum(power: bigint): boolean {
    return power * 3n > this.totalPower * 2n;
  }

  /** More than one third of the total power (Tendermint's f+1: at least one honest validator). */
  isOneThird(power: bigint): boolean {
    return power * 3n > this.totalPower;
  }

  power(index: number): bigint {
    return this.validators[index]?.votingPower ?? 0n;
  }

  /**
   * The proposer of `round` at this height. As in CometBFT, the set of a height has been advanced
   * once for the height (here: the first increment), and each further round advances it once more;
   * the proposer is the validator chosen by the last increment.
   */
  proposer(round: number): number {
    const p = [...this.priorities];
    let chosen = 0;
    for (let i = 0; i <= round; i++) chosen = this.incrementOnce(p);
    return chosen;
  }

  /**
   * The proposers of rounds 0 … `rounds` − 1 in one pass (`proposer(r)` costs O(r) per call, so a
   * caller that needs many rounds, or must not redo the work per message, memoizes this instead).
   */
  proposerSequence(rounds: number): number[] {
    assert(Number.isSafeInteger(rounds) && rounds >= 0, "round count is a non-negative integer");
    const p = [...this.priorities];
    const out: number[] = [];
    for (let i = 0; i < rounds; i++) out.push(this.incrementOnce(p));
    return out;
  }

  /** The set for the next height: priorities advanced once per height, whatever round committed (CometBFT). */
  next(): ValidatorSet {
    const p = [...this.priorities];
    this.incrementOnce(p);
    return new ValidatorSet(this.validators, p);
  }

  get proposerPriorities(): readonly bigint[] {
    return this.priorities;
  }

  /**
   * One step of CometBFT's `IncrementProposerPriority`: keep priorities within 2×total (rescale),
   * centre them on zero, add each validator's power, pick the highest (ties: lower address), and
   * take the total power from the one picked.
   */
  private incrementOnce(p: bigint[]): number {
    const total = this.totalPower;
    const max = p.reduce((a, b) => (b > a ? b : a));
    const min = p.reduce((a, b) => (b < a ? b : a));
    const diff = max - min;
    const window = 2n * total;
    if (diff > window) {
      const ratio = (diff + window - 1n) / window;
      for (let i = 0; i < p.length; i++) p[i] /= ratio;
    }
    const sum = p.reduce((a, b) => a + b, 0n);
    const n = BigInt(p.length);
    // Centre on the average, rounding toward negative infinity as Go's big.Int Div does.
    const avg = sum >= 0n ? sum / n : -((-sum + n - 1n) / n);
    for (let i = 0; i < p.length; i++) p[i] -= avg;
    let best = 0;
    for (let i = 0; i < p.length; i++) {
      p[i] += this.validators[i].votingPower;
      if (p[i] > p[best] || (p[i] === p[best] && this.validators[i].address < this.validators[best].address)) best = i;
    }
    p[best] -= total;
    return best;
  }
}
