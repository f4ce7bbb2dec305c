import type { CoreVote, VoteKind } from "./types.js";
import type { ValidatorSet } from "./validatorSet.js";

const NIL = "nil";

/** Distinct values one validator may be counted for in a round (an equivocator's extra votes beyond this are dropped). */
const MAX_VALUES_PER_VALIDATOR = 3;

/**
 * The votes of one kind in one round. A validator's first vote is its vote for "any value" counts
 * (L34, L47, L55). For per-value counts every vote is kept, even conflicting ones: like CometBFT's
 * vote sets tracking a block a peer claims has +2/3, this lets honest nodes see the same proof of
 * lock even when an equivocator showed them different votes first. Safety holds regardless: two
 * quorums overlap in more than a third of the power, so in at least one honest validator, and an
 * honest validator never votes for two values.
 */
class RoundVotes {
  readonly byValidator = new Map<number, CoreVote>();
  private readonly valuesOf = new Map<number, Set<string>>();
  private readonly votesByValue = new Map<string, Map<number, CoreVote>>();
  private readonly powerByValue = new Map<string, bigint>();
  totalPower = 0n;

  /** Returns the validator's earlier vote for another value, if this one conflicts with it. */
  add(v: CoreVote, power: bigint): "added" | "duplicate" | { conflictWith: CoreVote } {
    const key = v.valueId ?? NIL;
    const values = this.valuesOf.get(v.validator) ?? new Set<string>();
    if (values.has(key)) return "duplicate";
    if (values.size >= MAX_VALUES_PER_VALIDATOR) return "duplicate";
    values.add(key);
    this.valuesOf.set(v.validator, values);
    const votes = this.votesByValue.get(key) ?? new Map<number, CoreVote>();
    votes.set(v.validator, v);
    this.votesByValue.set(key, votes);
    this.powerByValue.set(key, (this.powerByValue.get(key) ?? 0n) + power);
    const first = this.byValidator.get(v.validator);
    if (first === undefined) {
      this.byValidator.set(v.validator, v);
      this.totalPower += power;
      return "added";
    }
    return { conflictWith: first };
  }

  powerFor(valueId: string | null): bigint {
    return this.powerByValue.get(valueId ?? NIL) ?? 0n;
  }

  votesFor(valueId: string): CoreVote[] {
    return [...(this.votesByValue.get(valueId)?.values() ?? [])];
  }
}

export type AddVoteResult =
  | { kind: "added" }
  | { kind: "duplicate" }
  /** Same validator, height, round and kind, another value: equivocation (both are kept for per-value counts). */
  | { kind: "conflict"; first: CoreVote };

/**
 * All votes of one height, by round and kind. Bounded: votes are kept for at most `maxRounds`
 * distinct rounds (a Byzantine validator cannot make it grow by voting in ever higher rounds).
 */
export class HeightVoteSet {
  private readonly rounds = new Map<number, { prevote: RoundVotes; precommit: RoundVotes }>();
  private readonly validators: ValidatorSet;
  private readonly maxRounds: number;

  constructor(validators: ValidatorSet, maxRounds = 64) {
    this.validators = validators;
    this.maxRounds = maxRounds;
  }

  private round(r: number, create: boolean) {
    let entry = this.rounds.get(r);
    if (entry === undefined && create) {
      if (this.rounds.size >= this.maxRounds) return undefined;
      entry = { prevote: new RoundVotes(), precommit: new RoundVotes() };
      this.rounds.set(r, entry);
    }
    return entry;
  }

  get validatorCount(): number {
    return this.validators.size;
  }

  add(v: CoreVote): AddVoteResult {
    const entry = this.round(v.round, true);
    if (entry === undefined) return { kind: "duplicate" }; // over the bound: dropped
    const r = entry[v.kind].add(v, this.validators.power(v.validator));
    if (r === "added" || r === "duplicate") return { kind: r };
    return { kind: "conflict", first: r.conflictWith };
  }

  powerFor(kind: VoteKind, round: number, valueId: string | null): bigint {
    return this.round(round, false)?.[kind].powerFor(valueId) ?? 0n;
  }

  /** Power of all votes of `kind` in `round`, whatever their value ("2f+1 ⟨PREVOTE, h, r, ∗⟩"). */
  powerAny(kind: VoteKind, round: number): bigint {
    return this.round(round, false)?.[kind].totalPower ?? 0n;
  }

  /** Power of validators with any message in `round` (for the f+1 round-skip rule). */
  powerInRound(round: number): bigint {
    const entry = this.round(round, false);
    if (entry === undefined) return 0n;
    const seen = new Set<number>([...entry.prevote.byValidator.keys(), ...entry.precommit.byValidator.keys()]);
    let p = 0n;
    for (const i of seen) p += this.validators.power(i);
    return p;
  }

  roundsAbove(round: number): number[] {
    return [...this.rounds.keys()].filter((r) => r > round).sort((a, b) => a - b);
  }

  votesFor(kind: VoteKind, round: number, valueId: string): CoreVote[] {
    const set = this.round(round, false)?.[kind];
    if (set === undefined) return [];
    return set.votesFor(valueId).sort((a, b) => a.validator - b.validator);
  }

  /** Rounds in which `kind` votes exist (for the decision rule, which looks at any round). */
  knownRounds(): number[] {
    return [...this.rounds.keys()];
  }
}
