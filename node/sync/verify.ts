import {
  type CommitCertificate,
  CommitError,
  decodeCommit,
  hashCommit,
  totalVotingPower,
  verifyCommit,
} from "../../consensus/commit.js";
import type { ValidatorSchedule } from "../../consensus/validatorSchedule.js";
import { type SignatureVerifier, VoteType, voteSignBytes } from "../../consensus/vote.js";
import { type Block, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { orderedTrieRoot } from "../../runtime/primitives/trieRoot.js";
import { hashValidatorSet, type Validator } from "../../runtime/primitives/validatorSet.js";
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
  /**
   * The validators its commit certificate was verified against: its height's when settled, else the newest settled
   * ones (a guess); the chain applies it only if they verify commits as its height's do (`SyncedBlock.verifiedWith`).
   */
  verifiedWith: readonly Validator[];
}

/**
 * Throws unless `status.commit` proves that the validators committed block `status.hash` at
 * `status.height`. Only a proven height is believed: a peer can claim any height, but not forge the
 * validators' signatures.
 *
 * - Validators of that height known: the certificate must carry +2/3 of their power (else BAD_PROOF).
 * - Not known yet (the set changes on chain and the height is beyond the settled ones): the
 *   light-client rule — validators this node trusts (the newest settled set) holding more than a
 *   third of its power must have signed, their keys found through `status.signers`. A bad signature
 *   is BAD_PROOF; too little trusted power is UNVERIFIABLE (no fault: the set may have changed a lot).
 */
export function verifyStatusProof(status: PeerStatus, ctx: SyncVerifyContext): void {
  const bad = (reason: string) => new SyncError(SyncErrorCode.BAD_PROOF, status.height, reason);
  let commit: CommitCertificate;
  try {
    commit = decodeCommit(status.commit);
  } catch (e) {
    if (e instanceof CodecError) throw bad(e.message);
    throw e;
  }
  const validators = ctx.schedule.validators(status.height);
  if (validators !== null) {
    try {
      verifyCommit(
        commit,
        { chainId: ctx.chainId, height: status.height, blockHash: status.hash, validators },
        ctx.verifier,
      );
    } catch (e) {
      if (e instanceof CommitError) throw bad(e.message);
      throw e;
    }
    return;
  }
  verifyTrusted(status, commit, ctx);
}

function verifyTrusted(status: PeerStatus, commit: CommitCertificate, ctx: SyncVerifyContext): void {
  const trusted = ctx.schedule.tentative?.(status.height)?.validators ?? null;
  const unverifiable = (reason: string) => new SyncError(SyncErrorCode.UNVERIFIABLE, status.height, reason);
  if (trusted === null || status.signers === undefined) throw unverifiable("validators of that height not known");
  if (commit.height !== status.height || !equalsBytes(commit.blockHash, status.hash)) {
    throw new SyncError(SyncErrorCode.BAD_PROOF, status.height, "certificate of another block");
  }
  const byKey = new Map(trusted.map((v) => [bytesToHex(v.publicKey), v]));
  const message = voteSignBytes(ctx.chainId, VoteType.Precommit, commit.height, commit.round, commit.blockHash);
  const counted = new Set<string>();
  let power = 0n;
  for (const { validatorIndex, signature } of commit.signatures) {
    const key = status.signers[validatorIndex];
    const v = key === undefined ? undefined : byKey.get(bytesToHex(key));
    if (v === undefined || counted.has(bytesToHex(v.publicKey))) continue;
    if (!ctx.verifier.verify(v.publicKey, message, signature)) {
      throw new SyncError(SyncErrorCode.BAD_PROOF, status.height, `bad signature of validator ${validatorIndex}`);
    }
    counted.add(bytesToHex(v.publicKey));
    power += v.votingPower;
  }
  if (power * 3n <= totalVotingPower(trusted))
    throw unverifiable("signed by a third or less of the trusted validators");
}

/**
 * Decodes and verifies a blocks response meant to start at `from` (whose parent, when known, is
 * `parent`): consecutive numbers, each block linked to the one before, each body matching its header
 * (transactions, evidence and last-commit hashes), each with a commit certificate that verifies
 * against the validators of its own height. Returns the verified prefix and, when an item fails, the
 * error (the caller applies the prefix and blames the peer for the rest).
 *
 * Validators change on chain (block H settles those of H + 2), so most items of a response are of heights whose
 * validators are not settled yet. Their commits are verified against the newest settled validators, a guess that
 * holds unless a set changes within the response; each verified block names the validators it was verified
 * against (`verifiedWith`), and the chain applies it only if they are its height's. An item whose commit does not
 * verify against the guess is no fault: it and the items after it come back as `rest`, to be verified once the
 * blocks before them are applied, against the validators they settle.
 */
export async function verifySyncItems(
  items: readonly Uint8Array[],
  from: bigint,
  ctx: SyncVerifyContext,
  parentHash: Uint8Array | null = null,
): Promise<{ blocks: VerifiedBlock[]; error: SyncError | null; rest: Uint8Array[] }> {
  const blocks: VerifiedBlock[] = [];
  // The guess for unsettled heights (the same for the whole response) and the hash a header naming it carries.
  let guess: { validators: readonly Validator[]; hash: Uint8Array } | null | undefined;
  const guessFor = (height: bigint): { validators: readonly Validator[]; hash: Uint8Array } | null => {
    if (guess === undefined) {
      const validators = ctx.schedule.tentative?.(height)?.validators;
      guess = validators === undefined ? null : { validators, hash: hashValidatorSet(validators) };
    }
    return guess;
  };
  let expected = from;
  let parent: Uint8Array | null = parentHash;
  for (const [i, item] of items.entries()) {
    const fail = (reason: string) => ({
      blocks,
      error: new SyncError(SyncErrorCode.INVALID_BLOCK, expected, reason),
      rest: [],
    });
    const settled = ctx.schedule.validators(expected);
    const guessed = settled === null ? guessFor(expected) : null;
    const validators = settled ?? guessed?.validators ?? null;
    const notYet = () => ({ blocks, error: null, rest: items.slice(i) });
    if (validators === null) return notYet();
    try {
      const { block, commit } = decodeSyncItem(item);
      const h = block.header;
      if (h.number !== expected) return fail(`got block ${h.number}`);
      if (parent !== null && !equalsBytes(h.parentHash, parent)) return fail("not linked to its parent");
      // A header naming another set than the guess is of a height where the set changes: verified once settled.
      if (guessed !== null && !equalsBytes(h.validatorsHash, guessed.hash)) return notYet();
      const hash = hashHeader(h);
      const why = await bodyMismatch(block);
      if (why !== null) return fail(why);
      const cert = decodeCommit(commit);
      try {
        verifyCommit(cert, { chainId: ctx.chainId, height: expected, blockHash: hash, validators }, ctx.verifier);
      } catch (e) {
        if (settled === null && e instanceof CommitError) return notYet(); // the guess may be wrong, not the peer
        throw e;
      }
      blocks.push({ block, hash, commit, round: cert.round, verifiedWith: validators });
      parent = hash;
      expected++;
    } catch (e) {
      if (e instanceof CodecError || e instanceof CommitError) return fail(e.message);
      throw e;
    }
  }
  return { blocks, error: null, rest: [] };
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
