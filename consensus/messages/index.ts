export { MessageError, MessageErrorCode, type MessageErrorType } from "./errors.js";
export { DEFAULT_FUTURE_BUFFER_LIMITS, FutureBuffer, type FutureBufferLimits } from "./futureBuffer.js";
export {
  DEFAULT_MESSAGE_LIMITS,
  type MessageLimits,
  MessageVerifier,
  type MessageVerifierModules,
  type NodePosition,
  Placement,
  type ProposalHeader,
  type VerifiedProposal,
  type VerifiedVote,
} from "./verify.js";
