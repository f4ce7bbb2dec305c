import { RLP } from "@ethereumjs/rlp";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT, KECCAK256_EMPTY, keccak256 } from "../../runtime/primitives/hash.js";

/**
 * Walks the world state's Merkle Patricia tries (accounts, then each account's storage trie and code)
 * as the node stores them: node key = keccak256(node RLP), code key = "c" ‖ codeHash. Every node read
 * is checked against its key, so a node that is missing, unreadable or holds other bytes is found.
 *
 * With a `base` root the walk is a diff: a subtree whose hash also sits at the same position under
 * `base` is skipped. Nodes are immutable and content-addressed, so what is skipped is exactly what the
 * base state already had; the walk then costs what the blocks between the two roots wrote.
 */

type Nested = Uint8Array | Nested[];

export interface StateNodeSource {
  /** A trie node or code by its hex key (no 0x), or undefined. Throws on a storage failure. */
  getNode(keyHex: string): Promise<Uint8Array | undefined>;
}

export interface StateWalkResult {
  nodes: number;
  /** What is missing or wrong, e.g. "state trie node 0xab… missing (account trie, path 3a7)". At most `maxProblems`. */
  problems: string[];
}

const CODE_PREFIX_HEX = "63"; // "c": ethereumjs MerkleStateManager's code-hash prefix

interface Ref {
  /** A 32-byte hash of a stored node, or the node itself when embedded (RLP < 32 bytes). */
  hash: Uint8Array | null;
  node: Nested | null;
}

function refOf(item: Nested): Ref | null {
  if (item instanceof Uint8Array) {
    if (item.length === 0) return null;
    if (item.length === 32) return { hash: item, node: null };
    return null; // not a reference (cannot happen in a well-formed node)
  }
  return { hash: null, node: item };
}

/** Hex-prefix decoding of a leaf/extension path: nibbles and whether it is a leaf. */
function decodePath(encoded: Uint8Array): { nibbles: number[]; leaf: boolean } {
  const nibbles: number[] = [];
  for (const b of encoded) nibbles.push(b >> 4, b & 0x0f);
  const flag = nibbles[0];
  return { nibbles: nibbles.slice(flag & 1 ? 1 : 2), leaf: flag >= 2 };
}

