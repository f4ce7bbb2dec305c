import { describe, expect, it } from "vitest";
import { decodeCommit, encodeCommit } from "../../../../consensus/commit.js";
import { Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import {
  type CommitChecks,
  decodedTransactions,
  encodeSyncItem,
  verifiedSignatures,
} from "../../../../node/sync/index.js";
import { packChecks, unpackChecks } from "../../../../node/sync/packedChecks.js";
import { hashHeader } from "../../../../runtime/primitives/block.js";
import { commitFor, emptyBlock, testValidators } from "../../../utils/consensusFixtures.js";

const CHAIN_ID = 77n;
const { signers, validators } = testValidators(4);
const keys = validators.map((v) => v.publicKey);

/** `n` blocks with commits of validators 0–2; at `tamper`, validator 1's signature is one over another block. */
function items(n: number, tamper?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let parent: Uint8Array = new Uint8Array(32);
  for (let h = 1; h <= n; h++) {
    const block = emptyBlock(BigInt(h), parent, new Uint8Array(0));
    let commit = commitFor(CHAIN_ID, signers, block, [0, 1, 2]);
    if (tamper === h) {
      const other = decodeCommit(commitFor(CHAIN_ID, signers, emptyBlock(BigInt(h), parent, commit), [1]));
      const cert = decodeCommit(commit);
      cert.signatures[1] = other.signatures[0];
      commit = encodeCommit(cert);
    }
    out.push(encodeSyncItem(block, commit));
    parent = hashHeader(block.header);
  }
  return out;
}

const checks = (its: Uint8Array[], keySets = [keys]): CommitChecks => ({
  chainId: CHAIN_ID,
  items: its,
  keySets,
  setOf: its.map(() => 0),
});

describe("sync commit prechecks", () => {
  it("report exactly the signatures that verify, as the triples the verifier accepted", () => {
    const verifier = new Ed25519Verifier();
    const verify = (k: Uint8Array, m: Uint8Array, s: Uint8Array) => verifier.verify(k, m, s);
    const ok = verifiedSignatures(checks(items(5, 3)), verify);
    expect(ok).toHaveLength(14); // 5 × 3, less the bad one
    for (const [k, m, s] of ok) expect(verifier.verify(k, m, s)).toBe(true);
    // Keys of another set (validators shifted by one) verify nothing; an undecodable item is skipped.
    expect(verifiedSignatures(checks(items(2), [[...keys.slice(1), keys[0]]]), verify)).toEqual([]);
    expect(verifiedSignatures(checks([new Uint8Array([0xc0]), ...items(1)]), verify)).toHaveLength(3);
  });

  it("a remembered triple is a cache hit of the verifier; nothing else is", () => {
    const verifier = new Ed25519Verifier({ verifiedCacheSize: 64 });
    const plain = new Ed25519Verifier();
    const [[k, m, s]] = verifiedSignatures(checks(items(1)), (a, b, c) => plain.verify(a, b, c));
    const bad = Uint8Array.from(s);
    bad[0] ^= 1;
    verifier.remember(k, m, s);
    expect(verifier.verify(k, m, s)).toBe(true);
    expect(verifier.verify(k, m, bad)).toBe(false);
  });

  it("decode no transaction of an empty block and skip an item that does not decode (never throw)", () => {
    expect(decodedTransactions(checks(items(2)))).toEqual([]);
    expect(decodedTransactions(checks([new Uint8Array([0xc0]), new Uint8Array([0x01]), ...items(1)]))).toEqual([]);
  });

  it("travel to the worker packed: the same items and keys, only their own bytes copied, the buffers moved", () => {
    // As the network hands them over: views at odd offsets into larger buffers, several items per buffer.
    const net = (b: Uint8Array, pad: number) => {
      const big = new Uint8Array(b.byteLength + 2 * pad + 1000);
      big.set(b, pad);
      return big.subarray(pad, pad + b.byteLength);
    };
    const its = items(6, 4).map((it, i) => net(it, 3 + 17 * i));
    const sets = [keys.map((k, i) => net(k, 5 + i)), keys.slice(1).map((k) => net(k, 1))];
    const original: CommitChecks = { chainId: CHAIN_ID, items: its, keySets: sets, setOf: [0, 1, 0, 0, 1, 0] };
    const [packed, transfer] = packChecks(original);
    const own = its.reduce((n, b) => n + b.byteLength, 0) + [...sets[0], ...sets[1]].length * 32;
    expect(packed.bytes.byteLength).toBe(own);
    expect(packed.bytes.buffer.byteLength).toBe(own);
    // What postMessage with the transfer list does: the worker's copy, the sender's buffers detached.
    const received = structuredClone(packed, { transfer });
    expect(packed.bytes.byteLength).toBe(0);
    const back = unpackChecks(received);
    expect(back.chainId).toBe(CHAIN_ID);
    expect(back.setOf).toEqual(original.setOf);
    expect(back.items.map((b) => Buffer.from(b).toString("hex"))).toEqual(
      its.map((b) => Buffer.from(b).toString("hex")),
    );
    expect(back.keySets.map((s) => s.map((k) => Buffer.from(k).toString("hex")))).toEqual(
      sets.map((s) => s.map((k) => Buffer.from(k).toString("hex"))),
    );
    const verifier = new Ed25519Verifier();
    const verify = (k: Uint8Array, m: Uint8Array, s: Uint8Array) => verifier.verify(k, m, s);
    const hex = (t: Uint8Array[]) => t.map((b) => Buffer.from(b).toString("hex")).join();
    expect(verifiedSignatures(back, verify).map(hex)).toEqual(verifiedSignatures(original, verify).map(hex));
    // Set 1's keys are shifted by one: only items of set 0 verify, the tampered one less its bad signature.
    expect(verifiedSignatures(back, verify)).toHaveLength(4 * 3 - 1);
  });
});
