import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { keccak256 } from "./keccakWasm.js";

/**
 * keccak256 is on every path (secure-trie keys, trie nodes, tx hashes, KECCAK256, blooms): ~10 % of the node's CPU
 * per transaction. It runs in WebAssembly (./keccakWasm.ts), one wasm call per hash: 32 bytes in ~0.9 µs against
 * ~2.4 µs for the `keccak` package's native addon (four N-API calls and a Buffer per hash) and ~11 µs for
 * @noble/hashes (`node dist/bench/keccakFloor.js`; README, issue 14).
 */
export { keccak256 };

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** keccak256 of the empty string: the code hash of an account without code. */
export const KECCAK256_EMPTY = keccak256(new Uint8Array(0));
/** keccak256(rlp("")): the root of an empty Merkle Patricia trie. */
export const EMPTY_TRIE_ROOT = keccak256(Uint8Array.of(0x80));
