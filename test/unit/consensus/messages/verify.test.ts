import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageError, MessageErrorCode, MessageVerifier, Placement } from "../../../../consensus/messages/index.js";
import { StaticValidatorSchedule } from "../../../../consensus/validatorSchedule.js";
import { VoteType } from "../../../../consensus/vote.js";
import { encodeEvidence, encodeSignedVote, peekMessageHeight } from "../../../../consensus/wire.js";
import { Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { CodecError } from "../../../../runtime/primitives/codecError.js";
import {
  emptyBlock,
  encodedProposal,
  encodedVote,
  signedVote,
  testValidators,
} from "../../../utils/consensusFixtures.js";

const CHAIN_ID = 4242n;
const { signers, validators } = testValidators(4);
const schedule = new StaticValidatorSchedule(validators);
const verifier = new MessageVerifier(CHAIN_ID, { schedule, verifier: new Ed25519Verifier() });
const at = { height: 10n, round: 0 };
const hash = new Uint8Array(32).fill(7);

function refusal(fn: () => unknown): { code: MessageErrorCode; peerFault: boolean } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MessageError);
    return { code: (e as MessageError).code, peerFault: (e as MessageError).peerFault };
  }
  throw new Error("expected a refusal");
}

/** A proposal of an empty block at `height`, signed by the round's proposer unless `by` says otherwise. */
function proposal(height: bigint, round = 0, by?: number): Uint8Array {
  const signer = signers[by ?? schedule.proposer(height, round)];
  return encodedProposal(CHAIN_ID, signer, emptyBlock(height, new Uint8Array(32)), round);
}

describe("MessageVerifier: votes", () => {
  it("accepts a validator's vote and places it by height (h−1 … h+4)", () => {
    const cases: [bigint, Placement][] = [
      [9n, Placement.PREVIOUS],
      [10n, Placement.CURRENT],
      [11n, Placement.NEXT],
      [12n, Placement.FUTURE],
      [14n, Placement.FUTURE],
    ];
    for (const [height, placement] of cases) {
      const data = encodedVote(CHAIN_ID, signers[2], { height, round: 0, blockHash: hash, validatorIndex: 2 });
      const v = verifier.decodeVote(data, at);
      expect(v.placement, `height ${height}`).toBe(placement);
      expect(v.vote.height).toBe(height);
    }
  });

  it("CONSENSUS_MESSAGE_BAD_SIGNATURE: a random signature, another validator's, or one for other fields", () => {
    const fields = { height: 12n, round: 0, blockHash: hash, validatorIndex: 1 };
    const random = encodeSignedVote({ ...fields, type: VoteType.Prevote, signature: new Uint8Array(64).fill(9) });
    const otherKey = encodedVote(CHAIN_ID, signers[0], fields);
    const replayed = encodeSignedVote({ ...signedVote(CHAIN_ID, signers[1], { ...fields, height: 10n }), height: 12n });
    const otherChain = encodedVote(CHAIN_ID + 1n, signers[1], fields);
    for (const data of [random, otherKey, replayed, otherChain]) {
      expect(refusal(() => verifier.decodeVote(data, at))).toEqual({
        code: MessageErrorCode.BAD_SIGNATURE,
        peerFault: true,
      });
    }
  });

  it("CONSENSUS_MESSAGE_UNKNOWN_VALIDATOR: an index outside the set", () => {
    const data = encodedVote(CHAIN_ID, signers[0], { height: 10n, round: 0, blockHash: hash, validatorIndex: 4 });
    expect(refusal(() => verifier.decodeVote(data, at))).toEqual({
      code: MessageErrorCode.UNKNOWN_VALIDATOR,
      peerFault: true,
    });
  });

  it("CONSENSUS_MESSAGE_OLD_HEIGHT and _FAR_HEIGHT are ignored, not blamed", () => {
    for (const [height, code] of [
      [8n, MessageErrorCode.OLD_HEIGHT],
      [15n, MessageErrorCode.FAR_HEIGHT],
      [10n ** 9n, MessageErrorCode.FAR_HEIGHT],
    ] as const) {
      const data = encodedVote(CHAIN_ID, signers[0], { height, round: 0, blockHash: hash, validatorIndex: 0 });
      expect(refusal(() => verifier.decodeVote(data, at))).toEqual({ code, peerFault: false });
    }
  });

  it("CONSENSUS_MESSAGE_FAR_ROUND: rounds beyond the window are dropped before any work", () => {
    const far = encodedVote(CHAIN_ID, signers[0], { height: 10n, round: 1001, blockHash: hash, validatorIndex: 0 });
    expect(refusal(() => verifier.decodeVote(far, at)).code).toBe(MessageErrorCode.FAR_ROUND);
    // Relative to the node's round at its own height, and to round 0 at the heights above.
    expect(verifier.decodeVote(far, { height: 10n, round: 5 }).placement).toBe(Placement.CURRENT);
    const next = encodedVote(CHAIN_ID, signers[0], { height: 11n, round: 1001, blockHash: hash, validatorIndex: 0 });
    expect(refusal(() => verifier.decodeVote(next, { height: 10n, round: 5 })).code).toBe(MessageErrorCode.FAR_ROUND);
  });

  it("CONSENSUS_MESSAGE_TOO_LARGE and _MALFORMED are the sender's fault", () => {
    expect(refusal(() => verifier.decodeVote(new Uint8Array(513), at)).code).toBe(MessageErrorCode.TOO_LARGE);
    for (const data of [new Uint8Array(0), Uint8Array.of(0xc1, 0x0a), Uint8Array.of(0x0a)]) {
      expect(refusal(() => verifier.decodeVote(data, at))).toEqual({
        code: MessageErrorCode.MALFORMED,
        peerFault: true,
      });
    }
  });
});

