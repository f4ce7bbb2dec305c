/**
 * Gossip topics and request–response protocol ids. Every topic string is built here, by
 * `stringifyTopic()` (after Lodestar's `topic.ts`), so the format lives in one place.
 */
export type GossipTopic = "tx" | "proposal" | "vote" | "evidence";

export const GOSSIP_TOPICS: readonly GossipTopic[] = ["tx", "proposal", "vote", "evidence"];

/** `/azora/<chainId>/<topic>/1` */
export function stringifyTopic(chainId: bigint, topic: GossipTopic): string {
  return `/azora/${chainId}/${topic}/1`;
}

export function isGossipTopic(value: string): value is GossipTopic {
  return (GOSSIP_TOPICS as readonly string[]).includes(value);
}

/** The request–response protocols; one stream per request. */
export type ReqRespProtocol = "direct" | "blocks" | "status";

export const REQRESP_PROTOCOLS: readonly ReqRespProtocol[] = ["direct", "blocks", "status"];

/** `/azora/<chainId>/<protocol>/1` */
export function stringifyProtocol(chainId: bigint, protocol: ReqRespProtocol): string {
  return `/azora/${chainId}/${protocol}/1`;
}
