import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { devnetGenesis } from "../../../../genesis/devnet.js";
import { Chain, type CommittedBlock, type HeadInfo, SYNCED_RUN_LIMITS } from "../../../../node/chain/chain.js";
import type { ChainDB } from "../../../../node/db/chainDb.js";
import { canonicalKey, metaKey } from "../../../../node/db/keys.js";
import { openChainStorage } from "../../../../node/db/storage.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import { hashHeader } from "../../../../runtime/primitives/block.js";
import { expectUint, rlpDecodeList } from "../../../../runtime/primitives/rlpCodec.js";
import { tempDir } from "../../../utils/devnode.js";

/**
 * `Chain.commitSyncedRun`: block sync writes each verified run as ONE atomic, synced LevelDB batch (cut at
 * SYNCED_RUN_LIMITS), the highest-committed record once after it. Nothing of a held block reaches LevelDB before
 * its batch (no unsynced write can sit in a rotated log), reads see held blocks meanwhile, and the record never
 * names a height above what LevelDB holds, whatever the runs, their early ends and the consensus commits between.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An empty block on `parent` (no transactions: the state root stays, no trie nodes are written). */
function emptyChild(parent: HeadInfo, timeStep = 1n): CommittedBlock {
  const header = {
    ...parent.header,
    number: parent.header.number + 1n,
    parentHash: parent.hash,
    timestamp: parent.header.timestamp + timeStep,
  };
  return {
    header,
    hash: hashHeader(header),
    body: { transactions: [], lastCommit: new Uint8Array(0), evidence: [] },
    receipts: [],
    txHashes: [],
  };
}

function blocksOn(parent: HeadInfo, n: number): CommittedBlock[] {
  const out: CommittedBlock[] = [];
  for (let i = 0; i < n; i++) {
    const b = emptyChild(parent);
    out.push(b);
    parent = { header: b.header, hash: b.hash };
  }
  return out;
}

/** The head pointer LevelDB itself holds (past ChainDB's held writes): the durable head, writes being synced. */
async function levelHead(db: ChainDB): Promise<bigint> {
  const level = (db as unknown as { db: { get(k: Uint8Array): Promise<Uint8Array | undefined> } }).db;
  const raw = await level.get(metaKey("head"));
  return raw === undefined ? -1n : expectUint(rlpDecodeList(raw, "head")[0], "head.number");
}

/** A chain on a fresh LevelDB that syncs writes; counts LevelDB block batches and checks every record write. */
async function openTracked() {
  const dir = tempDir("synced-run");
  dirs.push(dir);
  const g = devnetGenesis();
  const storage = await openChainStorage(dir, { syncWrites: true });
  const chain = await Chain.open(storage.db, g, createChainCommon(g.chainId), nullLogger);
  chain.useCommittedRecord(storage.record);
  const t = { dir, chain, storage, batches: 0, recordHeights: [] as bigint[], violations: [] as string[] };
  // Every block batch and every record write goes through the block-write wait; the record's are told apart below.
  let recordWrite = false;
  storage.db.setBlockWriteWait(async (write) => {
    if (!recordWrite) t.batches++;
    return write();
  });
  const writeAsync = storage.record.writeAsync.bind(storage.record);
  storage.record.writeAsync = async (s) => {
    recordWrite = false;
    const durable = await levelHead(storage.db);
    if (s.height !== null && s.height > durable) t.violations.push(`record ${s.height} > LevelDB head ${durable}`);
    if (s.height !== null) t.recordHeights.push(s.height);
    return writeAsync(s);
  };
  const blockWriteWaitFor = storage.db.blockWriteWaitFor.bind(storage.db);
  storage.db.blockWriteWaitFor = (write) => {
    recordWrite = true;
    return blockWriteWaitFor(write);
  };
  return t;
}

