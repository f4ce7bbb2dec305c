import { describe, expect, it } from "vitest";
import { decodeCommit, encodeCommit, verifyCommit } from "../../../../consensus/commit.js";
import { LatePrecommits } from "../../../../consensus/driver/latePrecommits.js";
import { VoteType, voteSignBytes } from "../../../../consensus/vote.js";
import type { SignedVote } from "../../../../consensus/wire.js";
import { Ed25519Signer, Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { type Validator, validatorAddress } from "../../../../runtime/primitives/validatorSet.js";

const CHAIN_ID = 16730n;
const signers = [1, 2, 3, 4].map((i) => new Ed25519Signer(new Uint8Array(32).fill(i)));
const validators: Validator[] = signers.map((s) => ({
  publicKey: s.publicKey,
  address: validatorAddress(s.publicKey),
  votingPower: 10n,
  feeRecipient: new Uint8Array(20),
}));
const blockHash = new Uint8Array(32).fill(0xab);
const otherHash = new Uint8Array(32).fill(0xcd);

function vote(i: number, o: { type?: VoteType; height?: bigint; round?: number; hash?: Uint8Array | null } = {}) {
  const type = o.type ?? VoteType.Precommit;
  const height = o.height ?? 5n;
  const round = o.round ?? 1;
  const hash = o.hash === undefined ? blockHash : o.hash;
  const v: SignedVote = {
    type,
    height,
    round,
    blockHash: hash,
    validatorIndex: i,
    signature: signers[i].sign(voteSignBytes(CHAIN_ID, type, height, round, hash)),
  };
  return v;
}

/** The certificate a node stored when it decided height 5 in round 1 with validators 0, 1 and 3. */
const stored = encodeCommit({
  height: 5n,
  round: 1,
  blockHash,
  signatures: [0, 3, 1].map((i) => ({ validatorIndex: i, signature: vote(i).signature })),
});

describe("late precommits of the decided height", () => {
  it("a precommit for the decided block and round joins the certificate, which stays valid", () => {
    const late = new LatePrecommits();
    late.reset(5n, stored);
    late.record(vote(2));
    const extended = late.extend(stored);
    const c = decodeCommit(extended);
    expect(c.signatures.map((s) => s.validatorIndex)).toEqual([0, 1, 2, 3]);
    verifyCommit(c, { chainId: CHAIN_ID, height: 5n, blockHash, validators }, new Ed25519Verifier());
  });

  it("ignores votes of another block, round, kind or height, nil votes, and signers already in", () => {
    const late = new LatePrecommits();
    late.reset(5n, stored);
    late.record(vote(2, { hash: otherHash }));
    expect(late.extend(stored)).toBe(stored);
    late.record(vote(2, { round: 0 }));
    late.record(vote(2, { type: VoteType.Prevote }));
    late.record(vote(2, { height: 4n }));
    late.record(vote(2, { hash: null }));
    late.record(vote(0));
    expect(late.extend(stored)).toBe(stored);
    // The right one still joins after the others.
    late.record(vote(2));
    expect(decodeCommit(late.extend(stored)).signatures).toHaveLength(4);
  });

  it("drops what it held when the next height is decided", () => {
    const late = new LatePrecommits();
    late.reset(5n, stored);
    late.record(vote(2));
    late.reset(6n, undefined);
    expect(late.extend(stored)).toBe(stored);
    expect(late.extend(new Uint8Array(0))).toHaveLength(0);
  });
});
