import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type BlockWrite, ChainDB } from "../../../../node/db/chainDb.js";
import { StorageError } from "../../../../node/db/errors.js";

/**
 * `ChainDB.getNode` reads LevelDB synchronously (`getSync`): it must still see a block's nodes while
 * they are held or being written (not yet in LevelDB), read persisted ones across a reopen, and turn
 * a LevelDB failure into a StorageError reported once to the failure handler, as the other reads do.
 */

const bytes32 = (b: number) => new Uint8Array(32).fill(b);
/** LevelDB hands back Buffers; compared by their bytes. */
const plain = (b: Uint8Array | undefined) => (b === undefined ? undefined : [...b]);

function blockWith(trieNodes: Map<string, Uint8Array>): BlockWrite {
  return {
    header: {
      parentHash: bytes32(0),
      number: 1n,
      timestamp: 1n,
      stateRoot: bytes32(1),
      transactionsRoot: bytes32(2),
      receiptsRoot: bytes32(3),
      logsBloom: new Uint8Array(256),
      gasLimit: 30_000_000n,
      gasUsed: 0n,
      baseFeePerGas: 7n,
      miner: new Uint8Array(20),
      proposer: new Uint8Array(20),
      validatorsHash: bytes32(4),
      lastCommitHash: bytes32(5),
      evidenceHash: bytes32(6),
    },
    hash: bytes32(9),
    body: { transactions: [], lastCommit: new Uint8Array(0), evidence: [] },
    receipts: [],
    txHashes: [],
    commit: new Uint8Array([1]),
    trieNodes,
  };
}

describe("ChainDB.getNode (synchronous LevelDB reads)", () => {
  it("reads held, written and reopened nodes, and nothing for an absent one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azora-trienodereads-"));
    try {
      const path = join(dir, "chaindata");
      const key = "ab".repeat(32);
      const node = new Uint8Array([0xc2, 0x80, 0x81, 7]);
      let db = await ChainDB.open(path, { syncWrites: false });
      await db.writeBlock(blockWith(new Map([[key, node]])), { hold: true });
      // Held: only the overlay has it; LevelDB does not yet.
      expect(plain(await db.getNode(key))).toEqual([...node]);
      await db.flushHeld();
      expect(plain(await db.getNode(key))).toEqual([...node]);
      expect(await db.getNode("cd".repeat(32))).toBeUndefined();
      await db.close();
      db = await ChainDB.open(path, { syncWrites: false });
      expect(plain(await db.getNode(key))).toEqual([...node]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("turns a failed read into a StorageError, reported once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azora-trienodereads-"));
    try {
      const db = await ChainDB.open(join(dir, "chaindata"), { syncWrites: false });
      const reported: StorageError[] = [];
      db.setFailureHandler((e) => reported.push(e));
      await db.close();
      await expect(db.getNode("ab".repeat(32))).rejects.toBeInstanceOf(StorageError);
      await expect(db.getNode("ab".repeat(32))).rejects.toBeInstanceOf(StorageError);
      expect(reported).toHaveLength(1);
      expect(reported[0].type.op).toBe("read");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
