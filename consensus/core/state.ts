import type { CoreProposal, CoreVote, Input, Output, Step, TimeoutKind, TimeoutParams, VoteKind } from "./types.js";
import type { ValidatorSet } from "./validatorSet.js";
import { HeightVoteSet } from "./voteSet.js";

/**
 * Tendermint consensus for one node, as a deterministic state machine: `step(input)` returns the
 * outputs (messages to broadcast, timeouts to schedule, a decision, evidence). It reads no clock,
 * does no I/O and draws no randomness; the driver (node/) or the simulator (test/sim/) runs the
 * outputs. Line numbers (Lnn) refer to Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip
 * on BFT consensus" (arXiv:1807.04938), reproduced in consensus/README.md.
 */
export interface CoreConfig {
  /** This node's index in the validator set, or null for a non-validating follower. */
  self: number | null;
  timeouts: TimeoutParams;
  /** Proposals kept per round (a Byzantine proposer may send several). */
  maxProposalsPerRound?: number;
}

export interface CoreSnapshot {
  height: bigint;
  round: number;
  step: Step;
  lockedValue: string | null;
  lockedRound: number;
  validValue: string | null;
  validRound: number;
  decided: string | null;
}

export class ConsensusCore {
  private cfg: CoreConfig;
  private validators: ValidatorSet;
  // L1–L10: the node's state.
  private height = 0n;
  private round = 0;
  private stepName: Step = "commit";
  private lockedValue: string | null = null;
  private lockedRound = -1;
  private validValue: string | null = null;
  private validRound = -1;
  private decided: string | null = null;
  private votes: HeightVoteSet;
  /** The previous height's votes, kept so late conflicting votes still yield evidence. */
  private lastVotes: HeightVoteSet | null = null;
  /** Proposals of this height by round; the first is the round's proposal, others only help L49. */
  private proposals = new Map<number, CoreProposal[]>();
  // "for the first time" guards of L34, L36 and L47.
  private prevoteTimeoutScheduled = new Set<number>();
  private precommitTimeoutScheduled = new Set<number>();
  private lockedOrValidAt = new Set<number>();
  private awaitingValue = false;
  private out: Output[] = [];

  constructor(cfg: CoreConfig, validators: ValidatorSet) {
    this.cfg = cfg;
    this.validators = validators;
    this.votes = new HeightVoteSet(validators);
  }

  snapshot(): CoreSnapshot {
    return {
      height: this.height,
      round: this.round,
      step: this.stepName,
      lockedValue: this.lockedValue,
      lockedRound: this.lockedRound,
      validValue: this.validValue,
      validRound: this.validRound,
      decided: this.decided,
    };
  }

  get validatorSet(): ValidatorSet {
    return this.validators;
  }

  /** The proposer of `round` at the current height. */
  proposer(round: number): number {
    return this.validators.proposer(round);
  }

  step(input: Input): Output[] {
    this.out = [];
    switch (input.type) {
      case "startHeight":
        this.startHeight(input.height);
        break;
      case "proposal":
        this.onProposal(input.proposal);
        break;
      case "vote":
        this.onVote(input.vote);
        break;
      case "timeout":
        this.onTimeout(input.kind, input.height, input.round);
        break;
      case "proposeValue":
        this.onProposeValue(input.height, input.round, input.valueId);
        break;
    }
    this.evaluate();
    return this.out;
  }

  /** Moves to `height` with `validators` (the set after the previous height's commit). */
  setValidators(validators: ValidatorSet): void {
    this.validators = validators;
  }

  /**
   * What the next `startHeight` runs with: that height's validators, this node's index among them
   * (null when it does not validate there: the set changes on chain) and the timeouts in force.
   */
  configureHeight(ctx: { validators: ValidatorSet; self: number | null; timeouts: TimeoutParams }): void {
    this.validators = ctx.validators;
    this.cfg = { ...this.cfg, self: ctx.self, timeouts: ctx.timeouts };
  }

  // --- inputs ----------------------------------------------------------------------------------

