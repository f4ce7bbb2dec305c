import { describe, expect, it } from "vitest";
import {
  type CommitCertificate,
  CommitErrorCode,
  hasQuorum,
  verifiesCommitsAlike,
  verifyCommit,
} from "../../../consensus/commit.js";
import { VoteType, voteSignBytes } from "../../../consensus/vote.js";
import { Ed25519Signer, Ed25519Verifier } from "../../../node/crypto/ed25519.js";
import { type Validator, validatorAddress } from "../../../runtime/primitives/validatorSet.js";
import { commitErrorCode } from "../../utils/consensusFixtures.js";

const CHAIN_ID = 16730n;
const signers = [1, 2, 3, 4].map((i) => new Ed25519Signer(new Uint8Array(32).fill(i)));
const validators: Validator[] = signers.map((s) => ({
  publicKey: s.publicKey,
  address: validatorAddress(s.publicKey),
  votingPower: 10n,
  feeRecipient: new Uint8Array(20),
}));
const blockHash = new Uint8Array(32).fill(0xab);
const verifier = new Ed25519Verifier();

function commitBy(indices: number[], opts: { hash?: Uint8Array; round?: number } = {}): CommitCertificate {
  const round = opts.round ?? 0;
  const hash = opts.hash ?? blockHash;
  return {
    height: 5n,
    round,
    blockHash,
    signatures: indices.map((i) => ({
      validatorIndex: i,
      signature: signers[i].sign(voteSignBytes(CHAIN_ID, VoteType.Precommit, 5n, round, hash)),
    })),
  };
}

const expected = { chainId: CHAIN_ID, height: 5n, blockHash, validators };

describe("commit certificates", () => {
  it("two validator lists verify commits alike only with the same key and power at every index", () => {
    const copy = validators.map((v) => ({ ...v, publicKey: Uint8Array.from(v.publicKey), feeRecipient: v.address }));
    expect(verifiesCommitsAlike(validators, copy)).toBe(true); // fee recipients play no part in a commit
    expect(verifiesCommitsAlike(validators, copy.slice(0, 3))).toBe(false);
    expect(verifiesCommitsAlike(validators, [copy[1], copy[0], copy[2], copy[3]])).toBe(false);
    expect(
      verifiesCommitsAlike(
        validators,
        copy.map((v, i) => (i === 2 ? { ...v, votingPower: 11n } : v)),
      ),
    ).toBe(false);
    // A commit of indices 0–2 is a quorum of the first list, not of one where validator 3 holds more power.
    const heavier = copy.map((v, i) => (i === 3 ? { ...v, votingPower: 40n } : v));
    expect(verifiesCommitsAlike(validators, heavier)).toBe(false);
    expect(() => verifyCommit(commitBy([0, 1, 2]), expected, verifier)).not.toThrow();
    expect(() => verifyCommit(commitBy([0, 1, 2]), { ...expected, validators: heavier }, verifier)).toThrow();
  });

  it("quorum is strictly more than 2/3 of the power", () => {
    expect(hasQuorum(27n, 40n)).toBe(true);
    expect(hasQuorum(26n, 39n)).toBe(false);
    expect(hasQuorum(20n, 30n)).toBe(false);
  });

  it("accepts 3 of 4 equal validators", () => {
    expect(commitErrorCode(() => verifyCommit(commitBy([0, 1, 3]), expected, verifier))).toBeUndefined();
  });

  it("COMMIT_ERROR_INSUFFICIENT_POWER with 2 of 4", () => {
    expect(commitErrorCode(() => verifyCommit(commitBy([0, 1]), expected, verifier))).toBe(
      CommitErrorCode.INSUFFICIENT_POWER,
    );
  });

  it("COMMIT_ERROR_DUPLICATE_SIGNER when one validator is counted twice", () => {
    expect(commitErrorCode(() => verifyCommit(commitBy([0, 0, 1]), expected, verifier))).toBe(
      CommitErrorCode.DUPLICATE_SIGNER,
    );
  });

  it("COMMIT_ERROR_BAD_SIGNATURE for a signature over another block", () => {
    const bad = commitBy([0, 1, 2], { hash: new Uint8Array(32).fill(1) });
    expect(commitErrorCode(() => verifyCommit(bad, expected, verifier))).toBe(CommitErrorCode.BAD_SIGNATURE);
  });

  it("COMMIT_ERROR_UNKNOWN_VALIDATOR for an index outside the set", () => {
    expect(
      commitErrorCode(() =>
        verifyCommit(commitBy([0, 1, 2, 3]), { ...expected, validators: validators.slice(0, 3) }, verifier),
      ),
    ).toBe(CommitErrorCode.UNKNOWN_VALIDATOR);
  });

  it("COMMIT_ERROR_WRONG_BLOCK for a commit of another height", () => {
    expect(commitErrorCode(() => verifyCommit(commitBy([0, 1, 2]), { ...expected, height: 6n }, verifier))).toBe(
      CommitErrorCode.WRONG_BLOCK,
    );
  });

  it("binds the chain id: a signature for another chain does not verify", () => {
    const msgA = voteSignBytes(1n, VoteType.Precommit, 5n, 0, blockHash);
    const msgB = voteSignBytes(2n, VoteType.Precommit, 5n, 0, blockHash);
    const sig = signers[0].sign(msgA);
    expect(verifier.verify(signers[0].publicKey, msgA, sig)).toBe(true);
    expect(verifier.verify(signers[0].publicKey, msgB, sig)).toBe(false);
  });
});
