import { describe, expect, it } from "vitest";
import { type CommitCertificate, CommitErrorCode, verifyCommit } from "../../../../consensus/commit.js";
import { type SignatureVerifier, VoteType, voteSignBytes } from "../../../../consensus/vote.js";
import { Ed25519Signer, Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { OwnCommitCheck } from "../../../../node/producer/ownCommit.js";
import { type Validator, validatorAddress } from "../../../../runtime/primitives/validatorSet.js";
import { commitErrorCode } from "../../../utils/consensusFixtures.js";

/**
 * The producer's own-certificate check verifies its signer's signature once per key, then only the
 * rest of the certificate: the same verdict as `verifyCommit` for every certificate it can be given
 * (its signer's own signatures), with one Ed25519 verification instead of one per block.
 */

const CHAIN_ID = 16730n;
const own = new Ed25519Signer(new Uint8Array(32).fill(1));
const other = new Ed25519Signer(new Uint8Array(32).fill(2));
const validatorOf = (s: Ed25519Signer): Validator => ({
  publicKey: s.publicKey,
  address: validatorAddress(s.publicKey),
  votingPower: 10n,
  feeRecipient: new Uint8Array(20),
});

function countingVerifier(): SignatureVerifier & { calls: number } {
  const real = new Ed25519Verifier();
  const v = {
    calls: 0,
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
      v.calls++;
      return real.verify(publicKey, message, signature);
    },
  };
  return v;
}

function certificate(signer: Ed25519Signer, height: bigint, blockHash: Uint8Array): CommitCertificate {
  const signature = signer.sign(voteSignBytes(CHAIN_ID, VoteType.Precommit, height, 0, blockHash));
  return { height, round: 0, blockHash, signatures: [{ validatorIndex: 0, signature }] };
}

const hashAt = (h: bigint) => new Uint8Array(32).fill(Number(h % 251n));

describe("the producer's own-commit check", () => {
  it("verifies its signer's key once, then agrees with verifyCommit without an Ed25519 verification", () => {
    const verifier = countingVerifier();
    const check = new OwnCommitCheck(verifier);
    const validators = [validatorOf(own)];
    for (let h = 1n; h <= 20n; h++) {
      const c = certificate(own, h, hashAt(h));
      const expected = { chainId: CHAIN_ID, height: h, blockHash: hashAt(h), validators };
      expect(commitErrorCode(() => check.check(c, expected, own.publicKey))).toBe(
        commitErrorCode(() => verifyCommit(c, expected, new Ed25519Verifier())),
      );
    }
    expect(verifier.calls).toBe(1);
  });

  it("still refuses a certificate for another height or block, or without the signer in the set", () => {
    const check = new OwnCommitCheck(new Ed25519Verifier());
    const validators = [validatorOf(own)];
    check.check(
      certificate(own, 1n, hashAt(1n)),
      { chainId: CHAIN_ID, height: 1n, blockHash: hashAt(1n), validators },
      own.publicKey,
    );
    const c = certificate(own, 2n, hashAt(2n));
    expect(
      commitErrorCode(() =>
        check.check(c, { chainId: CHAIN_ID, height: 3n, blockHash: hashAt(2n), validators }, own.publicKey),
      ),
    ).toBe(CommitErrorCode.WRONG_BLOCK);
    // Index 0 is now another validator: its key is verified for real, and the signature is not its.
    const swapped = [validatorOf(other)];
    expect(
      commitErrorCode(() =>
        check.check(c, { chainId: CHAIN_ID, height: 2n, blockHash: hashAt(2n), validators: swapped }, own.publicKey),
      ),
    ).toBe(CommitErrorCode.BAD_SIGNATURE);
  });

  it("refuses a signer whose key is not its validator's, on every block (nothing is proven)", () => {
    const verifier = countingVerifier();
    const check = new OwnCommitCheck(verifier);
    const validators = [validatorOf(own)];
    for (let h = 1n; h <= 3n; h++) {
      const expected = { chainId: CHAIN_ID, height: h, blockHash: hashAt(h), validators };
      // A signer that claims the validator's key but signs with another one.
      expect(commitErrorCode(() => check.check(certificate(other, h, hashAt(h)), expected, own.publicKey))).toBe(
        CommitErrorCode.BAD_SIGNATURE,
      );
    }
    expect(verifier.calls).toBe(3);
  });

  it("proves a new key again when the signer's key changes", () => {
    const verifier = countingVerifier();
    const check = new OwnCommitCheck(verifier);
    const first = { chainId: CHAIN_ID, height: 1n, blockHash: hashAt(1n), validators: [validatorOf(own)] };
    check.check(certificate(own, 1n, hashAt(1n)), first, own.publicKey);
    const second = { chainId: CHAIN_ID, height: 2n, blockHash: hashAt(2n), validators: [validatorOf(other)] };
    check.check(certificate(other, 2n, hashAt(2n)), second, other.publicKey);
    expect(verifier.calls).toBe(2);
    const bad = {
      ...certificate(other, 3n, hashAt(3n)),
      signatures: [{ validatorIndex: 0, signature: new Uint8Array(64) }],
    };
    // The proven key is `other` now: a certificate under `own`'s key is verified for real.
    expect(
      commitErrorCode(() =>
        check.check(
          bad,
          { chainId: CHAIN_ID, height: 3n, blockHash: hashAt(3n), validators: [validatorOf(own)] },
          own.publicKey,
        ),
      ),
    ).toBe(CommitErrorCode.BAD_SIGNATURE);
  });
});
