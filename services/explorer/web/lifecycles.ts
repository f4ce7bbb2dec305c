/**
 * The platform objects' lifecycles as the pages draw them (pure, no DOM): each module's states in order, and which
 * of an object's indexed events moved it to which state.
 */
import type { ModuleEvent } from "./platformApi.js";

/** One event of a module's history, and the state it moved the object to (null: no state change). */
export interface Transition {
  event: ModuleEvent;
  to: string | null;
}

/**
 * Each lifecycle as stages: an object moves from a stage to a later one; the states of a stage are alternatives
 * (a proposal's voting ends Passed, Rejected or Vetoed — or it Expired without its deposit).
 */
export type Stages = readonly (readonly string[])[];

export const PROPOSAL_STAGES: Stages = [
  ["DepositPeriod"],
  ["VotingPeriod"],
  ["Passed", "Rejected", "Vetoed", "Expired"],
  ["Executed", "Failed"],
];
/** Active can settle at once (release, refund) or after a dispute (release, refund, the arbiter's split). */
export const ESCROW_STAGES: Stages = [["Active"], ["Disputed"], ["Released", "Refunded", "Resolved"]];
export const JOB_STAGES: Stages = [
  ["Open"],
  ["Claimed"],
  ["Submitted"],
  ["Challenged"],
  ["Finalized", "Refunded", "Cancelled"],
];

const PROPOSAL_MOVES: Record<string, string> = {
  ProposalSubmitted: "DepositPeriod",
  VotingStarted: "VotingPeriod",
  ProposalExecuted: "Executed",
  ProposalFailed: "Failed",
};
const ESCROW_MOVES: Record<string, string> = {
  EscrowCreated: "Active",
  EscrowDisputed: "Disputed",
  EscrowReleased: "Released",
  EscrowRefunded: "Refunded",
  EscrowResolved: "Resolved",
};

/** Passed, Rejected and Vetoed are decided in governance's end-block hook, which logs nothing. */
export const proposalTransitions = (events: ModuleEvent[]): Transition[] =>
  events.map((e) => ({ event: e, to: PROPOSAL_MOVES[e.event] ?? null }));

export const escrowTransitions = (events: ModuleEvent[]): Transition[] =>
  events.map((e) => ({ event: e, to: ESCROW_MOVES[e.event] ?? null }));

/**
 * Which events move a job: claims fill slots (Claimed once every slot is), deliveries complete them (Submitted once
 * every slot delivered), a challenge opens a dispute, a resumed retrieval job is Submitted again; the rest settle it.
 */
export function jobTransitions(redundancy: number, events: ModuleEvent[]): Transition[] {
  let claimed = 0;
  let delivered = 0;
  return events.map((e) => {
    let to: string | null = null;
    switch (e.event) {
      case "JobPosted":
        to = "Open";
        break;
      case "JobClaimed":
        claimed++;
        if (claimed === redundancy) to = "Claimed";
        break;
      case "ResultSubmitted":
        delivered++;
        if (delivered === redundancy) to = "Submitted";
        break;
      case "JobChallenged":
        to = "Challenged";
        break;
      case "JobResumed":
        to = "Submitted";
        break;
      case "JobFinalized":
        to = "Finalized";
        break;
      case "JobRefunded":
        to = "Refunded";
        break;
      case "JobCancelled":
        to = "Cancelled";
        break;
    }
    return { event: e, to };
  });
}