  private startHeight(height: bigint): void {
    // L52–L54: new height, locks and message log reset.
    this.lastVotes = height === this.height + 1n ? this.votes : null;
    this.height = height;
    this.lockedValue = null;
    this.lockedRound = -1;
    this.validValue = null;
    this.validRound = -1;
    this.decided = null;
    this.votes = new HeightVoteSet(this.validators);
    this.proposals = new Map();
    this.prevoteTimeoutScheduled = new Set();
    this.precommitTimeoutScheduled = new Set();
    this.lockedOrValidAt = new Set();
    this.startRound(0);
  }

  /** L11–L21: StartRound(round). */
  private startRound(round: number): void {
    this.round = round;
    this.stepName = "propose";
    this.awaitingValue = false;
    this.out.push({ type: "newRound", height: this.height, round });
    if (this.cfg.self !== null && this.validators.proposer(round) === this.cfg.self) {
      if (this.validValue !== null) {
        // L15–L16: re-propose the value that has a POL (validValue) with its round.
        this.propose(this.validValue, this.validRound);
      } else {
        // L17–L18: getValue() is asynchronous: the driver answers with proposeValue.
        this.awaitingValue = true;
        this.out.push({ type: "getValue", height: this.height, round });
      }
    } else {
      // L21: schedule OnTimeoutPropose.
      this.scheduleTimeout("propose", round);
    }
  }

  private propose(valueId: string, polRound: number): void {
    // L19: broadcast ⟨PROPOSAL, h_p, round_p, proposal, validRound_p⟩. Our own value is valid by construction.
    this.out.push({ type: "broadcastProposal", height: this.height, round: this.round, valueId, polRound });
    this.recordProposal({ height: this.height, round: this.round, valueId, polRound, valid: true });
  }

  private onProposeValue(height: bigint, round: number, valueId: string): void {
    if (height !== this.height || round !== this.round || !this.awaitingValue || this.stepName !== "propose") return;
    this.awaitingValue = false;
    this.propose(valueId, -1);
  }

  private onProposal(p: CoreProposal): void {
    if (p.height !== this.height) return;
    this.recordProposal(p);
  }

  private recordProposal(p: CoreProposal): void {
    const list = this.proposals.get(p.round) ?? [];
    if (list.some((q) => q.valueId === p.valueId)) return;
    if (list.length >= (this.cfg.maxProposalsPerRound ?? 4)) return;
    list.push(p);
    this.proposals.set(p.round, list);
  }

  private onVote(v: CoreVote): void {
    const set = v.height === this.height ? this.votes : v.height === this.height - 1n ? this.lastVotes : null;
    if (set === null) return;
    // Against the set of the vote's own height (the previous height's may differ).
    if (v.validator < 0 || v.validator >= set.validatorCount) return;
    const r = set.add(v);
    if (r.kind === "conflict") this.out.push({ type: "evidence", first: r.first, second: v });
  }

  private onTimeout(kind: TimeoutKind, height: bigint, round: number): void {
    if (height !== this.height || round !== this.round || this.decided !== null) return;
    if (kind === "propose" && this.stepName === "propose") {
      // L57–L60: OnTimeoutPropose.
      this.castVote("prevote", null);
      this.stepName = "prevote";
    } else if (kind === "prevote" && this.stepName === "prevote") {
      // L61–L64: OnTimeoutPrevote.
      this.castVote("precommit", null);
      this.stepName = "precommit";
    } else if (kind === "precommit") {
      // L65–L67: OnTimeoutPrecommit.
      this.startRound(round + 1);
    }
  }

  // --- the upon-rules, evaluated until nothing changes ------------------------------------------

  private evaluate(): void {
    for (let guard = 0; guard < 64; guard++) {
      if (!this.applyOneRule()) return;
    }
  }

