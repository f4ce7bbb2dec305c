import { AzoraError } from "../../runtime/lib/errors.js";

/** Why a consensus message (vote, proposal, evidence) was not taken. Bounded: these become metrics labels. */
export enum MessageErrorCode {
  /** Not a well-formed vote, proposal or evidence. */
  MALFORMED = "CONSENSUS_MESSAGE_MALFORMED",
  /** Larger than any honest message of its kind. */
  TOO_LARGE = "CONSENSUS_MESSAGE_TOO_LARGE",
  /** For a height this node has already moved past (by more than one for votes). */
  OLD_HEIGHT = "CONSENSUS_MESSAGE_OLD_HEIGHT",
  /** For a height beyond the look-ahead window: dropped unread (block sync, not gossip, catches a node up that far). */
  FAR_HEIGHT = "CONSENSUS_MESSAGE_FAR_HEIGHT",
  /** For a round beyond the look-ahead window of its height: dropped before any work. */
  FAR_ROUND = "CONSENSUS_MESSAGE_FAR_ROUND",
  /** The validator set of the message's height is not known yet, so it cannot be verified. */
  VALIDATORS_UNKNOWN = "CONSENSUS_MESSAGE_VALIDATORS_UNKNOWN",
  /** The signer is not a validator at the message's height. */
  UNKNOWN_VALIDATOR = "CONSENSUS_MESSAGE_UNKNOWN_VALIDATOR",
  /** The signature is not the claimed validator's (for a proposal: not the round proposer's). */
  BAD_SIGNATURE = "CONSENSUS_MESSAGE_BAD_SIGNATURE",
  /** Evidence whose two votes do not conflict. */
  NOT_CONFLICTING = "CONSENSUS_MESSAGE_NOT_CONFLICTING",
}

/**
 * Codes that prove the sender misbehaved: no honest node signs, sends or relays such a message
 * (relays verify first), so the network layer penalises whoever handed it over. The other codes
 * only say "of no use to this node now" and cost the sender nothing.
 */
const PEER_FAULTS: ReadonlySet<MessageErrorCode> = new Set([
  MessageErrorCode.MALFORMED,
  MessageErrorCode.TOO_LARGE,
  MessageErrorCode.UNKNOWN_VALIDATOR,
  MessageErrorCode.BAD_SIGNATURE,
  MessageErrorCode.NOT_CONFLICTING,
]);

export type MessageErrorType = {
  code: MessageErrorCode;
  /** For debug logs only: may describe peer-supplied data. */
  reason: string;
};

export class MessageError extends AzoraError<MessageErrorType> {
  constructor(code: MessageErrorCode, reason: string) {
    super({ code, reason }, `${code}: ${reason}`);
  }

  /** True when the message is provably invalid (REJECT), false when it is merely not useful now (IGNORE). */
  get peerFault(): boolean {
    return PEER_FAULTS.has(this.type.code);
  }
}
