import { CommitError, decodeCommit, hashCommit, verifyCommit } from "../../consensus/commit.js";
import type { ValidatorSchedule } from "../../consensus/validatorSchedule.js";
import type { SignatureVerifier } from "../../consensus/vote.js";
import { type Block, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { equalsBytes, ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { orderedTrieRoot } from "../../runtime/primitives/trieRoot.js";
import type { PeerStatus } from "../network/index.js";
import { decodeSyncItem } from "./codec.js";
import { SyncError, SyncErrorCode } from "./errors.js";

export interface SyncVerifyContext {
  chainId: bigint;
  schedule: ValidatorSchedule;
  verifier: SignatureVerifier;
}

/** A served block whose commit certificate and body check out: exactly the block the chain committed. */
export interface VerifiedBlock {
  block: Block;
  hash: Uint8Array;
  commit: Uint8Array;
  /** The round its commit certificate is from. */
  round: number;
}

/**
 * Throws `SyncError(BAD_PROOF)` unless `status.commit` is a commit certificate of +2/3 of the
 * validators of `status.height` for `status.hash`. Only a proven height is believed: a peer can
 * claim any height, but not forge the validators' signatures.
 */
export function verifyStatusProof(status: PeerStatus, ctx: SyncVerifyContext): void {
  const validators = ctx.schedule.validators(status.height);
  if (validators === null) {
    throw new SyncError(SyncErrorCode.BAD_PROOF, status.height, "validator set of that height not known");
  }
  try {
    const commit = decodeCommit(status.commit);
    verifyCommit(
      commit,
      { chainId: ctx.chainId, height: status.height, blockHash: status.hash, validators },
      ctx.verifier,
    );
  } catch (e) {
    if (e instanceof CodecError || e instanceof CommitError) {
      throw new SyncError(SyncErrorCode.BAD_PROOF, status.height, e.message);
    }
    throw e;
  }
}

/**
 * Decodes and verifies a blocks response meant to start at `from`: consecutive numbers, each block
 * linked to the one before, each body matching its header (transactions, evidence and last-commit
 * hashes), each with a commit certificate that verifies. Returns the verified prefix and, when an
 * item fails, the error (the caller applies the prefix and blames the peer for the rest).
 */
export async function verifySyncItems(
  items: readonly Uint8Array[],
  from: bigint,
  ctx: SyncVerifyContext,
): Promise<{ blocks: VerifiedBlock[]; error: SyncError | null }> {
  const blocks: VerifiedBlock[] = [];
  let expected = from;
  let parent: Uint8Array | null = null;
  for (const item of items) {
    const fail = (reason: string) => new SyncError(SyncErrorCode.INVALID_BLOCK, expected, reason);
    try {
      const { block, commit } = decodeSyncItem(item);
      const h = block.header;
      if (h.number !== expected) return { blocks, error: fail(`got block ${h.number}`) };
      if (parent !== null && !equalsBytes(h.parentHash, parent))
        return { blocks, error: fail("not linked to its parent") };
      const hash = hashHeader(h);
      const why = await bodyMismatch(block);
      if (why !== null) return { blocks, error: fail(why) };
      const cert = decodeCommit(commit);
      const validators = ctx.schedule.validators(expected);
      if (validators === null) return { blocks, error: null }; // not verifiable yet: stop here, no blame
      verifyCommit(cert, { chainId: ctx.chainId, height: expected, blockHash: hash, validators }, ctx.verifier);
      blocks.push({ block, hash, commit, round: cert.round });
      parent = hash;
      expected++;
    } catch (e) {
      if (e instanceof CodecError || e instanceof CommitError) return { blocks, error: fail(e.message) };
      throw e;
    }
  }
  return { blocks, error: null };
}

/** Why the body does not belong to the header (null when it does): the header commits to all three parts. */
async function bodyMismatch(block: Block): Promise<string | null> {
  const { header, body } = block;
  if (!equalsBytes(header.transactionsRoot, await orderedTrieRoot(body.transactions)))
    return "transactionsRoot mismatch";
  if (!equalsBytes(header.evidenceHash, hashEvidence(body.evidence))) return "evidenceHash mismatch";
  const lastCommitHash = body.lastCommit.length === 0 ? ZERO_HASH : hashCommit(body.lastCommit);
  if (!equalsBytes(header.lastCommitHash, lastCommitHash)) return "lastCommitHash mismatch";
  return null;
}
