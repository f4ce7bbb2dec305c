export {
  GossipAction,
  GossipActionError,
  type GossipActionErrorType,
  GossipErrorCode,
  NetworkError,
  NetworkErrorCode,
  type NetworkErrorType,
  ReqRespError,
  ReqRespErrorCode,
  type ReqRespErrorType,
} from "./errors.js";
export { createNetworkMetrics, type NetworkMetrics, type ReqRespResult } from "./metrics.js";
export { type P2PModules, P2PNetwork } from "./network.js";
export { DEFAULT_P2P_OPTIONS, DEFAULT_TOPIC_LIMITS, type P2POptions, type TopicLimits } from "./options.js";
export type { GossipHandler } from "./processor/processor.js";
export type { PeerStatus } from "./reqresp/codec.js";
export {
  GOSSIP_TOPICS,
  type GossipTopic,
  isGossipTopic,
  REQRESP_PROTOCOLS,
  type ReqRespProtocol,
  stringifyProtocol,
  stringifyTopic,
} from "./topics.js";
