import { hashHeader } from "../../runtime/primitives/block.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import { proposalSignBytes } from "../proposal.js";
import type { ValidatorSchedule } from "../validatorSchedule.js";
import { type SignatureVerifier, voteSignBytes } from "../vote.js";
import {
  type DuplicateVoteEvidence,
  decodeEvidence,
  decodeSignedProposal,
  decodeSignedVote,
  isConflictingPair,
  peekMessageHeight,
  type SignedProposal,
  type SignedVote,
} from "../wire.js";
import { MessageError, MessageErrorCode } from "./errors.js";

const MiB = 1024 * 1024;

/** What a consensus message may weigh and how far ahead of the node it may be. */
export interface MessageLimits {
  /** An encoded vote is ~120 bytes; anything above this is not a vote an honest node made. */
  maxVoteBytes: number;
  /** An encoded proposal carries one block; above this it is refused (the gossip topic cap is the same 4 MiB). */
  maxProposalBytes: number;
  /** Messages more than this many heights above the node's are dropped unread: block sync covers that distance. */
  maxHeightsAhead: number;
  /**
   * Messages more than this many rounds above the node's round at their height are dropped before any
   * work: finding the proposer of round r costs O(r), so an unbounded round would let one message stall
   * the node (the wire allows 2^32). Honest validators at one height stay within a few rounds of each other.
   */
  maxRoundsAhead: number;
}

export const DEFAULT_MESSAGE_LIMITS: Readonly<MessageLimits> = {
  maxVoteBytes: 512,
  maxProposalBytes: 4 * MiB,
  maxHeightsAhead: 4,
  maxRoundsAhead: 1000,
};

/** Where a message's height sits relative to the node's current height h. */
export enum Placement {
  /** h − 1: late votes (commit certificates, evidence). */
  PREVIOUS = "previous",
  /** h: handled now, relayed. */
  CURRENT = "current",
  /** h + 1: a peer has committed h; kept for when this node gets there, relayed. */
  NEXT = "next",
  /** h + 2 … h + maxHeightsAhead: kept (bounded), never relayed; a sign this node is behind. */
  FUTURE = "future",
}

/** The node's position: its consensus height and its round there. */
export interface NodePosition {
  height: bigint;
  round: number;
}

/** The signed part of a proposal: enough to check who signed it without the block. */
export interface ProposalHeader {
  height: bigint;
  round: number;
  polRound: number;
  blockHash: Uint8Array;
  signature: Uint8Array;
}

export interface VerifiedVote {
  vote: SignedVote;
  placement: Placement;
}

export interface VerifiedProposal {
  proposal: SignedProposal;
  blockHash: Uint8Array;
  placement: Placement;
  /** The validator index of the round's proposer, who signed it. */
  proposer: number;
}

export interface MessageVerifierModules {
  schedule: ValidatorSchedule;
  verifier: SignatureVerifier;
}

/**
 * Admission of consensus messages, before they are relayed, stored or fed to the state machine:
 * size, height and round window, validator membership at the message's height, and the signature
 * (a proposal's must be its round proposer's). Pure: validator sets and signature checks come in
 * through ports, so the simulator can run it with its own. Cheap checks go first: a message for a
 * height outside the window costs a few byte reads, whatever its size. Every refusal is a
 * `MessageError`; `peerFault` says whether it proves misbehaviour.
 */
export class MessageVerifier {
  readonly limits: Readonly<MessageLimits>;

  constructor(
    private readonly chainId: bigint,
    private readonly m: MessageVerifierModules,
    limits: Partial<MessageLimits> = {},
  ) {
    this.limits = { ...DEFAULT_MESSAGE_LIMITS, ...limits };
  }

  /** Decodes and verifies an encoded vote. */
  decodeVote(data: Uint8Array, at: NodePosition): VerifiedVote {
    if (data.length > this.limits.maxVoteBytes) {
      throw new MessageError(MessageErrorCode.TOO_LARGE, `vote of ${data.length} bytes`);
    }
    this.placement(peekHeight(data, "vote"), at, "vote");
    const vote = decode(() => decodeSignedVote(data));
    return { vote, placement: this.checkVote(vote, at) };
  }

  /** Decodes and verifies an encoded proposal; the block is decoded only when its height is in the window. */
  decodeProposal(data: Uint8Array, at: NodePosition): VerifiedProposal {
    if (data.length > this.limits.maxProposalBytes) {
      throw new MessageError(MessageErrorCode.TOO_LARGE, `proposal of ${data.length} bytes`);
    }
    this.placement(peekHeight(data, "proposal"), at, "proposal");
    const proposal = decode(() => decodeSignedProposal(data));
    const blockHash = hashHeader(proposal.block.header);
    if (proposal.block.header.number !== proposal.height) {
      throw new MessageError(MessageErrorCode.MALFORMED, "proposal height differs from its block's number");
    }
    const { placement, proposer } = this.checkProposal({ ...proposal, blockHash }, at);
    return { proposal, blockHash, placement, proposer };
  }