describe("MessageVerifier: proposals", () => {
  it("accepts the round proposer's proposal at h, h+1 and a few heights ahead", () => {
    for (const [height, placement] of [
      [10n, Placement.CURRENT],
      [11n, Placement.NEXT],
      [13n, Placement.FUTURE],
    ] as const) {
      const p = verifier.decodeProposal(proposal(height, 2), at);
      expect(p.placement).toBe(placement);
      expect(p.proposer).toBe(schedule.proposer(height, 2));
    }
  });

  it("CONSENSUS_MESSAGE_BAD_SIGNATURE: signed by a validator that is not the round's proposer", () => {
    const wrong = (schedule.proposer(12n, 0) + 1) % 4;
    expect(refusal(() => verifier.decodeProposal(proposal(12n, 0, wrong), at))).toEqual({
      code: MessageErrorCode.BAD_SIGNATURE,
      peerFault: true,
    });
  });

  it("a far-height proposal is dropped unread: its block is never decoded", () => {
    // A valid height prefix followed by 1 MiB of garbage: refused for its height, not as malformed.
    const data = new Uint8Array(1024 * 1024);
    data.set([0xfa, 0x10, 0x00, 0x00, 0x84, 0x3b, 0x9a, 0xca, 0x00]); // long list, then height 10^9
    expect(peekMessageHeight(data, "proposal")).toBe(10n ** 9n);
    expect(refusal(() => verifier.decodeProposal(data, at))).toEqual({
      code: MessageErrorCode.FAR_HEIGHT,
      peerFault: false,
    });
  });

  it("a proposal of the previous height is old; one above the size cap is too large", () => {
    expect(refusal(() => verifier.decodeProposal(proposal(9n), at)).code).toBe(MessageErrorCode.OLD_HEIGHT);
    const small = new MessageVerifier(
      CHAIN_ID,
      { schedule, verifier: new Ed25519Verifier() },
      { maxProposalBytes: 100 },
    );
    expect(refusal(() => small.decodeProposal(proposal(10n), at)).code).toBe(MessageErrorCode.TOO_LARGE);
  });

  it("a proposal whose block number differs from its height is malformed", () => {
    const block = emptyBlock(11n, new Uint8Array(32));
    const signer = signers[schedule.proposer(10n, 0)];
    const data = encodedProposal(CHAIN_ID, signer, { ...block, header: { ...block.header } }, 0);
    // Re-label the height: the proposal says 10, its block 11.
    const relabelled = new Uint8Array(data);
    expect(peekMessageHeight(relabelled, "proposal")).toBe(11n);
    const tampered = relabelHeight(relabelled, 10);
    expect(refusal(() => verifier.decodeProposal(tampered, at)).code).toBe(MessageErrorCode.MALFORMED);
  });

  it("a round of 2^32 − 1 is refused before its proposer is looked for (that loop would run for hours)", () => {
    const block = emptyBlock(10n, new Uint8Array(32));
    const data = encodedProposal(CHAIN_ID, signers[0], block, 0xffff_ffff, -1);
    expect(refusal(() => verifier.decodeProposal(data, at)).code).toBe(MessageErrorCode.FAR_ROUND);
  });
});

describe("MessageVerifier: evidence", () => {
  it("accepts two conflicting signed votes; refuses non-conflicting or badly signed ones", () => {
    const a = signedVote(CHAIN_ID, signers[3], { height: 5n, round: 1, blockHash: hash, validatorIndex: 3 });
    const b = signedVote(CHAIN_ID, signers[3], { height: 5n, round: 1, blockHash: null, validatorIndex: 3 });
    expect(verifier.decodeEvidence(encodeEvidence({ a, b })).a.validatorIndex).toBe(3);
    expect(refusal(() => verifier.decodeEvidence(encodeEvidence({ a, b: a }))).code).toBe(
      MessageErrorCode.NOT_CONFLICTING,
    );
    const forged = { ...b, signature: new Uint8Array(64) };
    expect(refusal(() => verifier.decodeEvidence(encodeEvidence({ a, b: forged }))).code).toBe(
      MessageErrorCode.BAD_SIGNATURE,
    );
  });
});

describe("peekMessageHeight", () => {
  it("reads the height every vote and proposal encoding carries", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.nat(1000), (height, pad) => {
        const vote = encodeSignedVote({
          type: VoteType.Precommit,
          height,
          round: 3,
          blockHash: null,
          validatorIndex: 1,
          signature: new Uint8Array(64),
        });
        expect(peekMessageHeight(vote, "vote")).toBe(height);
        const block = emptyBlock(height, new Uint8Array(32), new Uint8Array(0), [new Uint8Array(pad * 100)]);
        const p = encodedProposal(CHAIN_ID, signers[0], block);
        expect(peekMessageHeight(p, "proposal")).toBe(height);
      }),
      { numRuns: 200 },
    );
  });

  it("throws only CodecError, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          peekMessageHeight(bytes, "vote");
          peekMessageHeight(bytes, "proposal");
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

/** Rewrites the first field (the height, one byte < 0x80) of an encoded proposal. */
function relabelHeight(data: Uint8Array, height: number): Uint8Array {
  const out = new Uint8Array(data);
  const offset = out[0] > 0xf7 ? 1 + (out[0] - 0xf7) : 1;
  out[offset] = height;
  return out;
}
