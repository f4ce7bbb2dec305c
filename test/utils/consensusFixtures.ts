import { expect } from "vitest";
import { type CommitCertificate, CommitError, encodeCommit, hashCommit } from "../../consensus/commit.js";
import { proposalSignBytes } from "../../consensus/proposal.js";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { encodeSignedProposal, encodeSignedVote, type SignedVote } from "../../consensus/wire.js";
import { Ed25519Signer } from "../../node/crypto/ed25519.js";
import { type Block, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT } from "../../runtime/primitives/hash.js";
import { type Validator, validatorAddress } from "../../runtime/primitives/validatorSet.js";

/** Validators with real ed25519 keys (seeds 1…n), power 10 each, for unit tests of signed messages. */
export function testValidators(n: number): { signers: Ed25519Signer[]; validators: Validator[] } {
  const signers = Array.from({ length: n }, (_, i) => new Ed25519Signer(new Uint8Array(32).fill(i + 1)));
  const validators = signers.map((s) => ({
    publicKey: s.publicKey,
    address: validatorAddress(s.publicKey),
    votingPower: 10n,
    feeRecipient: new Uint8Array(20),
  }));
  return { signers, validators };
}

export function signedVote(
  chainId: bigint,
  signer: Ed25519Signer,
  v: Omit<SignedVote, "signature" | "type"> & { type?: VoteType },
): SignedVote {
  const type = v.type ?? VoteType.Prevote;
  return { ...v, type, signature: signer.sign(voteSignBytes(chainId, type, v.height, v.round, v.blockHash)) };
}

export function encodedVote(
  chainId: bigint,
  signer: Ed25519Signer,
  v: Omit<SignedVote, "signature" | "type"> & { type?: VoteType },
): Uint8Array {
  return encodeSignedVote(signedVote(chainId, signer, v));
}

/** An empty block at `height` on `parent` whose body matches its header (roots and hashes). */
export function emptyBlock(
  height: bigint,
  parent: Uint8Array,
  lastCommit: Uint8Array = new Uint8Array(0),
  txs: Uint8Array[] = [],
): Block {
  const block: Block = {
    header: {
      parentHash: parent,
      number: height,
      timestamp: 1_700_000_000n + height,
      stateRoot: new Uint8Array(32).fill(1),
      transactionsRoot: EMPTY_TRIE_ROOT,
      receiptsRoot: EMPTY_TRIE_ROOT,
      logsBloom: new Uint8Array(256),
      gasLimit: 60_000_000n,
      gasUsed: 0n,
      baseFeePerGas: 1_000_000_000n,
      miner: new Uint8Array(20),
      proposer: new Uint8Array(20),
      validatorsHash: new Uint8Array(32).fill(2),
      lastCommitHash: lastCommit.length === 0 ? ZERO_HASH : hashCommit(lastCommit),
      evidenceHash: hashEvidence([]),
    },
    body: { transactions: txs, lastCommit, evidence: [] },
  };
  return block;
}

/** An encoded proposal of `block` signed by `signer` (who must be the round's proposer to be valid). */
export function encodedProposal(
  chainId: bigint,
  signer: Ed25519Signer,
  block: Block,
  round = 0,
  polRound = -1,
): Uint8Array {
  const height = block.header.number;
  const signature = signer.sign(proposalSignBytes(chainId, height, round, hashHeader(block.header), polRound));
  return encodeSignedProposal({ height, round, polRound, block, signature });
}

/** The encoded commit certificate of `block` signed by the validators at `indices`. */
export function commitFor(chainId: bigint, signers: Ed25519Signer[], block: Block, indices: number[], round = 0) {
  const hash = hashHeader(block.header);
  const height = block.header.number;
  const cert: CommitCertificate = {
    height,
    round,
    blockHash: hash,
    signatures: indices.map((i) => ({
      validatorIndex: i,
      signature: signers[i].sign(voteSignBytes(chainId, VoteType.Precommit, height, round, hash)),
    })),
  };
  return encodeCommit(cert);
}

/** The code of the `CommitError` that `fn` throws (failing on any other error), or undefined when it throws none. */
export function commitErrorCode(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(CommitError);
    return (e as CommitError).type.code;
  }
}
