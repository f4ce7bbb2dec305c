import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from "@libp2p/gossipsub/score";
import { GOSSIP_TOPICS, type GossipTopic, stringifyTopic } from "./topics.js";

/**
 * Peer scoring (gossipsub v1.1). Positive terms are small and capped (time in mesh, first deliveries);
 * the one that matters is P4, invalid messages: each REJECT costs `topicWeight × 10 × n²`, so a peer
 * that sends two or three invalid consensus messages drops below the gossip (-10), publish (-50) and
 * graylist (-80) thresholds, and heals with a ~14 s half-life. P3 (mesh delivery deficit) is off: a
 * validator set is quiet between heights, and silence is not misbehaviour.
 */
const TOPIC_WEIGHT: Record<GossipTopic, number> = { tx: 0.5, proposal: 1, vote: 1, evidence: 1 };

function topicScoreParams(topic: GossipTopic): Partial<TopicScoreParams> {
  return {
    topicWeight: TOPIC_WEIGHT[topic],
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.95,
  };
}

/** Penalty points (P5) at which a peer is disconnected and banned: as low as gossipsub's graylist threshold. */
export const BAN_PENALTY_POINTS = 80;
/**
 * Fault points per gossip message rejected as invalid: the third within a half-life bans the peer,
 * as gossipsub's own P4 (−10 × n²) graylists it.
 */
export const GOSSIP_REJECT_PENALTY = 30;

export const SCORE_THRESHOLDS: Partial<PeerScoreThresholds> = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 1,
};

export function createScoreParams(chainId: bigint, penalties: PeerPenalties): Partial<PeerScoreParams> {
  const topics: Record<string, TopicScoreParams> = {};
  for (const t of GOSSIP_TOPICS) topics[stringifyTopic(chainId, t)] = topicScoreParams(t) as TopicScoreParams;
  return {
    topics,
    topicScoreCap: 10,
    // P5: misbehaviour on the request–response protocols, which gossipsub cannot see.
    appSpecificScore: (peer) => -penalties.get(peer),
    appSpecificWeight: 1,
    // Loopback localnets put every validator on one IP; colocation is only meaningful off-host.
    IPColocationFactorWhitelist: new Set(["127.0.0.1", "::1"]),
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 10 * 60 * 1000,
  };
}

/**
 * Decaying per-peer penalty points for request–response misbehaviour (garbage requests, invalid
 * responses, rejected direct messages). Bounded: the oldest entries go first past `maxPeers`.
 */
export class PeerPenalties {
  private readonly entries = new Map<string, { points: number; atMs: number }>();

  constructor(
    private readonly halfLifeMs = 30_000,
    private readonly maxPeers = 4096,
    private readonly now: () => number = Date.now,
  ) {}

  add(peer: string, points: number): void {
    const current = this.get(peer);
    this.entries.delete(peer);
    this.entries.set(peer, { points: current + points, atMs: this.now() });
    if (this.entries.size > this.maxPeers) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get(peer: string): number {
    const e = this.entries.get(peer);
    if (e === undefined) return 0;
    const points = e.points * 0.5 ** ((this.now() - e.atMs) / this.halfLifeMs);
    if (points < 0.01) {
      this.entries.delete(peer);
      return 0;
    }
    return points;
  }
}

/**
 * Peers refused for a while after their score fell too low (libp2p's connection gater asks). Bounded:
 * past `maxPeers` the ban that ends first goes first.
 */
export class PeerBans {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly banMs: number,
    private readonly maxPeers = 4096,
    private readonly now: () => number = Date.now,
  ) {}

  ban(peer: string): void {
    this.until.delete(peer);
    this.until.set(peer, this.now() + this.banMs);
    if (this.until.size > this.maxPeers) {
      const first = this.until.keys().next().value;
      if (first !== undefined) this.until.delete(first);
    }
  }

  isBanned(peer: string): boolean {
    const t = this.until.get(peer);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.until.delete(peer);
    return false;
  }
}