  /** Decodes evidence and verifies both votes' signatures (at any height: equivocation is provable later too). */
  decodeEvidence(data: Uint8Array): DuplicateVoteEvidence {
    const e = decode(() => decodeEvidence(data));
    if (!isConflictingPair(e)) throw new MessageError(MessageErrorCode.NOT_CONFLICTING, "votes do not conflict");
    this.verifyVoteSignature(e.a);
    this.verifyVoteSignature(e.b);
    return e;
  }

  /** Window, round, membership and signature of a decoded vote; its placement when all hold. */
  checkVote(v: SignedVote, at: NodePosition): Placement {
    const placement = this.placement(v.height, at, "vote");
    this.checkRound(v.height, v.round, at);
    this.verifyVoteSignature(v, placement === Placement.FUTURE);
    return placement;
  }

  /** Window, round and the round proposer's signature of a proposal; its placement and proposer. */
  checkProposal(p: ProposalHeader, at: NodePosition): { placement: Placement; proposer: number } {
    const placement = this.placement(p.height, at, "proposal");
    this.checkRound(p.height, p.round, at);
    const { validators, guess } = this.validatorsAt(p.height, placement === Placement.FUTURE);
    const proposer = this.m.schedule.proposer(p.height, p.round);
    const key = validators[proposer]?.publicKey;
    const msg = proposalSignBytes(this.chainId, p.height, p.round, p.blockHash, p.polRound);
    if (key === undefined || !this.m.verifier.verify(key, msg, p.signature)) {
      if (guess) throw unsettled(p.height);
      throw new MessageError(MessageErrorCode.BAD_SIGNATURE, "proposal not signed by the round's proposer");
    }
    return { placement, proposer };
  }

  /**
   * Membership and signature of a vote at its own height, whatever the node's position. With
   * `mayGuess`, a height whose validators are not settled yet is checked against the schedule's
   * tentative set; a vote that fails that guess is not blamed on its sender (the set may have changed).
   */
  verifyVoteSignature(v: SignedVote, mayGuess = false): void {
    const { validators, guess } = this.validatorsAt(v.height, mayGuess);
    const validator = validators[v.validatorIndex];
    if (validator === undefined) {
      if (guess) throw unsettled(v.height);
      throw new MessageError(MessageErrorCode.UNKNOWN_VALIDATOR, `validator index ${v.validatorIndex}`);
    }
    const msg = voteSignBytes(this.chainId, v.type, v.height, v.round, v.blockHash);
    if (!this.m.verifier.verify(validator.publicKey, msg, v.signature)) {
      if (guess) throw unsettled(v.height);
      throw new MessageError(MessageErrorCode.BAD_SIGNATURE, "vote not signed by its validator");
    }
  }

  /** Where `height` sits for a message of `kind`; throws for heights outside the window. */
  placement(height: bigint, at: NodePosition, kind: "vote" | "proposal"): Placement {
    const d = height - at.height;
    if (d === 0n) return Placement.CURRENT;
    if (d === 1n) return Placement.NEXT;
    if (d === -1n && kind === "vote") return Placement.PREVIOUS;
    if (d < 0n) throw new MessageError(MessageErrorCode.OLD_HEIGHT, `height ${height} < ${at.height}`);
    if (d <= BigInt(this.limits.maxHeightsAhead)) return Placement.FUTURE;
    throw new MessageError(
      MessageErrorCode.FAR_HEIGHT,
      `height ${height} > ${at.height} + ${this.limits.maxHeightsAhead}`,
    );
  }

  private checkRound(height: bigint, round: number, at: NodePosition): void {
    const base = height === at.height ? at.round : 0;
    if (round > base + this.limits.maxRoundsAhead) {
      throw new MessageError(MessageErrorCode.FAR_ROUND, `round ${round} > ${base} + ${this.limits.maxRoundsAhead}`);
    }
  }

  private validatorsAt(height: bigint, mayGuess: boolean): { validators: readonly Validator[]; guess: boolean } {
    const validators = this.m.schedule.validators(height);
    if (validators !== null) return { validators, guess: false };
    const tentative = mayGuess ? (this.m.schedule.tentative?.(height) ?? null) : null;
    if (tentative === null) throw unsettled(height);
    return { validators: tentative.validators, guess: true };
  }
}

function unsettled(height: bigint): MessageError {
  return new MessageError(MessageErrorCode.VALIDATORS_UNKNOWN, `validator set of height ${height} not known yet`);
}

function peekHeight(data: Uint8Array, kind: "vote" | "proposal"): bigint {
  return decode(() => peekMessageHeight(data, kind));
}

function decode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CodecError) throw new MessageError(MessageErrorCode.MALFORMED, e.message);
    throw e;
  }
}
