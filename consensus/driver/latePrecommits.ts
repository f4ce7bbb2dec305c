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
  private readonly byValidator = new Map<number, SignedVote>();

  /** Starts collecting for `height` (the height just decided), dropping what was held for another. */
  reset(height: bigint): void {
    if (height === this.height) return;
    this.height = height;
    this.byValidator.clear();
  }

  /** Keeps a verified vote if it is a non-nil precommit of the collected height (first one per validator). */
  record(v: SignedVote): void {
    if (v.type !== VoteType.Precommit || v.height !== this.height || v.blockHash === null) return;
    if (!this.byValidator.has(v.validatorIndex)) this.byValidator.set(v.validatorIndex, v);
  }

  /**
   * The stored certificate `encoded` with the late precommits for its block and round added (sorted by
   * validator index, so every node that holds the same votes carries the same bytes); `encoded` itself
   * when there is nothing to add.
   */
  extend(encoded: Uint8Array): Uint8Array {
    if (encoded.length === 0 || this.byValidator.size === 0) return encoded;
    const cert = decodeCommit(encoded);
    if (cert.height !== this.height) return encoded;
    const have = new Set(cert.signatures.map((s) => s.validatorIndex));
    const added: CommitCertificate["signatures"] = [];
    for (const v of this.byValidator.values()) {
      if (have.has(v.validatorIndex) || v.round !== cert.round) continue;
      if (v.blockHash === null || !equalsBytes(v.blockHash, cert.blockHash)) continue;
      added.push({ validatorIndex: v.validatorIndex, signature: v.signature });
    }
    if (added.length === 0) return encoded;
    const signatures = [...cert.signatures, ...added].sort((a, b) => a.validatorIndex - b.validatorIndex);
    return encodeCommit({ ...cert, signatures });
  }
}
