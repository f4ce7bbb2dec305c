import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";

/**
 * Root of Ethereum's "ordered" trie (key = RLP(index)), used for `transactionsRoot` and `receiptsRoot`.
 * Built in memory; only the root is kept.
 */
export async function orderedTrieRoot(values: Uint8Array[]): Promise<Uint8Array> {
  const trie = new MerklePatriciaTrie();
  for (let i = 0; i < values.length; i++) await trie.put(RLP.encode(i), values[i]);
  return trie.root();
}
