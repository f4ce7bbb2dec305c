import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { GossipAction } from "./errors.js";
import type { GossipTopic, ReqRespProtocol } from "./topics.js";

/** Result label of a request–response exchange: `ok` or a `ReqRespErrorCode`. */
export type ReqRespResult = string;

/**
 * What the network layer reports. A narrow interface so tests can count calls and the node can back
 * it with prom-client (`createNetworkMetrics`). Every label comes from an enum or an error code.
 */
export interface NetworkMetrics {
  /** One gossip or direct message's validation outcome; `code` is null for Accept. */
  onGossipOutcome(topic: GossipTopic, action: GossipAction, code: string | null): void;
  /** A message dropped because the topic's queue was full (also counted as an IGNORE outcome). */
  onGossipQueueDrop(topic: GossipTopic): void;
  setGossipQueueLength(topic: GossipTopic, length: number): void;
  setPeers(count: number): void;
  /** A peer was disconnected and banned because its score fell to the graylist threshold. */
  onPeerBanned(): void;
  onReqResp(protocol: ReqRespProtocol, direction: "inbound" | "outbound", result: ReqRespResult, seconds: number): void;
}

/** prom-client implementation, registered on the node's registry. */
export function createNetworkMetrics(register: Registry): NetworkMetrics {
  const gossipMessages = new Counter({
    name: "azora_gossip_messages_total",
    help: "Gossip and direct messages by validation outcome",
    labelNames: ["topic", "result"] as const,
    registers: [register],
  });
  const gossipErrors = new Counter({
    name: "azora_gossip_validation_error_total",
    help: "Ignored or rejected gossip messages by error code",
    labelNames: ["topic", "error"] as const,
    registers: [register],
  });
  const queueDropped = new Counter({
    name: "azora_gossip_queue_dropped_total",
    help: "Gossip messages dropped because the topic's handler queue was full",
    labelNames: ["topic"] as const,
    registers: [register],
  });
  const queueLength = new Gauge({
    name: "azora_gossip_queue_length",
    help: "Gossip messages waiting for their topic handler",
    labelNames: ["topic"] as const,
    registers: [register],
  });
  const peers = new Gauge({ name: "azora_network_peers", help: "Connected libp2p peers", registers: [register] });
  const peersBanned = new Counter({
    name: "azora_network_peers_banned_total",
    help: "Peers disconnected and banned for a while because their score fell to the graylist threshold",
    registers: [register],
  });
  const reqResp = new Counter({
    name: "azora_reqresp_requests_total",
    help: "Request-response exchanges by protocol, direction and result",
    labelNames: ["protocol", "direction", "result"] as const,
    registers: [register],
  });
  const reqRespDuration = new Histogram({
    name: "azora_reqresp_duration_seconds",
    help: "Request-response exchange time",
    labelNames: ["protocol", "direction"] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [register],
  });
  return {
    onGossipOutcome(topic, action, code) {
      gossipMessages.inc({ topic, result: action });
      if (code !== null) gossipErrors.inc({ topic, error: code });
    },
    onGossipQueueDrop(topic) {
      queueDropped.inc({ topic });
    },
    setGossipQueueLength(topic, length) {
      queueLength.set({ topic }, length);
    },
    setPeers(count) {
      peers.set(count);
    },
    onPeerBanned() {
      peersBanned.inc();
    },
    onReqResp(protocol, direction, result, seconds) {
      reqResp.inc({ protocol, direction, result });
      reqRespDuration.observe({ protocol, direction }, seconds);
    },
  };
}
