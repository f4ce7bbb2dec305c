import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { rlpEncode } from "../runtime/primitives/rlpCodec.js";

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
  return rlpEncode([
    VOTE_DOMAIN,
    bigIntToUnpaddedBytes(chainId),
    bigIntToUnpaddedBytes(BigInt(type)),
    bigIntToUnpaddedBytes(height),
    bigIntToUnpaddedBytes(BigInt(round)),
    blockHash ?? new Uint8Array(0),
  ]);
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
