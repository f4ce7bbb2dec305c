import { bytesToHex } from "../../runtime/primitives/bytes.js";
import {
  FutureBuffer,
  type FutureBufferLimits,
  MessageError,
  type MessageVerifier,
  type NodePosition,
  Placement,
  type VerifiedProposal,
  type VerifiedVote,
} from "../messages/index.js";
import type { ConsensusMetrics, InboundVerdict } from "./ports.js";

/** A message held for a height above ours: a copy (never a view into a network buffer), and who relayed it. */
export type HeldMessage = { topic: "proposal" | "vote"; data: Uint8Array; from: string };

/** Codes of messages that verified but are not relayed now (IGNORE, no penalty). */
export enum HeldMessageCode {
  /** A few heights ahead: held until this node gets there, never relayed. */
  HELD = "CONSENSUS_MESSAGE_HELD_FOR_HEIGHT",
  /** The future buffer is full of nearer heights. */
  BUFFER_FULL = "CONSENSUS_MESSAGE_BUFFER_FULL",
  /** Already held (it came by another route). */
  DUPLICATE = "CONSENSUS_MESSAGE_DUPLICATE",
}

export type Admitted = VerifiedVote | VerifiedProposal;

/**
 * Admission of peers' proposals and votes (gossip, direct re-sends, or held ones replayed): verified
 * before anything else — size, height and round window, membership, signature (`MessageVerifier`).
 * Accept means gossipsub relays it, so only verified messages of heights h − 1 … h + 1 are accepted;
 * verified messages of h + 2 … h + 4 are held but not relayed and hint that the relaying peer is
 * ahead; anything farther is dropped unread. Refusals become verdicts here, once: provable
 * misbehaviour is REJECT (the relaying peer's score pays), anything else IGNORE.
 */
export class Inbound {
  private readonly future: FutureBuffer<HeldMessage>;

  constructor(
    private readonly admission: MessageVerifier,
    private readonly host: {
      position(): NodePosition;
      /** A verified message of the current or previous height, for the input queue. */
      admitted(checked: Admitted, data: Uint8Array): void;
      /** A verified message from two or more heights ahead came from `peer`: it is probably ahead. */
      hint(peer: string): void;
      metrics?: ConsensusMetrics | null;
    },
    limits?: Partial<FutureBufferLimits>,
  ) {
    this.future = new FutureBuffer(limits);
  }

  receive(topic: "proposal" | "vote", data: Uint8Array, from: string): InboundVerdict {
    const at = this.host.position();
    let checked: Admitted;
    try {
      checked = topic === "vote" ? this.admission.decodeVote(data, at) : this.admission.decodeProposal(data, at);
    } catch (e) {
      if (!(e instanceof MessageError)) throw e;
      return { action: e.peerFault ? "reject" : "ignore", code: e.code, reason: e.type.reason };
    }
    if (checked.placement === Placement.NEXT || checked.placement === Placement.FUTURE) {
      return this.hold(topic, checked, data, from);
    }
    this.host.admitted(checked, data);
    return { action: "accept" };
  }

  /** Messages held for `height` (dropping those of lower heights), to be received again now. */
  takeHeld(height: bigint): HeldMessage[] {
    const held = this.future.take(height);
    this.host.metrics?.futureBuffer?.(this.future.size, this.future.bytes);
    return held;
  }

  /** Keeps a verified message of a height above ours; IGNORE for what is not to be relayed. */
  private hold(topic: "proposal" | "vote", checked: Admitted, data: Uint8Array, from: string): InboundVerdict {
    let height: bigint;
    let key: string;
    if ("vote" in checked) {
      const v = checked.vote;
      height = v.height;
      key = `v/${v.type}/${v.round}/${v.validatorIndex}/${v.blockHash === null ? "nil" : bytesToHex(v.blockHash)}`;
    } else {
      height = checked.proposal.height;
      key = `p/${checked.proposal.round}/${bytesToHex(checked.blockHash)}`;
    }
    const held = this.future.add(height, key, data.length, { topic, data: data.slice(), from });
    this.host.metrics?.futureBuffer?.(this.future.size, this.future.bytes);
    if (checked.placement === Placement.FUTURE) {
      // A validator signed for a height two or more above ours: we are probably behind.
      this.host.hint(from);
      return { action: "ignore", code: HeldMessageCode.HELD, reason: `height ${height}` };
    }
    if (held === "duplicate") return { action: "ignore", code: HeldMessageCode.DUPLICATE, reason: "already held" };
    if (held === "full") return { action: "ignore", code: HeldMessageCode.BUFFER_FULL, reason: "no room" };
    return { action: "accept" };
  }
}
