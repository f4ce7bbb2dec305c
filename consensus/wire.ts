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

/**
 * The height of an encoded vote (second field) or proposal (first field), read without decoding the
 * rest, so a 4 MiB proposal for a height the node will not look at costs a few byte reads. Accepts
 * only what the full decoders accept there (a canonical integer of at most 32 bytes); they still run
 * on every message that passes.
 */
export function peekMessageHeight(bytes: Uint8Array, kind: "vote" | "proposal"): bigint {
  const fail = (reason: string) => new CodecError("message height", reason);
  const list = rlpItem(bytes, 0, fail);
  if (!list.isList) throw fail("expected a list");
  let offset = list.payload;
  if (kind === "vote") offset = rlpItem(bytes, offset, fail).end; // skip the vote type
  const field = rlpItem(bytes, offset, fail);
  if (field.isList) throw fail("height is a list");
  const length = field.end - field.payload;
  if (length > 32) throw fail("height wider than 256 bits");
  if (length > 0 && bytes[field.payload] === 0) throw fail("integer with leading zero byte");
  let height = 0n;
  for (let i = field.payload; i < field.end; i++) height = (height << 8n) | BigInt(bytes[i]);
  return height;
}

/** Where the RLP item at `offset` keeps its payload and where it ends (bounds-checked against `bytes`). */
function rlpItem(
  bytes: Uint8Array,
  offset: number,
  fail: (reason: string) => CodecError,
): { isList: boolean; payload: number; end: number } {
  if (offset >= bytes.length) throw fail("truncated");
  const b = bytes[offset];
  let isList = false;
  let payload: number;
  let length: number;
  if (b < 0x80) return { isList, payload: offset, end: offset + 1 };
  if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
    isList = b >= 0xc0;
    payload = offset + 1;
    length = b - (isList ? 0xc0 : 0x80);
  } else {
    isList = b >= 0xf8;
    const lengthOfLength = b - (isList ? 0xf7 : 0xb7);
    payload = offset + 1 + lengthOfLength;
    if (payload > bytes.length) throw fail("truncated length");
    length = 0;
    for (let i = offset + 1; i < payload; i++) length = length * 256 + bytes[i];
  }
  const end = payload + length;
  // A list's end is not checked: only its first items are read, each checked on its own.
  if (!isList && end > bytes.length) throw fail("truncated");
  return { isList, payload, end };
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
