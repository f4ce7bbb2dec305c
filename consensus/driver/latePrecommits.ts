import { equalsBytes } from "../../runtime/primitives/bytes.js";
import { type CommitCertificate, decodeCommit, encodeCommit } from "../commit.js";
import { VoteType } from "../vote.js";
import type { SignedVote } from "../wire.js";

/**
 * Precommits for the last decided height that arrived after it was decided (CometBFT's LastCommit
 * vote set). The certificate stored at decision time holds only the precommits this node had then;
 * downtime slashing counts the signers of the certificate the next block carries, so without these an
 * honest validator whose precommits are always a little late would be counted as missing and jailed.
 * Votes reach here verified (signature, and membership in that height's validator set); `extend` keeps
 * those for the certificate's own block and round, so the fuller certificate stays valid.
 */
export class LatePrecommits {
  private height = 0n;
  /** The decided block and round (from the stored certificate): only precommits for them can join it. */
  private target: { round: number; blockHash: Uint8Array } | null = null;
  private readonly byValidator = new Map<number, SignedVote>();

  /**
   * Starts collecting for `height` (the height just decided), whose certificate this node stored as
   * `stored` (none: nothing is collected), dropping what was held for another height.
   */
  reset(height: bigint, stored: Uint8Array | undefined): void {
    this.height = height;
    this.byValidator.clear();
    this.target = null;
    if (stored === undefined || stored.length === 0) return;
    const cert = decodeCommit(stored);
    if (cert.height === height) this.target = { round: cert.round, blockHash: cert.blockHash };
  }

  /** Keeps a verified vote if it is a precommit of the collected height for the decided block and round. */
  record(v: SignedVote): void {
    const t = this.target;
    if (t === null || v.type !== VoteType.Precommit || v.height !== this.height || v.round !== t.round) return;
    if (v.blockHash === null || !equalsBytes(v.blockHash, t.blockHash)) return;
    this.byValidator.set(v.validatorIndex, v);
  }

  /**
   * The stored certificate `encoded` with the late precommits added (sorted by validator index, so
   * every node that holds the same votes carries the same bytes); `encoded` itself when there is
   * nothing to add or it is not the certificate of the collected height, block and round.
   */
  extend(encoded: Uint8Array): Uint8Array {
    const t = this.target;
    if (encoded.length === 0 || t === null || this.byValidator.size === 0) return encoded;
    const cert = decodeCommit(encoded);
    if (cert.height !== this.height || cert.round !== t.round || !equalsBytes(cert.blockHash, t.blockHash)) {
      return encoded;
    }
    const have = new Set(cert.signatures.map((s) => s.validatorIndex));
    const added: CommitCertificate["signatures"] = [];
    for (const v of this.byValidator.values()) {
      if (!have.has(v.validatorIndex)) added.push({ validatorIndex: v.validatorIndex, signature: v.signature });
    }
    if (added.length === 0) return encoded;
    const signatures = [...cert.signatures, ...added].sort((a, b) => a.validatorIndex - b.validatorIndex);
    return encodeCommit({ ...cert, signatures });
  }
}