export async function walkState(
  src: StateNodeSource,
  root: Uint8Array,
  base: Uint8Array | null,
  opts: { maxProblems: number },
): Promise<StateWalkResult> {
  const result: StateWalkResult = { nodes: 0, problems: [] };
  const problem = (what: string) => {
    if (result.problems.length < opts.maxProblems) result.problems.push(what);
  };

  /** Loads a referenced node, checking its hash; null (with a problem) when missing or wrong. */
  const load = async (ref: Ref, where: string, report: boolean): Promise<Nested | null> => {
    if (ref.node !== null) return ref.node;
    const hash = ref.hash as Uint8Array;
    const bytes = await src.getNode(bytesToHex(hash).slice(2));
    if (report) result.nodes++;
    if (bytes === undefined) {
      if (report) problem(`state trie node ${bytesToHex(hash)} missing (${where})`);
      return null;
    }
    if (!equalsBytes(keccak256(bytes), hash)) {
      if (report) problem(`state trie node ${bytesToHex(hash)} does not match its hash (${where})`);
      return null;
    }
    try {
      return RLP.decode(bytes) as Nested;
    } catch {
      if (report) problem(`state trie node ${bytesToHex(hash)} does not decode (${where})`);
      return null;
    }
  };

  const checkCode = async (codeHash: Uint8Array, where: string) => {
    if (equalsBytes(codeHash, KECCAK256_EMPTY)) return;
    const code = await src.getNode(CODE_PREFIX_HEX + bytesToHex(codeHash).slice(2));
    result.nodes++;
    if (code === undefined) problem(`contract code ${bytesToHex(codeHash)} missing (${where})`);
    else if (!equalsBytes(keccak256(code), codeHash))
      problem(`contract code ${bytesToHex(codeHash)} is damaged (${where})`);
  };

  /** An account leaf's value; compared with the base's account at the same key when there is one. */
  const visitAccount = async (value: Uint8Array, baseValue: Uint8Array | null, where: string) => {
    let acc: Nested;
    try {
      acc = RLP.decode(value) as Nested;
    } catch {
      problem(`account leaf does not decode (${where})`);
      return;
    }
    if (!Array.isArray(acc) || acc.length !== 4 || !(acc[2] instanceof Uint8Array) || !(acc[3] instanceof Uint8Array)) {
      problem(`account leaf is malformed (${where})`);
      return;
    }
    let baseAcc: Nested | null = null;
    if (baseValue !== null) {
      try {
        baseAcc = RLP.decode(baseValue) as Nested;
      } catch {
        baseAcc = null;
      }
    }
    const storageRoot = acc[2];
    const codeHash = acc[3];
    const baseStorage = Array.isArray(baseAcc) && baseAcc[2] instanceof Uint8Array ? baseAcc[2] : null;
    const baseCode = Array.isArray(baseAcc) && baseAcc[3] instanceof Uint8Array ? baseAcc[3] : null;
    if (baseCode === null || !equalsBytes(baseCode, codeHash)) await checkCode(codeHash, where);
    if (!equalsBytes(storageRoot, EMPTY_TRIE_ROOT)) {
      await walk(
        { hash: storageRoot, node: null },
        baseStorage === null ? null : { hash: baseStorage, node: null },
        false,
        `storage of ${where}`,
      );
    }
  };

  /** Walks `ref` against `baseRef` (same position in the base trie), `accounts` for the account trie. */
  const walk = async (ref: Ref, baseRef: Ref | null, accounts: boolean, where: string): Promise<void> => {
    if (ref.hash !== null && baseRef?.hash != null && equalsBytes(ref.hash, baseRef.hash)) return;
    const node = await load(ref, where, true);
    if (node === null || !Array.isArray(node)) return;
    const baseNode = baseRef === null ? null : await load(baseRef, where, false);
    const baseList = Array.isArray(baseNode) ? baseNode : null;
    if (node.length === 17) {
      for (let i = 0; i < 16; i++) {
        const child = refOf(node[i]);
        if (child === null) continue;
        const baseChild = baseList !== null && baseList.length === 17 ? refOf(baseList[i]) : null;
        await walk(child, baseChild, accounts, where);
      }
      return;
    }
    if (node.length !== 2 || !(node[0] instanceof Uint8Array)) {
      problem(`state trie node is malformed (${where})`);
      return;
    }
    const { nibbles, leaf } = decodePath(node[0]);
    const samePath =
      baseList !== null &&
      baseList.length === 2 &&
      baseList[0] instanceof Uint8Array &&
      equalsBytes(baseList[0], node[0]);
    if (leaf) {
      if (!accounts) return; // storage values hold no references
      if (!(node[1] instanceof Uint8Array)) {
        problem(`account leaf is malformed (${where})`);
        return;
      }
      const baseValue = samePath && baseList[1] instanceof Uint8Array ? baseList[1] : null;
      await visitAccount(
        node[1],
        baseValue,
        `account leaf …${nibbles
          .slice(-8)
          .map((n) => n.toString(16))
          .join("")}`,
      );
      return;
    }
    const child = refOf(node[1]);
    if (child === null) {
      problem(`extension node without a child (${where})`);
      return;
    }
    await walk(child, samePath ? refOf(baseList[1]) : null, accounts, where);
  };

  if (!equalsBytes(root, EMPTY_TRIE_ROOT)) {
    if (base !== null && equalsBytes(root, base)) await load({ hash: root, node: null }, "account trie root", true);
    else
      await walk({ hash: root, node: null }, base === null ? null : { hash: base, node: null }, true, "account trie");
  }
  return result;
}