/** A small deterministic PRNG (mulberry32): the property runs the same sequences every time. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % 4294967296) % n;
  };
}

describe("Chain.commitSyncedRun (one atomic synced batch per verified sync run)", () => {
  it("writes the run in one batch, nothing before it, reads see held blocks, the record once after", async () => {
    const t = await openTracked();
    const run = blocksOn(t.chain.head, 5);
    await t.chain.commitSyncedRun(
      run.map((b) => b.hash),
      async () => {
        for (const b of run.slice(0, -1)) {
          await t.chain.commitBlock(b, Uint8Array.of(1, 2, 3));
          // Held, not in LevelDB; but visible through the database's reads.
          expect(await levelHead(t.storage.db)).toBe(0n);
          expect(await t.storage.db.getCanonicalHash(b.header.number)).toEqual(b.hash);
          expect(await t.storage.db.getCommit(b.header.number)).toEqual(Uint8Array.of(1, 2, 3));
          const [canonical, absent] = await t.storage.db.getMany([canonicalKey(b.header.number), canonicalKey(999n)]);
          expect([canonical, absent]).toEqual([b.hash, undefined]);
        }
        expect(t.batches).toBe(0);
        // The last block's commit writes the run (one batch) and the record before it returns: durable before the
        // driver moves consensus past it.
        await t.chain.commitBlock(run[4], Uint8Array.of(1, 2, 3));
        expect(t.batches).toBe(1);
        expect(await levelHead(t.storage.db)).toBe(5n);
        expect(t.recordHeights).toEqual([5n]);
      },
    );
    expect(t.batches).toBe(1);
    expect(await levelHead(t.storage.db)).toBe(5n);
    expect(t.recordHeights).toEqual([5n]);
    // Outside a run, commits are durable one by one again.
    await t.chain.commitBlock(emptyChild(t.chain.head), new Uint8Array(0));
    expect(t.batches).toBe(2);
    expect(t.recordHeights).toEqual([5n, 6n]);
    t.storage.record.close();
    await t.storage.db.close();
  });

  it("reads between held blocks see each key's newest held write (the read index is filled at reads, in order)", async () => {
    const t = await openTracked();
    const run = blocksOn(t.chain.head, 6);
    await t.chain.commitSyncedRun(
      run.map((b) => b.hash),
      async () => {
        // Reads after 1, none after 2 and 3, then after 4 and 5: each read sees every block held so far, and the
        // head pointer (written by every block) at the newest.
        for (const [i, b] of run.slice(0, -1).entries()) {
          await t.chain.commitBlock(b, Uint8Array.of(i + 1));
          if (i === 1 || i === 2) continue;
          expect((await t.storage.db.getHead())?.number).toBe(b.header.number);
          for (const seen of run.slice(0, i + 1)) {
            expect(await t.storage.db.getCanonicalHash(seen.header.number)).toEqual(seen.hash);
            expect(await t.storage.db.getCommit(seen.header.number)).toEqual(Uint8Array.of(Number(seen.header.number)));
          }
          expect(await t.storage.db.getCanonicalHash(b.header.number + 1n)).toBeUndefined();
        }
        expect(t.batches).toBe(0);
        await t.chain.commitBlock(run[5], Uint8Array.of(6));
      },
    );
    expect(t.batches).toBe(1);
    expect((await t.storage.db.getHead())?.number).toBe(6n);
    t.storage.record.close();
    await t.storage.db.close();
  });

  it("a scan during the run (eth_getLogs' index) writes the held blocks early; the record still names the run's last", async () => {
    const t = await openTracked();
    const run = blocksOn(t.chain.head, 6);
    await t.chain.commitSyncedRun(
      run.map((b) => b.hash),
      async () => {
        for (const b of run.slice(0, 3)) await t.chain.commitBlock(b, new Uint8Array(0));
        await t.storage.db.blocksWithLogsFrom(new Uint8Array(20), 0n, 10n, 10);
        expect(await levelHead(t.storage.db)).toBe(3n);
        for (const b of run.slice(3)) await t.chain.commitBlock(b, new Uint8Array(0));
      },
    );
    expect(t.batches).toBe(2);
    expect(t.recordHeights).toEqual([6n]);
    expect(t.violations).toEqual([]);
    t.storage.record.close();
    await t.storage.db.close();
  });

  it("a batch a scan started early is still on its way: the next batch (the run's, a consensus commit's) goes after it", async () => {
    const t = await openTracked();
    // Hold every block batch until released; count those on their way at once (LevelDB must get them in order).
    let release: () => void = () => {};
    let gate = new Promise<void>((r) => (release = r));
    let inFlight = 0;
    let maxInFlight = 0;
    let recordWrite = false; // record writes use the same wait (openTracked tells them apart alike): not gated
    const blockWriteWaitFor = t.storage.db.blockWriteWaitFor.bind(t.storage.db);
    t.storage.db.blockWriteWaitFor = (write) => {
      recordWrite = true;
      return blockWriteWaitFor(write);
    };
    t.storage.db.setBlockWriteWait(async (write) => {
      if (recordWrite) {
        recordWrite = false;
        return write();
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await gate;
        return await write();
      } finally {
        inFlight--;
      }
    });
    const run = blocksOn(t.chain.head, 6);
    await t.chain.commitSyncedRun(
      run.map((b) => b.hash),
      async () => {
        for (const b of run.slice(0, 2)) await t.chain.commitBlock(b, new Uint8Array(0));
        const scan = t.storage.db.blocksWithLogsFrom(new Uint8Array(20), 0n, 10n, 10); // flushes blocks 1–2, gated
        // A consensus commit (between the driver's slices; nothing held) while the scan's batch is on its way.
        const consensus = t.chain.commitBlock(emptyChild(t.chain.head, 2n), new Uint8Array(0));
        await new Promise((r) => setTimeout(r, 20));
        expect(await levelHead(t.storage.db)).toBe(0n);
        gate = Promise.resolve();
        release();
        await Promise.all([scan, consensus]);
      },
    );
    expect(maxInFlight).toBe(1);
    expect(await levelHead(t.storage.db)).toBe(3n);
    expect(t.storage.record.get()?.height).toBe(3n);
    expect(t.violations).toEqual([]);
    t.storage.record.close();
    await t.storage.db.close();
  });

  it("cuts a run longer than the limit into batches of at most SYNCED_RUN_LIMITS.blocks", async () => {
    const t = await openTracked();
    const n = SYNCED_RUN_LIMITS.blocks * 2 + 3;
    const run = blocksOn(t.chain.head, n);
    await t.chain.commitSyncedRun(
      run.map((b) => b.hash),
      async () => {
        for (const b of run) await t.chain.commitBlock(b, new Uint8Array(0));
      },
    );
    expect(t.batches).toBe(3);
    expect(t.recordHeights).toEqual([
      BigInt(SYNCED_RUN_LIMITS.blocks),
      BigInt(SYNCED_RUN_LIMITS.blocks * 2),
      BigInt(n),
    ]);
    expect(t.violations).toEqual([]);
    t.storage.record.close();
    await t.storage.db.close();
  });

  it("never lets the record name a height LevelDB does not hold: random runs, early ends, consensus commits between", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const rnd = prng(seed);
      const t = await openTracked();
      for (let step = 0; step < 12; step++) {
        if (rnd(3) === 0) {
          // Consensus commits a block outside any run: its own synced batch, the record follows.
          await t.chain.commitBlock(emptyChild(t.chain.head), new Uint8Array(0));
          expect(await levelHead(t.storage.db)).toBe(t.chain.head.header.number);
          continue;
        }
        const run = blocksOn(t.chain.head, 1 + rnd(8));
        // The driver may stop early (shutdown, halt, failure): only a prefix of the run commits.
        const committed = rnd(4) === 0 ? rnd(run.length) : run.length;
        // A consensus commit may land inside the run (between the driver's slices): it flushes what is held.
        const intruder = rnd(3) === 0 ? rnd(committed + 1) : -1;
        await t.chain.commitSyncedRun(
          run.map((b) => b.hash),
          async () => {
            for (let i = 0; i < committed; i++) {
              if (i === intruder) break;
              await t.chain.commitBlock(run[i], new Uint8Array(0));
            }
            if (intruder >= 0) {
              // Another block than the run's at that height (a run is dropped after it; here it just ends).
              await t.chain.commitBlock(emptyChild(t.chain.head, 2n), new Uint8Array(0));
              expect(await levelHead(t.storage.db)).toBe(t.chain.head.header.number);
            }
          },
        );
        expect(await levelHead(t.storage.db)).toBe(t.chain.head.header.number);
        expect(t.storage.record.get()?.height).toBe(t.chain.head.header.number);
      }
      expect(t.violations).toEqual([]);
      const head = t.chain.head;
      t.storage.record.close();
      await t.storage.db.close();
      const again = await openChainStorage(t.dir, { syncWrites: true });
      expect((await again.db.getHead())?.number).toBe(head.header.number);
      expect(again.record.get()?.height).toBe(head.header.number);
      again.record.close();
      await again.db.close();
    }
  });
});
