import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { type Block, decodeBlock, encodeBlock } from "../runtime/primitives/block.js";
import { CodecError } from "../runtime/primitives/codecError.js";
import { expectBytes, expectList, expectUint, rlpDecodeList, rlpEncode } from "../runtime/primitives/rlpCodec.js";
import { VoteType } from "./vote.js";

/**
 * The consensus messages as they travel between validators (gossip topics `vote`, `proposal`,
 * `evidence`) and sit in the WAL. RLP; decoders only ever throw CodecError.
 */
export interface SignedVote {
  type: VoteType;
  height: bigint;
  round: number;
  /** null = nil vote. */
  blockHash: Uint8Array | null;
  validatorIndex: number;
  signature: Uint8Array;
}

export interface SignedProposal {
  height: bigint;
  round: number;
  /** Tendermint's validRound of the proposer: −1 when the block has no earlier proof of lock. */
  polRound: number;
  block: Block;
  signature: Uint8Array;
}

/** Two conflicting votes of one validator: proof of equivocation. */
export interface DuplicateVoteEvidence {
  a: SignedVote;
  b: SignedVote;
}

const MAX_ROUND = 0xffff_ffffn;

function voteToRLP(v: SignedVote) {
  return [
    bigIntToUnpaddedBytes(BigInt(v.type)),
    bigIntToUnpaddedBytes(v.height),
    bigIntToUnpaddedBytes(BigInt(v.round)),
    v.blockHash ?? new Uint8Array(0),
    bigIntToUnpaddedBytes(BigInt(v.validatorIndex)),
    v.signature,
  ];
}

function voteFromRLP(x: unknown, what: string): SignedVote {
  const v = expectList(x as never, what);
  if (v.length !== 6) throw new CodecError(what, "expected 6 fields");
  const type = Number(expectUint(v[0], `${what}.type`));
  if (type !== VoteType.Prevote && type !== VoteType.Precommit) throw new CodecError(what, "unknown vote type");
  const round = expectUint(v[2], `${what}.round`);
  if (round > MAX_ROUND) throw new CodecError(what, "round too large");
  const hash = expectBytes(v[3], `${what}.blockHash`);
  if (hash.length !== 0 && hash.length !== 32) throw new CodecError(what, "block hash must be 32 bytes or empty");
  const index = expectUint(v[4], `${what}.validatorIndex`);
  if (index > 0xffffn) throw new CodecError(what, "validator index too large");
  return {
    type,
    height: expectUint(v[1], `${what}.height`),
    round: Number(round),
    blockHash: hash.length === 0 ? null : hash,
    validatorIndex: Number(index),
    signature: expectBytes(v[5], `${what}.signature`, 64),
  };
}

export function encodeSignedVote(v: SignedVote): Uint8Array {
  return rlpEncode(voteToRLP(v));
}

export function decodeSignedVote(bytes: Uint8Array): SignedVote {
  return voteFromRLP(rlpDecodeList(bytes, "vote"), "vote");
}

export function encodeSignedProposal(p: SignedProposal): Uint8Array {
  return rlpEncode([
    bigIntToUnpaddedBytes(p.height),
    bigIntToUnpaddedBytes(BigInt(p.round)),
    bigIntToUnpaddedBytes(BigInt(p.polRound + 1)),
    encodeBlock(p.block),
    p.signature,
  ]);
}

export function decodeSignedProposal(bytes: Uint8Array): SignedProposal {
  const v = rlpDecodeList(bytes, "proposal");
  if (v.length !== 5) throw new CodecError("proposal", "expected 5 fields");
  const round = expectUint(v[1], "proposal.round");
  const pol = expectUint(v[2], "proposal.polRound");
  if (round > MAX_ROUND || pol > round) throw new CodecError("proposal", "bad round or POL round");
  return {
    height: expectUint(v[0], "proposal.height"),
    round: Number(round),
    polRound: Number(pol) - 1,
    block: decodeBlock(expectBytes(v[3], "proposal.block")),
    signature: expectBytes(v[4], "proposal.signature", 64),
  };
}

export function encodeEvidence(e: DuplicateVoteEvidence): Uint8Array {
  return rlpEncode([voteToRLP(e.a), voteToRLP(e.b)]);
}

export function decodeEvidence(bytes: Uint8Array): DuplicateVoteEvidence {
  const v = rlpDecodeList(bytes, "evidence");
  if (v.length !== 2) throw new CodecError("evidence", "expected 2 votes");
  return { a: voteFromRLP(v[0], "evidence.a"), b: voteFromRLP(v[1], "evidence.b") };
}

/**
 * Evidence is valid when both votes are of one validator, height, round and type, for different
 * values (the caller also checks both signatures against that validator's key).
 */
export function isConflictingPair(e: DuplicateVoteEvidence): boolean {
  const { a, b } = e;
  const sameValue =
    (a.blockHash === null && b.blockHash === null) ||
    (a.blockHash !== null && b.blockHash !== null && Buffer.from(a.blockHash).equals(Buffer.from(b.blockHash)));
  return (
    a.validatorIndex === b.validatorIndex &&
    a.height === b.height &&
    a.round === b.round &&
    a.type === b.type &&
    !sameValue
  );
}
