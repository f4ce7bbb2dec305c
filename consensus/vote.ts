import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { pushRlpString, rlpList } from "../runtime/primitives/rlpCodec.js";

export enum VoteType {
  Prevote = 1,
  Precommit = 2,
}

/** Domain tag so a vote signature can never be replayed as any other signed Azora message. */
const VOTE_DOMAIN = new TextEncoder().encode("azora/vote/1");

/**
 * The exact bytes a validator signs for a vote: domain, chain id, type, height, round, block hash
 * (empty for a nil vote). Binding the chain id stops replay across networks.
 */
export function voteSignBytes(
  chainId: bigint,
  type: VoteType,
  height: bigint,
  round: number,
  blockHash: Uint8Array | null,
): Uint8Array {
  // Written straight into its bytes (equal to rlpEncode of the same list, vote.test.ts): every commit check builds
  // it, twice per block in block sync, and the generic encoder with ethereumjs's hex-based integers cost ~1.4 % of
  // a syncing node's CPU per empty block.
  const pieces: Uint8Array[] = [];
  pushRlpString(pieces, VOTE_DOMAIN);
  pushRlpString(pieces, uintBytes(chainId));
  pushRlpString(pieces, uintBytes(type));
  pushRlpString(pieces, uintBytes(height));
  pushRlpString(pieces, uintBytes(round));
  pushRlpString(pieces, blockHash ?? NO_BYTES);
  return rlpList(pieces);
}

const NO_BYTES = new Uint8Array(0);

/** Minimal big-endian bytes of a non-negative integer (0 → none), as `bigIntToUnpaddedBytes`. */
function uintBytes(n: bigint | number): Uint8Array {
  if (typeof n === "bigint") {
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) return bigIntToUnpaddedBytes(n);
    n = Number(n);
  }
  let length = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) length++;
  const out = new Uint8Array(length);
  for (let i = length - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/** Port for signature checks, so the simulator can run without real cryptography. */
export interface SignatureVerifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Port for the local validator's key; implementations guard against double-signing. */
export interface VoteSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
