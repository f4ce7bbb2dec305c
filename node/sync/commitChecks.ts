import { decodeCommit } from "../../consensus/commit.js";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { expectBytes, rlpDecodeList } from "../../runtime/primitives/rlpCodec.js";
import { type FastDecodedTx, tryFastDecode } from "../mempool/fastDecode.js";
import { decodeSyncItem } from "./codec.js";

/**
 * The signatures of a blocks response's commit certificates, to be checked ahead of their turn (off the main
 * thread): for each item, the keys of the validators it is expected to be signed by (its height's, or the guess).
 */
export interface CommitChecks {
  chainId: bigint;
  items: Uint8Array[];
  /** Distinct key lists (index = validator index). */
  keySets: Uint8Array[][];
  /** Per item, its index in `keySets`. */
  setOf: number[];
}

/** A (key, message, signature) triple node:crypto's ed25519 verify accepted. */
export type VerifiedSignature = [publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array];

/**
 * The signatures of `checks` that verify, each as the triple `verify` accepted. Anything that does not decode or
 * verify is left out, never reported: the verification in its turn (`verifySyncItems`) decides about it; this only
 * spares it the signature checks it would repeat.
 */
export function verifiedSignatures(
  checks: CommitChecks,
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
): VerifiedSignature[] {
  const out: VerifiedSignature[] = [];
  for (const [i, item] of checks.items.entries()) {
    const keys = checks.keySets[checks.setOf[i]];
    if (keys === undefined) continue;
    let message: Uint8Array;
    let signatures: { validatorIndex: number; signature: Uint8Array }[];
    try {
      // The certificate alone (what `verifyCommit` signs over is its own height, round and block hash; that the
      // hash is the block's is checked in the item's turn).
      const cert = decodeCommit(expectBytes(rlpDecodeList(item, "sync item")[1], "sync.commit"));
      message = voteSignBytes(checks.chainId, VoteType.Precommit, cert.height, cert.round, cert.blockHash);
      signatures = cert.signatures;
    } catch {
      continue;
    }
    for (const { validatorIndex, signature } of signatures) {
      const key = keys[validatorIndex];
      if (key !== undefined && verify(key, message, signature)) out.push([key, message, signature]);
    }
  }
  return out;
}

/**
 * The transactions of `checks`' blocks that the mempool's fast decoder accepts, decoded with their senders (the
 * ecrecover a synced block's transfer costs the main thread otherwise, ~65 µs each). Run on the worker beside the
 * signature checks; the app uses an entry only for the raw bytes whose keccak it is (`ChainApp.rememberDecoded`),
 * and decodes anything left out in its turn as before. An item that does not decode is skipped, never reported.
 */
export function decodedTransactions(checks: CommitChecks): FastDecodedTx[] {
  const out: FastDecodedTx[] = [];
  for (const item of checks.items) {
    let transactions: Uint8Array[];
    try {
      transactions = decodeSyncItem(item).block.body.transactions;
    } catch {
      continue;
    }
    for (const raw of transactions) {
      const tx = tryFastDecode(raw, checks.chainId);
      if (tx !== undefined) out.push(tx);
    }
  }
  return out;
}
