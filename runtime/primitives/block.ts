import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { CodecError } from "./codecError.js";
import { keccak256 } from "./hash.js";
import {
  expectBytes,
  expectList,
  expectUint,
  pushRlpString,
  type RLPInput,
  rlpDecodeList,
  rlpEncode,
  rlpList,
} from "./rlpCodec.js";

/**
 * An Azora block header: what Ethereum tools read, plus what BFT needs.
 * Block hash = keccak256(RLP(header)). The field order below is the RLP order and is consensus-critical.
 */
export interface BlockHeader {
  parentHash: Uint8Array; // 32
  number: bigint;
  /** Unix seconds (what the EVM's TIMESTAMP opcode returns). Non-decreasing. */
  timestamp: bigint;
  stateRoot: Uint8Array; // 32
  transactionsRoot: Uint8Array; // 32
  receiptsRoot: Uint8Array; // 32
  logsBloom: Uint8Array; // 256
  gasLimit: bigint;
  gasUsed: bigint;
  baseFeePerGas: bigint;
  /** Fee recipient of the proposer: receives the priority fees (`COINBASE`). */
  miner: Uint8Array; // 20
  /** Validator address of the proposer (first 20 bytes of sha256(ed25519 public key)). */
  proposer: Uint8Array; // 20
  /** Hash of the validator set that signs this block. */
  validatorsHash: Uint8Array; // 32
  /** keccak256 of the encoded commit certificate of the parent block (zero hash at height 1). */
  lastCommitHash: Uint8Array; // 32
  /** keccak256(RLP(list of evidence items)) of the body: the block hash covers the evidence too. */
  evidenceHash: Uint8Array; // 32
}

/** Block body: raw signed transactions, the parent's commit certificate and evidence, both opaque here. */
export interface BlockBody {
  transactions: Uint8Array[];
  /** Encoded commit certificate for height `number - 1` (empty at height 0 and 1). */
  lastCommit: Uint8Array;
  /** Encoded evidence of misbehaviour included in this block. */
  evidence: Uint8Array[];
}

export interface Block {
  header: BlockHeader;
  body: BlockBody;
}

const HEADER_FIELDS = 15;

export function headerToRLPInput(h: BlockHeader): RLPInput[] {
  return [
    h.parentHash,
    bigIntToUnpaddedBytes(h.number),
    bigIntToUnpaddedBytes(h.timestamp),
    h.stateRoot,
    h.transactionsRoot,
    h.receiptsRoot,
    h.logsBloom,
    bigIntToUnpaddedBytes(h.gasLimit),
    bigIntToUnpaddedBytes(h.gasUsed),
    bigIntToUnpaddedBytes(h.baseFeePerGas),
    h.miner,
    h.proposer,
    h.validatorsHash,
    h.lastCommitHash,
    h.evidenceHash,
  ];
}

/** `rlpEncode(headerToRLPInput(h))`, written straight into its bytes (hashed several times per block). */
export function encodeHeader(h: BlockHeader): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const field of headerToRLPInput(h)) pushRlpString(pieces, field as Uint8Array);
  return rlpList(pieces);
}

export function hashHeader(h: BlockHeader): Uint8Array {
  return keccak256(encodeHeader(h));
}

export function headerFromRLPInput(v: RLPInput[]): BlockHeader {
  if (v.length !== HEADER_FIELDS) throw new CodecError("header", `expected ${HEADER_FIELDS} fields, got ${v.length}`);
  return {
    parentHash: expectBytes(v[0], "header.parentHash", 32),
    number: expectUint(v[1], "header.number"),
    timestamp: expectUint(v[2], "header.timestamp"),
    stateRoot: expectBytes(v[3], "header.stateRoot", 32),
    transactionsRoot: expectBytes(v[4], "header.transactionsRoot", 32),
    receiptsRoot: expectBytes(v[5], "header.receiptsRoot", 32),
    logsBloom: expectBytes(v[6], "header.logsBloom", 256),
    gasLimit: expectUint(v[7], "header.gasLimit"),
    gasUsed: expectUint(v[8], "header.gasUsed"),
    baseFeePerGas: expectUint(v[9], "header.baseFeePerGas"),
    miner: expectBytes(v[10], "header.miner", 20),
    proposer: expectBytes(v[11], "header.proposer", 20),
    validatorsHash: expectBytes(v[12], "header.validatorsHash", 32),
    lastCommitHash: expectBytes(v[13], "header.lastCommitHash", 32),
    evidenceHash: expectBytes(v[14], "header.evidenceHash", 32),
  };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return headerFromRLPInput(rlpDecodeList(bytes, "header"));
}

/** The `evidenceHash` a header carries for `evidence` (also for an empty list). */
export function hashEvidence(evidence: Uint8Array[]): Uint8Array {
  return keccak256(rlpEncode(evidence));
}

/** `rlpEncode([transactions, lastCommit, evidence])`, written straight into its bytes (one copy of each transaction). */
export function encodeBody(b: BlockBody): Uint8Array {
  const pieces = [stringList(b.transactions)];
  pushRlpString(pieces, b.lastCommit);
  pieces.push(stringList(b.evidence));
  return rlpList(pieces);
}

function stringList(items: Uint8Array[]): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const item of items) pushRlpString(pieces, item);
  return rlpList(pieces);
}

export function decodeBody(bytes: Uint8Array): BlockBody {
  const v = rlpDecodeList(bytes, "body");
  if (v.length !== 3) throw new CodecError("body", `expected 3 fields, got ${v.length}`);
  return {
    transactions: expectList(v[0], "body.transactions").map((t, i) => expectBytes(t, `body.transactions[${i}]`)),
    lastCommit: expectBytes(v[1], "body.lastCommit"),
    evidence: expectList(v[2], "body.evidence").map((e, i) => expectBytes(e, `body.evidence[${i}]`)),
  };
}

export function encodeBlock(b: Block): Uint8Array {
  return rlpList([encodeHeader(b.header), encodeBody(b.body)]);
}

export function decodeBlock(bytes: Uint8Array): Block {
  const v = rlpDecodeList(bytes, "block");
  if (v.length !== 2) throw new CodecError("block", `expected 2 fields, got ${v.length}`);
  const header = headerFromRLPInput(expectList(v[0], "block.header"));
  const body = decodeBody(rlpEncode(expectList(v[1], "block.body")));
  return { header, body };
}
