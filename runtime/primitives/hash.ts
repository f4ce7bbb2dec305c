import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** keccak256 of the empty string: the code hash of an account without code. */
export const KECCAK256_EMPTY = keccak256(new Uint8Array(0));
/** keccak256(rlp("")): the root of an empty Merkle Patricia trie. */
export const EMPTY_TRIE_ROOT = keccak256(Uint8Array.of(0x80));
