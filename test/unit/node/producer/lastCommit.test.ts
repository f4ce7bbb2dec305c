import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { hashCommit } from "../../../../consensus/commit.js";
import type { RunningNode } from "../../../../node/node.js";
import { equalsBytes } from "../../../../runtime/primitives/bytes.js";
import { startInProcessNode, tempDir } from "../../../utils/devnode.js";
import { rpc } from "../../../utils/network.js";

/**
 * The dev producer keeps the commit certificate of the block it made for the next block's
 * `lastCommit` instead of reading it back: every block must still carry its parent's stored commit,
 * after rewinds (`evm_revert` makes another block the head) and restarts (nothing kept) alike.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function expectLastCommitsStored(node: RunningNode): Promise<void> {
  const { chain } = node;
  for (let h = 2n; h <= chain.head.header.number; h++) {
    const ref = await chain.getHeaderByNumber(h);
    const body = ref === undefined ? undefined : await chain.db.getBody(ref.hash);
    const parentCommit = await chain.db.getCommit(h - 1n);
    expect(ref !== undefined && body !== undefined && parentCommit !== undefined).toBe(true);
    if (ref === undefined || body === undefined || parentCommit === undefined) return;
    expect(equalsBytes(body.lastCommit, parentCommit), `lastCommit of block ${h}`).toBe(true);
    expect(equalsBytes(ref.header.lastCommitHash, hashCommit(parentCommit)), `lastCommitHash of block ${h}`).toBe(true);
  }
}

describe("dev producer: lastCommit", () => {
  it("is the parent's stored commit across rewinds and a restart", async () => {
    const dataDir = tempDir("lastcommit");
    dirs.push(dataDir);
    let node = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
    try {
      await rpc(node.url, "anvil_mine", ["0x3"]);
      const snap = await rpc(node.url, "evm_snapshot", []);
      await rpc(node.url, "anvil_mine", ["0x2"]);
      // Back to height 3, whose commit the producer did not just make; then blocks 4 and 5 again,
      // each on a parent with another hash than the last one made at its height.
      await rpc(node.url, "evm_revert", [snap]);
      await rpc(node.url, "anvil_mine", ["0x2"]);
      expect(node.chain.head.header.number).toBe(5n);
      await expectLastCommitsStored(node);
    } finally {
      await node.close();
    }
    node = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
    try {
      await rpc(node.url, "anvil_mine", ["0x2"]);
      expect(node.chain.head.header.number).toBe(7n);
      await expectLastCommitsStored(node);
    } finally {
      await node.close();
    }
  }, 60_000);
});
