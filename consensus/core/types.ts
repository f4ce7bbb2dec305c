/**
 * Types of the Tendermint state machine (`state.ts`). Values are referred to by id (the block hash,
 * as lowercase hex): the core never sees block bodies; the driver validates them and says so.
 */
export type Step = "propose" | "prevote" | "precommit" | "commit";
export type VoteKind = "prevote" | "precommit";
export type TimeoutKind = "propose" | "prevote" | "precommit";

/** A vote as the core sees it: the driver has checked its signature and validator index. */
export interface CoreVote {
  kind: VoteKind;
  height: bigint;
  round: number;
  /** null = a vote for nil. */
  valueId: string | null;
  validator: number;
  /** Opaque to the core (the signed wire vote), carried into decide/evidence outputs. */
  signed?: unknown;
}

/** A proposal from the round's proposer; `valid` is the driver's verdict on the value (Tendermint's valid(v)). */
export interface CoreProposal {
  height: bigint;
  round: number;
  valueId: string;
  /** Tendermint's validRound of the proposer (−1 when none): the round of the POL it relies on. */
  polRound: number;
  valid: boolean;
}

export interface TimeoutParams {
  proposeMs: number;
  proposeDeltaMs: number;
  prevoteMs: number;
  prevoteDeltaMs: number;
  precommitMs: number;
  precommitDeltaMs: number;
}

export type Input =
  /** Enter height `height` at round 0 (after the previous height was committed). */
  | { type: "startHeight"; height: bigint }
  | { type: "proposal"; proposal: CoreProposal }
  | { type: "vote"; vote: CoreVote }
  | { type: "timeout"; kind: TimeoutKind; height: bigint; round: number }
  /** Answer to a `getValue` output: the value this node proposes. */
  | { type: "proposeValue"; height: bigint; round: number; valueId: string };

export type Output =
  | { type: "getValue"; height: bigint; round: number }
  | { type: "broadcastProposal"; height: bigint; round: number; valueId: string; polRound: number }
  | { type: "broadcastVote"; vote: CoreVote }
  | { type: "scheduleTimeout"; kind: TimeoutKind; height: bigint; round: number; durationMs: number }
  /** The value is decided (committed): `precommits` are +2/3 by power, the commit certificate. */
  | { type: "decide"; height: bigint; round: number; valueId: string; precommits: CoreVote[] }
  /** Two conflicting signed votes of one validator at the same height, round and kind. */
  | { type: "evidence"; first: CoreVote; second: CoreVote }
  /** Entered a new round (for metrics and logs). */
  | { type: "newRound"; height: bigint; round: number };
