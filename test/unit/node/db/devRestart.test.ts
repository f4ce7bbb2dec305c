import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeCommit } from "../../../../consensus/commit.js";
import { VoteType } from "../../../../consensus/vote.js";
import { DEV_VALIDATOR_SEED_HEX } from "../../../../genesis/devnet.js";
import { GuardedSigner } from "../../../../node/consensus/signer.js";
import { COMMITTED_RECORD_FILE, CommittedRecord } from "../../../../node/db/committedRecord.js";
import { IntegrityErrorCode } from "../../../../node/db/errors.js";
import { SIGNER_STATE_FILE } from "../../../../node/node.js";
import { hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { DEV_CHAIN_ID, startInProcessNode, tempDir } from "../../../utils/devnode.js";
import { rpc } from "../../../utils/network.js";

/**
 * A dev node never makes a second block at a height it committed: the highest-committed record and
 * the dev validator's signer state, against a real LevelDB and real files.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function chainOf(blocks: number): Promise<string> {
  const dataDir = tempDir("devrestart");
  dirs.push(dataDir);
  const node = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
  await rpc(node.url, "anvil_mine", [`0x${blocks.toString(16)}`]);
  await node.close();
  return dataDir;
}

const devSigner = (dataDir: string) =>
  GuardedSigner.open({ stateFile: join(dataDir, SIGNER_STATE_FILE), seed: hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`) });

describe("dev node restart", () => {
  it("a precommit signed but never committed (crash in between) is signed again in the next round", async () => {
    const dataDir = await chainOf(3);
    const signer = await devSigner(dataDir);
    await signer.signVote(DEV_CHAIN_ID, VoteType.Precommit, 4n, 0, new Uint8Array(32).fill(7));
    await signer.close();

    const node = await startInProcessNode({ dataDir, blockTimeMs: 3_600_000 });
    try {
      await rpc(node.url, "anvil_mine", ["0x1"]);
      expect(node.chain.head.header.number).toBe(4n);
      const commit = decodeCommit((await node.chain.db.getCommit(4n)) as Uint8Array);
      expect(commit.round).toBe(1);
    } finally {
      await node.close();
    }
  });

  it("refuses to start when the database ends below the highest-committed record", async () => {
    const dataDir = await chainOf(3);
    const record = CommittedRecord.open(join(dataDir, COMMITTED_RECORD_FILE), { sync: true });
    record.write({ height: 9n, hash: new Uint8Array(32).fill(9), uncheckedLogBytes: 0 });
    record.close();
    await expect(startInProcessNode({ dataDir })).rejects.toMatchObject({
      type: { code: IntegrityErrorCode.LOST_COMMITTED, committed: 9n, head: 3n },
    });
  });

  it("refuses to start when the record names another block at its height", async () => {
    const dataDir = await chainOf(3);
    const record = CommittedRecord.open(join(dataDir, COMMITTED_RECORD_FILE), { sync: true });
    record.write({ height: 3n, hash: new Uint8Array(32).fill(3), uncheckedLogBytes: 0 });
    record.close();
    await expect(startInProcessNode({ dataDir })).rejects.toMatchObject({
      type: { code: IntegrityErrorCode.REPLACED, height: 3n },
    });
  });

  it("refuses to start when the dev validator signed above the database's head + 1", async () => {
    const dataDir = await chainOf(3);
    rmSync(join(dataDir, COMMITTED_RECORD_FILE)); // only the signer state tells
    const signer = await devSigner(dataDir);
    await signer.signVote(DEV_CHAIN_ID, VoteType.Precommit, 7n, 0, new Uint8Array(32).fill(7));
    await signer.close();
    await expect(startInProcessNode({ dataDir })).rejects.toMatchObject({
      type: { code: IntegrityErrorCode.LOST_COMMITTED, committed: 6n },
    });
  });
});
