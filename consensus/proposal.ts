import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { assert } from "../runtime/lib/assert.js";
import { rlpEncode } from "../runtime/primitives/rlpCodec.js";

const PROPOSAL_DOMAIN = new TextEncoder().encode("azora/proposal/1");

/**
 * The exact bytes a proposer signs: domain, chain id, height, round, POL round + 1 (0 = none, so
 * the −1 of Tendermint's validRound fits an unsigned RLP integer) and block hash. Same RLP shape
 * as `voteSignBytes`; the distinct domain tag keeps a proposal signature from passing as a vote.
 * Also used to verify peers' proposals, so it does not check `polRound < round` (the caller does).
 */
export function proposalSignBytes(
  chainId: bigint,
  height: bigint,
  round: number,
  blockHash: Uint8Array,
  polRound: number,
): Uint8Array {
  assert(Number.isSafeInteger(round), "proposal round must be an integer");
  assert(round >= 0, "proposal round must be >= 0");
  assert(Number.isSafeInteger(polRound), "proposal polRound must be an integer");
  assert(polRound >= -1, "proposal polRound must be >= -1");
  return rlpEncode([
    PROPOSAL_DOMAIN,
    bigIntToUnpaddedBytes(chainId),
    bigIntToUnpaddedBytes(height),
    bigIntToUnpaddedBytes(BigInt(round)),
    bigIntToUnpaddedBytes(BigInt(polRound + 1)),
    blockHash,
  ]);
}
