import { bytesToHex } from "../../runtime/primitives/bytes.js";
import { encodeSignedVote, type SignedVote } from "../wire.js";
import type { NetworkPort } from "./ports.js";

/**
 * Peers' votes of the current height kept for re-sends (CometBFT gossips any vote a peer lacks): a
 * validator that missed a round's prevotes — restarted without them, or partitioned — needs them
 * to accept a re-proposal's proof of lock even when a signer of it is down.
 */
export const MAX_RESENT_VOTES = 1024;

/**
 * The messages of the current height a lagging peer may need, and when news last arrived. Gossip does
 * not re-deliver to a peer that missed a message (a partition, a restart), so when a height stalls
 * the driver sends these to every peer directly: its own votes and proposal, and the peers' votes it
 * holds, for the rounds a lagging peer can use.
 */
export class HeightMessages {
  /** Own signed votes of this height by kind and round. */
  private readonly own = new Map<string, SignedVote>();
  /** Peers' signed votes of this height (copies of the wire bytes). */
  private readonly peers = new Map<string, { round: number; raw: Uint8Array }>();
  private ownProposal: Uint8Array | null = null;
  /** When a proposal or vote of this height that was new to us last arrived from a peer. */
  lastNewsAtMs: number;

  constructor(nowMs: number) {
    this.lastNewsAtMs = nowMs;
  }

  recordOwnVote(kind: string, v: SignedVote): void {
    this.own.set(`${kind}/${v.round}`, v);
  }

  recordOwnProposal(raw: Uint8Array): void {
    this.ownProposal = raw;
  }

  /**
   * A peer's verified vote of this height; returns true when it is news (a re-send of a vote we hold
   * must not count as progress, or peers' re-sends would silence our own). `useful` are the rounds
   * worth keeping when the store is full.
   */
  recordPeerVote(v: SignedVote, raw: Uint8Array, nowMs: number, useful: () => Set<number>): boolean {
    const key = `${v.type}/${v.round}/${v.validatorIndex}/${v.blockHash === null ? "nil" : bytesToHex(v.blockHash)}`;
    const news = !this.peers.has(key);
    if (news) this.lastNewsAtMs = nowMs;
    if (this.peers.size >= MAX_RESENT_VOTES) this.prune(useful());
    // A copy: `raw` may be a view into a much larger network buffer that would stay alive with it.
    if (this.peers.size < MAX_RESENT_VOTES) this.peers.set(key, { round: v.round, raw: raw.slice() });
    return news;
  }

  /**
   * Sends the votes of the `useful` rounds (the current and previous one, the rounds of the lock and
   * valid value — a re-proposal's proof of lock) and our proposal to every peer. Votes of other rounds
   * are dropped, which also bounds what a height stalled for hundreds of rounds keeps and re-sends.
   */
  resend(network: NetworkPort, useful: Set<number>): void {
    this.prune(useful);
    const votes = [
      ...[...this.own.values()].filter((v) => useful.has(v.round)).map(encodeSignedVote),
      ...[...this.peers.values()].map((v) => v.raw),
    ];
    for (const peer of network.peers()) {
      for (const v of votes) void network.sendDirect(peer, "vote", v).catch(() => undefined);
      if (this.ownProposal !== null) void network.sendDirect(peer, "proposal", this.ownProposal).catch(() => undefined);
    }
  }

  private prune(useful: Set<number>): void {
    for (const [key, v] of this.peers) if (!useful.has(v.round)) this.peers.delete(key);
  }
}
