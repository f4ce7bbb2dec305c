import { AzoraError } from "../../runtime/lib/errors.js";
import type { ReqRespProtocol } from "./topics.js";

/** What gossip validation decided for one message (libp2p's Accept / Ignore / Reject). */
export enum GossipAction {
  /** Valid: deliver and forward to mesh peers. */
  ACCEPT = "accept",
  /** Not forwarded, sender not penalised (duplicate, stale, queue full, not yet verifiable). */
  IGNORE = "ignore",
  /** Provably invalid: not forwarded, and the sender's peer score is penalised. */
  REJECT = "reject",
}

/** Codes the network layer itself raises; handlers bring their own (e.g. `VOTE_ERROR_BAD_SIGNATURE`). */
export enum GossipErrorCode {
  /** Payload above the topic's `maxMessageBytes`. */
  OVERSIZE = "GOSSIP_ERROR_OVERSIZE",
  /** The topic's handler queue was full; dropped without being looked at. */
  QUEUE_FULL = "GOSSIP_ERROR_QUEUE_FULL",
  /** No handler is registered for the topic. */
  NO_HANDLER = "GOSSIP_ERROR_NO_HANDLER",
  /** The message arrived on a topic string this node does not know. */
  UNKNOWN_TOPIC = "GOSSIP_ERROR_UNKNOWN_TOPIC",
  /** The handler threw something other than a `GossipActionError`: a local bug, so the peer is not blamed. */
  HANDLER_ERROR = "GOSSIP_ERROR_HANDLER_ERROR",
  /** The node is stopping; queued messages are dropped. */
  SHUTDOWN = "GOSSIP_ERROR_SHUTDOWN",
}

export type GossipActionErrorType = {
  /** A bounded code (an enum value): it becomes a metrics label. */
  code: string;
  action: GossipAction.IGNORE | GossipAction.REJECT;
  /** Free text for debug logs; may describe peer-supplied data, so it is never a metrics label. */
  reason: string;
};

/**
 * Thrown by a gossip handler to refuse a message. `processor/outcome.ts` maps it to libp2p's
 * Ignore / Reject; returning normally means Accept.
 */
export class GossipActionError extends AzoraError<GossipActionErrorType> {
  constructor(action: GossipAction.IGNORE | GossipAction.REJECT, data: { code: string; reason: string }) {
    super({ code: data.code, action, reason: data.reason }, `${action} ${data.code}: ${data.reason}`);
  }

  get action(): GossipAction.IGNORE | GossipAction.REJECT {
    return this.type.action;
  }
}

export enum NetworkErrorCode {
  /** `publish`/`sendDirect` called with a payload above the topic's cap. */
  MESSAGE_TOO_LARGE = "NETWORK_ERROR_MESSAGE_TOO_LARGE",
  /** A peer id or multiaddr that does not parse. */
  INVALID_PEER = "NETWORK_ERROR_INVALID_PEER",
  /** A request argument outside the protocol's bounds. */
  INVALID_ARGUMENT = "NETWORK_ERROR_INVALID_ARGUMENT",
  /** A call after `stop()`. */
  STOPPED = "NETWORK_ERROR_STOPPED",
}

export type NetworkErrorType =
  | { code: NetworkErrorCode.MESSAGE_TOO_LARGE; topic: string; size: number; maxSize: number }
  | { code: NetworkErrorCode.INVALID_PEER; value: string }
  | { code: NetworkErrorCode.INVALID_ARGUMENT; reason: string }
  | { code: NetworkErrorCode.STOPPED };

export class NetworkError extends AzoraError<NetworkErrorType> {}

export enum ReqRespErrorCode {
  /** No complete response within the request timeout. */
  TIMEOUT = "REQRESP_ERROR_TIMEOUT",
  /** Could not connect to the peer, or it does not speak the protocol. */
  DIAL_FAILED = "REQRESP_ERROR_DIAL_FAILED",
  /** The peer answered that our request was malformed. */
  INVALID_REQUEST = "REQRESP_ERROR_INVALID_REQUEST",
  /** The peer's handler failed. */
  SERVER_ERROR = "REQRESP_ERROR_SERVER_ERROR",
  /** The peer has no handler for the protocol, or is at its concurrency limit. */
  UNAVAILABLE = "REQRESP_ERROR_UNAVAILABLE",
  /** The peer's topic handler ignored our direct message. */
  IGNORED = "REQRESP_ERROR_IGNORED",
  /** The peer's topic handler rejected our direct message as invalid. */
  REJECTED = "REQRESP_ERROR_REJECTED",
  /** The response broke the protocol: bad framing, unknown code, too many chunks, too many bytes. */
  INVALID_RESPONSE = "REQRESP_ERROR_INVALID_RESPONSE",
  /** The stream was reset or closed before the response ended. */
  STREAM_ERROR = "REQRESP_ERROR_STREAM_ERROR",
}

export type ReqRespErrorType = {
  code: ReqRespErrorCode;
  protocol: ReqRespProtocol;
  peer: string;
  /** Detail for debug logs; may be peer-supplied text (bounded to 256 bytes). */
  reason?: string;
};

export class ReqRespError extends AzoraError<ReqRespErrorType> {
  constructor(type: ReqRespErrorType) {
    super(type, `${type.protocol} ${type.code}${type.reason ? `: ${type.reason}` : ""}`);
  }
}
