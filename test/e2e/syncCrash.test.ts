import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYNCED_RUN_LIMITS } from "../../node/chain/chain.js";
import { type NetNode, TestNetwork, waitFor } from "../utils/network.js";

/**
 * Block sync writes each verified run as one atomic, synced LevelDB batch, then the highest-committed record: a full
 * node kill -9'd in the middle of syncing restarts (the start-up check accepts the record and the database), at a
 * height at most one run's batch below the head it had shown (the held blocks of the run in progress are lost, and
 * re-synced), finishes the sync and holds the validator's chain.
 */

let net: TestNetwork;
const VALIDATOR = 0;
const FULL_NODE = 1;

beforeAll(async () => {
  net = await TestNetwork.create({ validators: 1, fullNodes: 1, emptyBlockIntervalMs: 10 });
}, 120_000);

afterAll(async () => {
  if (net !== undefined) {
    await net.stopAll();
    net.saveLogs("syncCrash");
    await net.destroy();
  }
}, 60_000);

async function expectSameChain(a: NetNode, b: NetNode, upTo: bigint): Promise<void> {
  const [x, y] = await Promise.all([a.blocks(1n, upTo), b.blocks(1n, upTo)]);
  expect(x.length).toBe(Number(upTo));
  for (let i = 0; i < x.length; i++) {
    expect(y[i]?.hash, `height ${i + 1}`).toBe(x[i].hash);
    expect(y[i]?.stateRoot, `height ${i + 1}`).toBe(x[i].stateRoot);
  }
}

describe("block sync, kill -9 mid-run", () => {
  it("restarts at a committed state at most one batch below the head it showed and finishes the sync", async () => {
    const v = net.node(VALIDATOR);
    const full = net.node(FULL_NODE);
    await net.waitForHeight([v], 300n, 240_000);
    await full.start();
    for (const at of [100n, 200n]) {
      // Mid-sync: runs of 64 blocks, so a kill lands inside a run's unsynced blocks most of the time.
      await waitFor(`full node past ${at}`, async () => (await full.height()) >= at, 120_000);
      const seen = await full.height();
      await full.kill9();
      await full.start();
      const restarted = await full.height();
      expect(restarted).toBeGreaterThanOrEqual(seen - BigInt(SYNCED_RUN_LIMITS.blocks));
    }
    const tip = await v.height();
    await waitFor(`full node at ${tip}`, async () => (await full.height()) >= tip, 180_000);
    await expectSameChain(v, full, tip);
  }, 600_000);
});
