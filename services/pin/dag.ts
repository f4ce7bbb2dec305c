/**
 * Positions in a UnixFS DAG, and proofs that a block is held: the retrieval challenge of `storage/pin`.
 *
 * A challenge names a block by a *position*: a byte offset in the DAG laid out depth first — each block's own
 * bytes, then its children's subtrees in link order. A dag-pb node records each child's cumulative size (the
 * link's `Tsize`), and the root's hash commits to those sizes, so the block at a position is found by
 * descending from the root through the links alone, and a proof — the blocks from the root down to it — is
 * checked against the root CID without the rest of the DAG. (A block *index* by count could not be: a node
 * records its children's sizes, not how many blocks lie below them.) Every block owns a range of positions as
 * long as its bytes, so a uniform position hits a block with probability proportional to its size, and any
 * position under a block that was lost is unanswerable: losing 10 % of the DAG's bytes fails 10 % of the
 * challenges. The Tsizes an honest importer writes are the true sizes (`walkDag` checks, and a worker logs a
 * DAG whose are not); a lying Tsize only narrows what can be challenged — positions are taken modulo each node's
 * stated span, so every position still names one block, and a worker holding every block answers any of them.
 *
 * dag-pb blocks (UnixFS files and directories, HAMT shards) are descended through their links; raw blocks and
 * any other codec are leaves (their own links, if any, are not challenged: a pin's root must be raw or dag-pb);
 * identity CIDs are blocks whose bytes are their digest.
 */
import * as dagPB from "@ipld/dag-pb";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { MAX_BLOCK_BYTES, verifyBlock } from "../storage/retrieve.js";
import { PinError, PinErrorCode } from "./errors.js";

/** Deepest path a proof may have (a balanced UnixFS file of 1,024-link nodes is 4 deep for a petabyte). */
export const MAX_DEPTH = 64;

/** A block's place in the position space: its own length, then its links with the sizes its bytes commit to. */
export interface DagNode {
  own: bigint;
  links: { cid: CID; size: bigint }[];
}

/** How many positions a node spans: its own bytes plus its children's (as its links state them). */
export function spanOf(node: DagNode): bigint {
  let n = node.own;
  for (const l of node.links) n += l.size;
  return n;
}

/** Codecs a pin's root may have: UnixFS (dag-pb) and single raw blocks. */
export function isPinnableRoot(cid: CID): boolean {
  return cid.code === dagPB.code || cid.code === raw.code;
}

/** Decodes a block into its position layout (dag-pb: its links and their Tsize; anything else: a leaf). */
export function decodeNode(cid: CID, bytes: Uint8Array): DagNode {
  if (cid.code !== dagPB.code) return { own: BigInt(bytes.length), links: [] };
  let node: dagPB.PBNode;
  try {
    node = dagPB.decode(bytes);
  } catch (e) {
    throw new PinError({ code: PinErrorCode.BAD_DAG, reason: `${cid}: ${(e as Error).message}` });
  }
  return {
    own: BigInt(bytes.length),
    links: node.Links.map((l) => ({ cid: CID.asCID(l.Hash) ?? CID.decode(l.Hash.bytes), size: BigInt(l.Tsize ?? 0) })),
  };
}

/**
 * One step down from `node` towards `position`: undefined when the position falls in the node's own bytes (it
 * is the challenged block), else the child that holds it and the position within that child. The position is
 * first taken modulo the node's span, so every position names one block even under a lying Tsize.
 */
export function stepTowards(node: DagNode, position: bigint): { link: number; position: bigint } | undefined {
  const span = spanOf(node);
  if (span === 0n) return undefined;
  let p = position % span;
  if (p < node.own) return undefined;
  p -= node.own;
  for (let i = 0; i < node.links.length; i++) {
    const size = node.links[i].size;
    if (p < size) return { link: i, position: p };
    p -= size;
  }
  return undefined; // unreachable: p < span − own = Σ sizes
}

/** Reads a block's bytes (e.g. the local blockstore only): throws when it is not held. */
export type BlockGetter = (cid: CID, signal?: AbortSignal) => Promise<Uint8Array>;

/** The proof a worker answers a challenge with: the blocks from the root down to the one at `position`. */
export interface PositionProof {
  root: CID;
  position: bigint;
  /** blocks[0] is the root's; blocks[i + 1] is the child of blocks[i] that holds the position. */
  blocks: Uint8Array[];
}

