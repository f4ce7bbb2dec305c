/** How a sync peer let this node down. Bounded: these become metrics labels. */
export enum SyncFailure {
  /** Claimed a height above ours without a valid commit certificate for it. */
  BAD_PROOF = "bad_proof",
  /** No complete answer within the request timeout. */
  TIMEOUT = "timeout",
  /** Proved a height, then served none of the blocks below it. */
  EMPTY = "empty",
  /** Served blocks that fail verification (commit certificate, body, order). */
  INVALID = "invalid",
  /** Dial, stream or "busy" errors: no proof of bad faith, but no blocks either. */
  UNAVAILABLE = "unavailable",
}

export interface SyncPeersOptions {
  /**
   * Score points each failure costs the peer (the network's app-specific score, which decays; the
   * network disconnects and bans a peer whose score falls to its graylist threshold, −80).
   */
  penalties: Readonly<Record<SyncFailure, number>>;
  /** A failed peer is not asked for blocks for this long, doubled per consecutive failure up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A peer's status is asked again after this long. */
  pollIntervalMs: number;
  /** Peers tracked at once (the least recently heard-from is forgotten first). */
  maxPeers: number;
}

export const DEFAULT_SYNC_PEERS_OPTIONS: Readonly<SyncPeersOptions> = {
  penalties: {
    [SyncFailure.BAD_PROOF]: 50,
    [SyncFailure.INVALID]: 50,
    [SyncFailure.TIMEOUT]: 30,
    [SyncFailure.EMPTY]: 40,
    [SyncFailure.UNAVAILABLE]: 5,
  },
  backoffMs: 1000,
  maxBackoffMs: 60_000,
  pollIntervalMs: 500,
  maxPeers: 256,
};

interface PeerState {
  /** Highest height this peer proved with a verified commit certificate (−1: none). */
  provenHeight: bigint;
  polledAtMs: number;
  /** Consecutive failures; reset by a successful request. */
  failures: number;
  retryAtMs: number;
  /** Order of last use, for rotation (least recently used first). */
  usedSeq: number;
}

/**
 * Which peers can serve which heights, and whom to ask next: the sync scheduler's state, without
 * I/O or a clock (time comes in as `nowMs`), so the simulator can use it as the node does. A peer's
 * height counts only once proven (`proven`); requests rotate over the peers that proved the wanted
 * height, least recently used first; a failure costs the peer score points and a growing back-off.
 */
export class SyncPeers {
  readonly opts: Readonly<SyncPeersOptions>;
  private readonly peers = new Map<string, PeerState>();
  private seq = 0;

  constructor(opts: Partial<SyncPeersOptions> = {}) {
    this.opts = { ...DEFAULT_SYNC_PEERS_OPTIONS, ...opts };
  }

  /** True when `peer`'s status has not been asked within the poll interval. */
  dueForPoll(peer: string, nowMs: number): boolean {
    const s = this.peers.get(peer);
    return s === undefined || nowMs - s.polledAtMs >= this.opts.pollIntervalMs;
  }

  polled(peer: string, nowMs: number): void {
    this.state(peer).polledAtMs = nowMs;
  }

  /** `peer` proved (verified commit certificate) that it has committed `height`. */
  proven(peer: string, height: bigint): void {
    const s = this.state(peer);
    if (height > s.provenHeight) s.provenHeight = height;
  }

  provenHeight(peer: string): bigint {
    return this.peers.get(peer)?.provenHeight ?? -1n;
  }

  /** Records a failure; returns the score points it costs the peer. */
  failed(peer: string, kind: SyncFailure, nowMs: number): number {
    const s = this.state(peer);
    s.failures++;
    const backoff = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** Math.min(s.failures - 1, 30));
    s.retryAtMs = nowMs + backoff;
    return this.opts.penalties[kind];
  }

  succeeded(peer: string): void {
    const s = this.peers.get(peer);
    if (s === undefined) return;
    s.failures = 0;
    s.retryAtMs = 0;
  }

  /** The peer to ask for blocks from `height`: proven at least that far, not backing off, least recently used. */
  pick(height: bigint, nowMs: number, eligible: (peer: string) => boolean = () => true): string | null {
    let best: string | null = null;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const [peer, s] of this.peers) {
      if (s.provenHeight < height || s.retryAtMs > nowMs || !eligible(peer)) continue;
      if (s.usedSeq < bestSeq) {
        best = peer;
        bestSeq = s.usedSeq;
      }
    }
    if (best !== null) this.state(best).usedSeq = ++this.seq;
    return best;
  }

  /** The highest proven height over peers not backing off (−1 when none). */
  target(nowMs: number): bigint {
    let t = -1n;
    for (const s of this.peers.values()) if (s.retryAtMs <= nowMs && s.provenHeight > t) t = s.provenHeight;
    return t;
  }

  /** Drops what is known about a peer (it disconnected). */
  forget(peer: string): void {
    this.peers.delete(peer);
  }

  private state(peer: string): PeerState {
    let s = this.peers.get(peer);
    if (s === undefined) {
      s = { provenHeight: -1n, polledAtMs: Number.NEGATIVE_INFINITY, failures: 0, retryAtMs: 0, usedSeq: 0 };
      this.peers.set(peer, s);
      if (this.peers.size > this.opts.maxPeers) {
        const oldest = this.peers.keys().next().value as string;
        if (oldest !== peer) this.peers.delete(oldest);
      }
    }
    return s;
  }
}
