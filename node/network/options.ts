import type { GossipTopic } from "./topics.js";

/** Bounds for one gossip topic: what a message may weigh and how much may wait for its handler. */
export interface TopicLimits {
  /** Larger payloads are rejected (the sender is penalised) and never reach the handler. */
  maxMessageBytes: number;
  /** Messages waiting for the handler; beyond this (or `maxQueueBytes`) new ones are ignored and counted. */
  maxQueueLength: number;
  maxQueueBytes: number;
  /** Handler calls in flight at once for this topic. */
  concurrency: number;
}

export interface P2POptions {
  chainId: bigint;
  /** e.g. `["/ip4/127.0.0.1/tcp/26656"]`; port 0 picks a free port (read it back from `multiaddrs()`). */
  listen: string[];
  /** 32 bytes → a deterministic ed25519 libp2p identity. */
  nodeKeySeed: Uint8Array;
  /** Persistent peers: full multiaddrs with `/p2p/<peerId>`, dialled at start and re-dialled with backoff. */
  bootstrap: string[];
  /** Connection cap (libp2p `maxConnections`). Default 50. */
  maxPeers?: number;
  /** Gossipsub heartbeat; tests shorten it so meshes form quickly. Default 700 ms. */
  heartbeatIntervalMs?: number;
  /** Whole-request deadline for `requestBlocks`; status and direct use a third of it. Default 10 s. */
  requestTimeoutMs?: number;
  /** Largest `count` one `requestBlocks` may ask for; servers clamp larger requests. Default 64. */
  maxBlocksPerRequest?: number;
  /** Cap on one block in a response, and on a whole block response. Defaults 4 MiB + 64 KiB and 32 MiB. */
  maxBlockBytes?: number;
  maxBlocksResponseBytes?: number;
  /** Per-topic overrides of `DEFAULT_TOPIC_LIMITS`. */
  topicLimits?: Partial<Record<GossipTopic, Partial<TopicLimits>>>;
  /** How long a peer whose score fell to the graylist threshold stays disconnected and refused. Default 60 s. */
  peerBanMs?: number;
  /** Initial and maximum re-dial delay for bootstrap peers. Defaults 500 ms and 30 s. */
  redialMinMs?: number;
  redialMaxMs?: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A proposal carries a whole block (≤ 4 MiB); votes and evidence are a few hundred bytes; a tx message
 * is a batch (txBatch.ts) of ≤ 96 KiB, or one tx of up to geth's 128 KiB plus the list header, hence
 * the extra KiB. Queue bytes bound memory under a flood: ≤ 60 MiB queued across all topics.
 */
export const DEFAULT_TOPIC_LIMITS: Readonly<Record<GossipTopic, Readonly<TopicLimits>>> = {
  tx: { maxMessageBytes: 129 * KiB, maxQueueLength: 4096, maxQueueBytes: 16 * MiB, concurrency: 8 },
  proposal: { maxMessageBytes: 4 * MiB, maxQueueLength: 16, maxQueueBytes: 32 * MiB, concurrency: 2 },
  vote: { maxMessageBytes: 4 * KiB, maxQueueLength: 8192, maxQueueBytes: 8 * MiB, concurrency: 4 },
  evidence: { maxMessageBytes: 64 * KiB, maxQueueLength: 256, maxQueueBytes: 4 * MiB, concurrency: 2 },
};

export const DEFAULT_P2P_OPTIONS = {
  maxPeers: 50,
  heartbeatIntervalMs: 700,
  requestTimeoutMs: 10_000,
  maxBlocksPerRequest: 64,
  maxBlockBytes: 4 * MiB + 64 * KiB,
  maxBlocksResponseBytes: 32 * MiB,
  redialMinMs: 500,
  redialMaxMs: 30_000,
  peerBanMs: 60_000,
} as const;

export function resolveTopicLimits(overrides: P2POptions["topicLimits"] | undefined): Record<GossipTopic, TopicLimits> {
  const out = {} as Record<GossipTopic, TopicLimits>;
  for (const topic of Object.keys(DEFAULT_TOPIC_LIMITS) as GossipTopic[]) {
    out[topic] = { ...DEFAULT_TOPIC_LIMITS[topic], ...(overrides?.[topic] ?? {}) };
  }
  return out;
}