/** Walks from `root` to the block at `position`, collecting the blocks on the way (a missing one throws). */
export async function provePosition(
  root: CID,
  position: bigint,
  get: BlockGetter,
  signal?: AbortSignal,
): Promise<PositionProof> {
  const blocks: Uint8Array[] = [];
  let cid = root;
  let p = position;
  for (;;) {
    if (blocks.length >= MAX_DEPTH)
      throw new PinError({ code: PinErrorCode.BAD_DAG, reason: `deeper than ${MAX_DEPTH} blocks` });
    let bytes: Uint8Array;
    try {
      bytes = await get(cid, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new PinError({ code: PinErrorCode.BLOCK_MISSING, cid: cid.toString() });
    }
    blocks.push(bytes);
    const node = decodeNode(cid, bytes);
    const next = stepTowards(node, p);
    if (next === undefined) return { root, position, blocks };
    cid = node.links[next.link].cid;
    p = next.position;
  }
}

/**
 * Checks a proof against the root CID the job names: every block hashes to the CID its parent links to (the
 * first to the root), each step goes where the position says, and the last block is the one at the position.
 * Returns the challenged block's CID; throws BAD_PROOF (or the hash mismatch) otherwise.
 */
export async function verifyPositionProof(root: CID, position: bigint, blocks: readonly Uint8Array[]): Promise<CID> {
  const bad = (reason: string) => new PinError({ code: PinErrorCode.BAD_PROOF, reason });
  if (blocks.length === 0 || blocks.length > MAX_DEPTH) throw bad(`${blocks.length} blocks`);
  let cid = root;
  let p = position;
  for (let i = 0; i < blocks.length; i++) {
    const bytes = blocks[i];
    if (bytes.length > MAX_BLOCK_BYTES) throw bad(`block ${i} is ${bytes.length} bytes`);
    try {
      await verifyBlock(cid, bytes, "proof");
    } catch {
      throw bad(`block ${i} does not hash to ${cid}`);
    }
    const next = stepTowards(decodeNode(cid, bytes), p);
    const last = i === blocks.length - 1;
    if (next === undefined) {
      if (!last) throw bad(`the position ends at block ${i} of ${blocks.length}`);
      return cid;
    }
    if (last) throw bad("the proof stops above the challenged block");
    cid = decodeNode(cid, bytes).links[next.link].cid;
    p = next.position;
  }
  throw bad("unreachable");
}

/** What a full walk of a held DAG found. */
export interface DagSummary {
  /** The DAG's true serialized size, each occurrence of a shared block counted (= the root's span when consistent). */
  dagBytes: bigint;
  /** Distinct blocks. */
  blocks: number;
  /** Sum of the distinct blocks' sizes: what holding the DAG costs on disk. */
  storedBytes: bigint;
  /** Every dag-pb link's Tsize is the true span of its subtree: the positions cover exactly the blocks. */
  consistent: boolean;
}

/**
 * Reads every block under `root` (from `get`, e.g. the local blockstore: a missing block throws BLOCK_MISSING)
 * and compares each dag-pb link's Tsize with the true span of the subtree it names. Shared subtrees are read
 * once. Bounded by `maxBlocks` and MAX_DEPTH.
 */
export async function walkDag(
  root: CID,
  get: BlockGetter,
  opts: { maxBlocks: number; signal?: AbortSignal },
): Promise<DagSummary> {
  const spans = new Map<string, bigint>();
  let storedBytes = 0n;
  let consistent = true;
  const visit = async (cid: CID, depth: number): Promise<bigint> => {
    const key = cid.toString();
    const known = spans.get(key);
    if (known !== undefined) return known;
    if (depth >= MAX_DEPTH)
      throw new PinError({ code: PinErrorCode.BAD_DAG, reason: `deeper than ${MAX_DEPTH} blocks` });
    if (spans.size >= opts.maxBlocks)
      throw new PinError({ code: PinErrorCode.TOO_LARGE, reason: `more than ${opts.maxBlocks} blocks` });
    opts.signal?.throwIfAborted();
    let bytes: Uint8Array;
    try {
      bytes = await get(cid, opts.signal);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new PinError({ code: PinErrorCode.BLOCK_MISSING, cid: key });
    }
    const node = decodeNode(cid, bytes);
    storedBytes += node.own;
    let span = node.own;
    for (const l of node.links) {
      const child = await visit(l.cid, depth + 1);
      if (child !== l.size) consistent = false;
      span += child;
    }
    spans.set(key, span);
    return span;
  };
  const dagBytes = await visit(root, 0);
  return { dagBytes, blocks: spans.size, storedBytes, consistent };
}

/** The proof's wire form (`application/vnd.azora.pin-proof`): each block as a 4-byte big-endian length and its bytes. */
export const PROOF_CONTENT_TYPE = "application/vnd.azora.pin-proof";
/** Largest proof read: MAX_DEPTH blocks of at most MAX_BLOCK_BYTES. */
export const MAX_PROOF_BYTES = MAX_DEPTH * (MAX_BLOCK_BYTES + 4);

export function encodeProof(blocks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of blocks) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

export function decodeProof(bytes: Uint8Array): Uint8Array[] {
  const bad = (reason: string) => new PinError({ code: PinErrorCode.BAD_PROOF, reason });
  if (bytes.length > MAX_PROOF_BYTES) throw bad(`${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length || blocks.length >= MAX_DEPTH) throw bad("truncated or too many blocks");
    const n = view.getUint32(at);
    if (n > MAX_BLOCK_BYTES || at + 4 + n > bytes.length) throw bad("a block runs past the end");
    blocks.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return blocks;
}
