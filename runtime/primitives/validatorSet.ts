import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { keccak256, sha256 } from "./hash.js";
import { rlpEncode } from "./rlpCodec.js";

/** A consensus validator: an ed25519 key with voting power, and where its block fees go. */
export interface Validator {
  /** Raw 32-byte ed25519 public key. */
  publicKey: Uint8Array;
  /** CometBFT-style address: first 20 bytes of sha256(publicKey). */
  address: Uint8Array;
  votingPower: bigint;
  /** Account credited with priority fees of the blocks this validator proposes (COINBASE). */
  feeRecipient: Uint8Array;
}

/**
 * A change of one validator (ABCI `ValidatorUpdate`), as the app reports it (`runtime/effects.ts`):
 * new power for a key, 0 removes it.
 */
export interface ValidatorUpdate {
  /** Raw 32-byte ed25519 consensus key (the validator's identity in the set). */
  publicKey: Uint8Array;
  /** Voting power from the update's height on; 0 removes the validator. */
  power: bigint;
  /** 20-byte account credited with the priority fees of blocks it proposes (COINBASE). */
  feeRecipient: Uint8Array;
}

export function validatorAddress(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, 20);
}

/** Hash committed in every header as `validatorsHash`; order is the set's canonical order. */
export function hashValidatorSet(validators: readonly Validator[]): Uint8Array {
  return keccak256(
    rlpEncode(validators.map((v) => [v.publicKey, bigIntToUnpaddedBytes(v.votingPower), v.feeRecipient])),
  );
}
