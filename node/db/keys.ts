import { concatBytes, uint64BE } from "../../runtime/primitives/bytes.js";

/**
 * LevelDB key spaces: one database, one-byte prefixes. Numbers are 8-byte big-endian so that
 * lexicographic order is numeric order (range scans over heights work).
 */
export const KeyPrefix = {
  meta: 0x4d, // 'M' + name           → value
  canonical: 0x6e, // 'n' + number    → block hash
  header: 0x68, // 'h' + hash         → header RLP
  body: 0x62, // 'b' + hash           → body RLP
  receipts: 0x72, // 'r' + hash       → receipts RLP
  commit: 0x63, // 'c' + number       → commit certificate bytes
  txIndex: 0x74, // 't' + tx hash     → RLP([number, index])
  logAddress: 0x61, // 'a' + address + number → (empty): blocks with logs from an address
  trieNode: 0x73, // 's' + node key   → trie node
  validators: 0x56, // 'V' + number   → RLP([set hash, proposer priorities]): the validators of that height
  validatorSet: 0x57, // 'W' + set hash → RLP(validator list) (content-addressed, shared by heights)
  effects: 0x45, // 'E' + number      → RLP(BlockEffects) the block reported (only when it reported any)
  /**
   * 'p' + block hash → the state root the block was built on, only where that is not its parent's
   * state root: dev mode's cheats (anvil_setBalance, …) edit the head state between blocks.
   */
  devPreState: 0x70,
} as const;

const enc = new TextEncoder();

export const metaKey = (name: string): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.meta), enc.encode(name));
export const canonicalKey = (n: bigint): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.canonical), uint64BE(n));
export const headerKey = (hash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.header), hash);
export const bodyKey = (hash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.body), hash);
export const receiptsKey = (hash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.receipts), hash);
export const commitKey = (n: bigint): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.commit), uint64BE(n));
export const txIndexKey = (txHash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.txIndex), txHash);
export const logAddressKey = (address: Uint8Array, n: bigint): Uint8Array =>
  concatBytes(Uint8Array.of(KeyPrefix.logAddress), address, uint64BE(n));
export const devPreStateKey = (hash: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.devPreState), hash);
/** One allocation per key: a block writes a few trie nodes per transaction. */
export const trieNodeKey = (nodeKeyHex: string): Uint8Array => {
  const key = new Uint8Array(1 + (nodeKeyHex.length >> 1));
  key[0] = KeyPrefix.trieNode;
  const written = Buffer.from(key.buffer).write(nodeKeyHex, 1, "hex");
  return written === key.length - 1 ? key : key.subarray(0, 1 + written);
};
export const validatorsKey = (n: bigint): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.validators), uint64BE(n));
export const validatorSetKey = (hash: Uint8Array): Uint8Array =>
  concatBytes(Uint8Array.of(KeyPrefix.validatorSet), hash);
export const effectsKey = (n: bigint): Uint8Array => concatBytes(Uint8Array.of(KeyPrefix.effects), uint64BE(n));
