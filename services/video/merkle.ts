/**
 * The Merkle tree over a result's files: one leaf per file (path and content hash), in path order. The root
 * is in the result document the market's resultHash commits to, so a challenger or verifier can point at one
 * segment with its path of sibling hashes and anyone can check it belongs to the result without the rest.
 *
 *   leaf = sha256(0x00 ‖ utf8(path) ‖ 0x00 ‖ sha256(file) ‖ uint64be(size))      node = sha256(0x01 ‖ left ‖ right)
 *
 * Domain-separated leaves and nodes (RFC 6962 style), so a node can never pass as a leaf; an odd node at the
 * end of a level moves up unchanged.
 */
import { createHash } from "node:crypto";

export interface MerkleLeaf {
  path: string;
  /** sha256 of the file, 0x-hex. */
  sha256: string;
  /** Its length in bytes (playlists' bandwidths derive from sizes, so they are committed too). */
  size: number;
}

export interface MerkleProof {
  index: number;
  leaf: MerkleLeaf;
  /** Sibling hashes from the leaf's level up; `left` says the sibling is on the left. */
  siblings: { hash: string; left: boolean }[];
}

function h(...parts: Uint8Array[]): Buffer {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return hash.digest();
}

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex.startsWith("0x") ? hex.slice(2) : hex, "hex");
}

export function leafHash(leaf: MerkleLeaf): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(leaf.size));
  return h(Buffer.from([0]), Buffer.from(leaf.path, "utf8"), Buffer.from([0]), hexBytes(leaf.sha256), size);
}

function nodeHash(l: Buffer, r: Buffer): Buffer {
  return h(Buffer.from([1]), l, r);
}

function levels(leaves: readonly MerkleLeaf[]): Buffer[][] {
  if (leaves.length === 0) throw new Error("a Merkle tree needs at least one leaf");
  const out: Buffer[][] = [leaves.map(leafHash)];
  while (out[out.length - 1].length > 1) {
    const cur = out[out.length - 1];
    const next: Buffer[] = [];
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? nodeHash(cur[i], cur[i + 1]) : cur[i]);
    out.push(next);
  }
  return out;
}

export function merkleRoot(leaves: readonly MerkleLeaf[]): string {
  const ls = levels(leaves);
  return `0x${ls[ls.length - 1][0].toString("hex")}`;
}

export function merkleProof(leaves: readonly MerkleLeaf[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new Error(`no leaf ${index}`);
  const ls = levels(leaves);
  const siblings: MerkleProof["siblings"] = [];
  let i = index;
  for (let level = 0; level < ls.length - 1; level++) {
    const cur = ls[level];
    const sib = i % 2 === 0 ? i + 1 : i - 1;
    if (sib < cur.length) siblings.push({ hash: `0x${cur[sib].toString("hex")}`, left: sib < i });
    i = Math.floor(i / 2);
  }
  return { index, leaf: leaves[index], siblings };
}

/** Does `proof` lead from its leaf to `root`? */
export function verifyMerkleProof(proof: MerkleProof, root: string): boolean {
  let acc = leafHash(proof.leaf);
  for (const s of proof.siblings) acc = s.left ? nodeHash(hexBytes(s.hash), acc) : nodeHash(acc, hexBytes(s.hash));
  return `0x${acc.toString("hex")}` === root.toLowerCase();
}
