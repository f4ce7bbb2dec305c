import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../../runtime/lib/logger.js";

export type PersistentPeer = { peerId: PeerId; addr: Multiaddr };

/** Peer-store tag that keeps persistent peers out of connection pruning. */
const PERSISTENT_TAG = "azora-persistent";

/**
 * Keeps a connection to each persistent (bootstrap) peer: dials at start, and after a failed dial or
 * a disconnect re-dials with exponential backoff (min → max, ±20 % jitter), reset on success.
 * CometBFT's `persistent_peers`. Timers are cleared on stop.
 */
export class PersistentPeers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly byId = new Map<string, PersistentPeer>();
  private stopped = false;

  constructor(
    private readonly libp2p: Libp2p,
    peers: PersistentPeer[],
    private readonly opts: { minDelayMs: number; maxDelayMs: number },
    private readonly log: Logger,
  ) {
    for (const p of peers) this.byId.set(p.peerId.toString(), p);
  }

  has(peer: string): boolean {
    return this.byId.has(peer);
  }

  async start(): Promise<void> {
    for (const p of this.byId.values()) {
      await this.libp2p.peerStore.merge(p.peerId, {
        multiaddrs: [p.addr],
        tags: { [PERSISTENT_TAG]: { value: 100 } },
      });
    }
    for (const id of this.byId.keys()) this.schedule(id, 0);
  }

  /** Called on `peer:connect`: the backoff starts over. */
  onConnect(peer: string): void {
    if (!this.byId.has(peer)) return;
    this.attempts.delete(peer);
    this.cancel(peer);
  }

  /** Called on `peer:disconnect` (all connections to the peer closed). */
  onDisconnect(peer: string): void {
    if (!this.byId.has(peer) || this.stopped) return;
    this.log.debug("persistent peer disconnected", { peer });
    this.schedule(peer, this.nextDelay(peer));
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.timers.keys()]) this.cancel(id);
  }

  private nextDelay(peer: string): number {
    const n = this.attempts.get(peer) ?? 0;
    this.attempts.set(peer, n + 1);
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** Math.min(n, 20));
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  private schedule(peer: string, delayMs: number): void {
    if (this.stopped || this.timers.has(peer)) return;
    const timer = setTimeout(() => {
      this.timers.delete(peer);
      void this.dial(peer);
    }, delayMs);
    timer.unref();
    this.timers.set(peer, timer);
  }

  private cancel(peer: string): void {
    const t = this.timers.get(peer);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(peer);
  }

  private async dial(peer: string): Promise<void> {
    const p = this.byId.get(peer);
    if (p === undefined || this.stopped) return;
    if (this.libp2p.getConnections(p.peerId).length > 0) {
      this.attempts.delete(peer);
      return;
    }
    try {
      await this.libp2p.dial(p.addr);
      this.attempts.delete(peer);
    } catch (e) {
      if (this.stopped) return;
      const delayMs = this.nextDelay(peer);
      this.log.debug("persistent peer dial failed", { peer, retryInMs: delayMs, err: (e as Error).message });
      this.schedule(peer, delayMs);
    }
  }
}