  /** Applies the first rule whose condition holds; true if something changed. */
  private applyOneRule(): boolean {
    if (this.decided !== null || this.stepName === "commit") return false;
    const { height: h } = this;
    const vs = this.validators;

    // L49–L54: decision, in any round of this height.
    for (const r of this.votes.knownRounds()) {
      for (const p of this.proposals.get(r) ?? []) {
        if (!p.valid) continue;
        if (vs.isQuorum(this.votes.powerFor("precommit", r, p.valueId))) {
          this.decided = p.valueId;
          this.stepName = "commit";
          this.out.push({
            type: "decide",
            height: h,
            round: r,
            valueId: p.valueId,
            precommits: this.votes.votesFor("precommit", r, p.valueId),
          });
          return true;
        }
      }
    }

    // L55–L56: f+1 messages of a higher round: catch up to it.
    const higher = this.votes.roundsAbove(this.round).filter((r) => vs.isOneThird(this.votes.powerInRound(r)));
    if (higher.length > 0) {
      this.startRound(higher[higher.length - 1]);
      return true;
    }

    const proposal = this.proposals.get(this.round)?.[0];
    if (this.stepName === "propose" && proposal !== undefined) {
      if (proposal.polRound === -1) {
        // L22–L27
        const ok = proposal.valid && (this.lockedRound === -1 || this.lockedValue === proposal.valueId);
        this.castVote("prevote", ok ? proposal.valueId : null);
        this.stepName = "prevote";
        return true;
      }
      const vr = proposal.polRound;
      if (vr >= 0 && vr < this.round && vs.isQuorum(this.votes.powerFor("prevote", vr, proposal.valueId))) {
        // L28–L33
        const ok = proposal.valid && (this.lockedRound <= vr || this.lockedValue === proposal.valueId);
        this.castVote("prevote", ok ? proposal.valueId : null);
        this.stepName = "prevote";
        return true;
      }
    }

    // L34–L35
    if (
      this.stepName === "prevote" &&
      !this.prevoteTimeoutScheduled.has(this.round) &&
      vs.isQuorum(this.votes.powerAny("prevote", this.round))
    ) {
      this.prevoteTimeoutScheduled.add(this.round);
      this.scheduleTimeout("prevote", this.round);
      return true;
    }

    // L36–L43
    if (
      proposal?.valid &&
      (this.stepName === "prevote" || this.stepName === "precommit") &&
      !this.lockedOrValidAt.has(this.round) &&
      vs.isQuorum(this.votes.powerFor("prevote", this.round, proposal.valueId))
    ) {
      this.lockedOrValidAt.add(this.round);
      if (this.stepName === "prevote") {
        this.lockedValue = proposal.valueId;
        this.lockedRound = this.round;
        this.castVote("precommit", proposal.valueId);
        this.stepName = "precommit";
      }
      this.validValue = proposal.valueId;
      this.validRound = this.round;
      return true;
    }

    // L44–L46
    if (this.stepName === "prevote" && vs.isQuorum(this.votes.powerFor("prevote", this.round, null))) {
      this.castVote("precommit", null);
      this.stepName = "precommit";
      return true;
    }

    // L47–L48
    if (!this.precommitTimeoutScheduled.has(this.round) && vs.isQuorum(this.votes.powerAny("precommit", this.round))) {
      this.precommitTimeoutScheduled.add(this.round);
      this.scheduleTimeout("precommit", this.round);
      return true;
    }
    return false;
  }

  private castVote(kind: VoteKind, valueId: string | null): void {
    if (this.cfg.self === null) return;
    const vote: CoreVote = { kind, height: this.height, round: this.round, valueId, validator: this.cfg.self };
    // Our own vote is counted when the driver feeds it back as a `vote` input after the double-sign
    // guard signed it (CometBFT sends its signed votes to itself the same way). Counting it here
    // made a restarted validator whose guard refused the vote (it had signed another one before the
    // crash) lock on a proof of lock nobody else could see: a livelock the simulator found.
    this.out.push({ type: "broadcastVote", vote });
  }

  private scheduleTimeout(kind: TimeoutKind, round: number): void {
    const t = this.cfg.timeouts;
    const [base, delta] =
      kind === "propose"
        ? [t.proposeMs, t.proposeDeltaMs]
        : kind === "prevote"
          ? [t.prevoteMs, t.prevoteDeltaMs]
          : [t.precommitMs, t.precommitDeltaMs];
    this.out.push({ type: "scheduleTimeout", kind, height: this.height, round, durationMs: base + delta * round });
  }
}
