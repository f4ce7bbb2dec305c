import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { AzoraError } from "../runtime/lib/errors.js";
import { equalsBytes } from "../runtime/primitives/bytes.js";
import { CodecError } from "../runtime/primitives/codecError.js";
import { keccak256 } from "../runtime/primitives/hash.js";
import { expectBytes, expectList, expectUint, rlpDecodeList, rlpEncode } from "../runtime/primitives/rlpCodec.js";
import type { Validator } from "../runtime/primitives/validatorSet.js";
import { type SignatureVerifier, VoteType, voteSignBytes } from "./vote.js";

/** +2/3 (by voting power) precommit signatures for one block: the proof that it is final. */
export interface CommitCertificate {
  height: bigint;
  round: number;
  blockHash: Uint8Array;
  signatures: { validatorIndex: number; signature: Uint8Array }[];
}

export enum CommitErrorCode {
  WRONG_BLOCK = "COMMIT_ERROR_WRONG_BLOCK",
  UNKNOWN_VALIDATOR = "COMMIT_ERROR_UNKNOWN_VALIDATOR",
  DUPLICATE_SIGNER = "COMMIT_ERROR_DUPLICATE_SIGNER",
  BAD_SIGNATURE = "COMMIT_ERROR_BAD_SIGNATURE",
  INSUFFICIENT_POWER = "COMMIT_ERROR_INSUFFICIENT_POWER",
}

export type CommitErrorType =
  | { code: CommitErrorCode.WRONG_BLOCK; height: bigint; expectedHeight: bigint }
  | { code: CommitErrorCode.UNKNOWN_VALIDATOR; validatorIndex: number }
  | { code: CommitErrorCode.DUPLICATE_SIGNER; validatorIndex: number }
  | { code: CommitErrorCode.BAD_SIGNATURE; validatorIndex: number }
  | { code: CommitErrorCode.INSUFFICIENT_POWER; signedPower: bigint; totalPower: bigint };

export class CommitError extends AzoraError<CommitErrorType> {}

export function encodeCommit(c: CommitCertificate): Uint8Array {
  return rlpEncode([
    bigIntToUnpaddedBytes(c.height),
    bigIntToUnpaddedBytes(BigInt(c.round)),
    c.blockHash,
    c.signatures.map((s) => [bigIntToUnpaddedBytes(BigInt(s.validatorIndex)), s.signature]),
  ]);
}

export function decodeCommit(bytes: Uint8Array): CommitCertificate {
  const v = rlpDecodeList(bytes, "commit");
  if (v.length !== 4) throw new CodecError("commit", "expected 4 fields");
  const round = expectUint(v[1], "commit.round");
  if (round > 0xffffffffn) throw new CodecError("commit.round", "too large");
  return {
    height: expectUint(v[0], "commit.height"),
    round: Number(round),
    blockHash: expectBytes(v[2], "commit.blockHash", 32),
    signatures: expectList(v[3], "commit.signatures").map((s, i) => {
      const pair = expectList(s, `commit.signatures[${i}]`);
      if (pair.length !== 2) throw new CodecError(`commit.signatures[${i}]`, "expected 2 fields");
      const index = expectUint(pair[0], `commit.signatures[${i}].validatorIndex`);
      if (index > 0xffffn) throw new CodecError(`commit.signatures[${i}].validatorIndex`, "too large");
      return {
        validatorIndex: Number(index),
        signature: expectBytes(pair[1], `commit.signatures[${i}].signature`, 64),
      };
    }),
  };
}

export function hashCommit(encoded: Uint8Array): Uint8Array {
  return keccak256(encoded);
}

export function totalVotingPower(validators: readonly Validator[]): bigint {
  let total = 0n;
  for (const v of validators) total += v.votingPower;
  return total;
}

/**
 * True when `a` and `b` verify every commit certificate alike (`verifyCommit` reads only each index's key and
 * power): block sync may verify a commit against a guess of its height's validators and apply the block only if
 * the guess proves to be these.
 */
export function verifiesCommitsAlike(a: readonly Validator[], b: readonly Validator[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((v, i) => v.votingPower === b[i].votingPower && equalsBytes(v.publicKey, b[i].publicKey));
}

/** Tendermint's quorum: strictly more than two thirds of the total voting power. */
export function hasQuorum(power: bigint, total: bigint): boolean {
  return power * 3n > total * 2n;
}

/** Throws `CommitError` unless `c` carries valid precommits of +2/3 power for (height, blockHash). */
export function verifyCommit(
  c: CommitCertificate,
  expected: { chainId: bigint; height: bigint; blockHash: Uint8Array; validators: readonly Validator[] },
  verifier: SignatureVerifier,
): void {
  if (c.height !== expected.height || !equalsBytes(c.blockHash, expected.blockHash)) {
    throw new CommitError({ code: CommitErrorCode.WRONG_BLOCK, height: c.height, expectedHeight: expected.height });
  }
  const message = voteSignBytes(expected.chainId, VoteType.Precommit, c.height, c.round, c.blockHash);
  const seen = new Set<number>();
  let signedPower = 0n;
  for (const { validatorIndex, signature } of c.signatures) {
    const validator = expected.validators[validatorIndex];
    if (validator === undefined) throw new CommitError({ code: CommitErrorCode.UNKNOWN_VALIDATOR, validatorIndex });
    if (seen.has(validatorIndex)) throw new CommitError({ code: CommitErrorCode.DUPLICATE_SIGNER, validatorIndex });
    seen.add(validatorIndex);
    if (!verifier.verify(validator.publicKey, message, signature)) {
      throw new CommitError({ code: CommitErrorCode.BAD_SIGNATURE, validatorIndex });
    }
    signedPower += validator.votingPower;
  }
  const totalPower = totalVotingPower(expected.validators);
  if (!hasQuorum(signedPower, totalPower)) {
    throw new CommitError({ code: CommitErrorCode.INSUFFICIENT_POWER, signedPower, totalPower });
  }
}
