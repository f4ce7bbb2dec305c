import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import type { SQLDriver, SQLQueries } from "../../services/explorer/db/driver.js";
import { createBlockFetcher } from "../../services/explorer/fetcher.js";
import { Indexer } from "../../services/explorer/indexer.js";
import { ExplorerStore } from "../../services/explorer/store.js";
import { createRPCClient, type RPCClient } from "../../services/runtime/chain/rpcClient.js";
import { startInProcessNode } from "../utils/devnode.js";
import { BACKENDS } from "./backends.js";
import { type Activity, makeActivity, WAZR } from "./chain.js";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let activity: Activity;

beforeAll(async () => {
  node = await startInProcessNode();
  activity = await makeActivity(node.url);
}, 180_000);
afterAll(async () => {
  await node?.cleanup();
});

/** Every table, in key order: two databases hold the same index iff their dumps are equal. */
async function dump(db: SQLDriver): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string> = {
    meta: "key",
    blocks: "number",
    txs: "hash",
    address_txs: "address, block_number, tx_index",
    logs: "block_number, log_index",
    transfers: "block_number, log_index, batch_index",
    internal_calls: "tx_hash, call_index",
    contracts: "address",
    tokens: "address",
    holdings: "holder, token, token_id",
    balances: "address",
  };
  const out: Record<string, unknown[]> = {};
  for (const [t, order] of Object.entries(tables)) out[t] = await db.all(`SELECT * FROM ${t} ORDER BY ${order}`);
  return out;
}

class Killed extends Error {}

async function indexTo(store: ExplorerStore, rpc: RPCClient, height: number, batchBlocks = 4): Promise<Indexer> {
  const indexer = new Indexer({
    store,
    rpc,
    fetcher: createBlockFetcher(rpc),
    wsUrl: node.wsUrl,
    logger: nullLogger,
    fromBlock: 0,
    batchBlocks,
    untilBlock: height,
    pollMs: 200,
  });
  await indexer.start();
  await untilIndexed(indexer, height);
  return indexer;
}

/** Waits for `height`, failing at once on a batch error (a duplicate row would otherwise be retried forever). */
async function untilIndexed(indexer: Indexer, height: number): Promise<void> {
  let done = false;
  const reached = indexer.waitFor(height).finally(() => {
    done = true;
  });
  while (!done) {
    const e = indexer.progress().lastError;
    if (e !== null && !(e instanceof Killed)) throw e;
    await Promise.race([reached, new Promise((r) => setTimeout(r, 50))]);
  }
  await reached;
}

/**
 * A process that dies at its `killAt`-th step, a step being one RPC batch or one SQL statement inside a write
 * transaction; after that every step fails (a dead process does nothing more). The transaction in flight is rolled
 * back, as SQLite and PostgreSQL do for a connection that goes away.
 */
function mortal(db: SQLDriver, rpc: RPCClient, killAt: number) {
  let steps = 0;
  let onKill: () => void = () => {};
  const killed = new Promise<void>((r) => {
    onKill = r;
  });
  const step = () => {
    if (++steps >= killAt) {
      onKill();
      throw new Killed(`killed at step ${killAt}`);
    }
  };
  const dbProxy: SQLDriver = {
    ...db,
    all: db.all,
    run: db.run,
    transaction: (fn) =>
      db.transaction((q: SQLQueries) =>
        fn({
          all: (sql, p) => {
            step();
            return q.all(sql, p);
          },
          run: (sql, p) => {
            step();
            return q.run(sql, p);
          },
        }),
      ),
  };
  const rpcProxy: RPCClient = {
    url: rpc.url,
    // Head polling (call) is not a step: a dead process's head watcher would spin, not index.
    call: (m, p) => rpc.call(m, p),
    batch: (calls) => {
      step();
      return rpc.batch(calls);
    },
  };
  return { db: dbProxy, rpc: rpcProxy, killed, steps: () => steps };
}

describe.each(BACKENDS)("explorer indexer ($name)", (backend) => {
  it("stores every kind of row: blocks, transfers (ERC-20, ERC-721, native), internal calls, creations, a revert", async () => {
    const { open, cleanup } = backend.create();
    const store = await ExplorerStore.open(await open());
    const rpc = createRPCClient(node.url);
    const indexer = await indexTo(store, rpc, activity.lastBlock);
    try {
      const a = activity;
      const stats = await store.stats();
      expect(stats.cursor).toBeGreaterThanOrEqual(a.lastBlock);
      expect(stats.blocks).toBe((stats.cursor ?? 0) + 1);

      // ERC-20: the mint at deployment and the transfer, with token metadata and holdings derived from them.
      const erc20 = await store.txTransfers(a.tokenTransfer);
      expect(erc20).toMatchObject([{ standard: "erc20", token: a.token, from: a.owner, to: a.alice, amount: "250" }]);
      expect(await store.token(a.token)).toMatchObject({
        standard: "erc20",
        name: "Test Token",
        symbol: "TTK",
        decimals: 18,
      });
      const aliceHoldings = await store.holdings(a.alice);
      expect(aliceHoldings.find((h) => h.token === a.token)?.balance).toBe("250");
      expect((await store.holdings(a.owner)).find((h) => h.token === a.token)?.balance).toBe("999750");

      // ERC-721: a mint, and the NFT among alice's holdings.
      expect(await store.txTransfers(a.nftMint)).toMatchObject([
        { standard: "erc721", token: a.nft, to: a.alice, tokenId: "1", amount: "1" },
      ]);
      expect(aliceHoldings.find((h) => h.token === a.nft)).toMatchObject({ tokenId: "1", balance: "1" });

      // A native module's event: WAZR's Transfer, decoded by the generated ABI.
      const wazrLogs = await store.txLogs(a.wazrTransfer);
      expect(wazrLogs).toMatchObject([{ address: WAZR, event: "Transfer" }]);
      expect(await store.txTransfers(a.wazrTransfer)).toMatchObject([
        { token: WAZR, standard: "erc20", from: a.owner, to: a.alice, amount: "1000000000000000000" },
      ]);

      // Internal calls from callTracer: router → vault.deposit, router → vault.withdraw → router (payout).
      const calls = await store.txInternalCalls(a.internalCalls);
      expect(calls.map((c) => [c.depth, c.type, c.from, c.to])).toEqual([
        [0, "CALL", a.owner, a.router],
        [1, "CALL", a.router, a.vault],
        [1, "CALL", a.router, a.vault],
        [2, "CALL", a.vault, a.router],
      ]);
      expect(calls[3].value).toBe("250000000000000000");
      expect((await store.txLogs(a.internalCalls))[0]).toMatchObject({ address: a.vault, event: null });

      // Contract creations with their creation input (what verification checks constructor arguments against).
      const created = await store.contract(a.token);
      expect(created?.creator).toBe(a.owner);
      expect(created?.creationInput.endsWith(1_000_000n.toString(16).padStart(64, "0"))).toBe(true);
      expect((await store.tx(created?.txHash ?? ""))?.contractAddress).toBe(a.token);

      // A revert: status 0 and the reason from the trace.
      expect(await store.tx(a.reverted)).toMatchObject({ status: 0, error: "TestToken: forced failure" });

      // Native balances as of the last block that touched them, and an address's transactions newest first.
      const bal = await store.balance(a.router);
      expect(bal?.balance).toBe("250000000000000000");
      const txs = await store.addressTxs(a.owner, { limit: 100, offset: 0 });
      expect(txs[0].hash).toBe(a.reverted);
      expect(txs.length).toBe(await store.addressTxCount(a.owner));
    } finally {
      await indexer.stop();
      await store.close();
      await cleanup();
    }
  }, 120_000);

  it("resumes after a kill at any point with no gap and no duplicate (property over kill points)", async () => {
    const rpc = createRPCClient(node.url);
    const height = activity.lastBlock;
    // The reference: one uninterrupted run.
    const ref = backend.create();
    const refDriver = await ref.open();
    const refStore = await ExplorerStore.open(refDriver);
    await (await indexTo(refStore, rpc, height)).stop();
    const expected = await dump(refDriver);
    // Count the steps of a full run to draw kill points from all of them.
    const fresh = backend.create();
    const counting = mortal(await fresh.open(), rpc, Number.POSITIVE_INFINITY);
    const countStore = await ExplorerStore.open(counting.db);
    await (await indexTo(countStore, counting.rpc, height)).stop();
    const totalSteps = counting.steps();
    await countStore.close();
    await fresh.cleanup();
    expect(totalSteps).toBeGreaterThan(10);

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: totalSteps }), { minLength: 1, maxLength: 3 }),
        async (kills) => {
          const { open, cleanup } = backend.create();
          try {
            // Each life dies at its kill point; the last one runs to the end. Batch sizes vary between lives.
            for (const [i, killAt] of kills.entries()) {
              const life = mortal(await open(), rpc, killAt);
              const store = await ExplorerStore.open(life.db).catch((e) => {
                if (e instanceof Killed) return null;
                throw e;
              });
              if (store === null) continue;
              const indexer = new Indexer({
                store,
                rpc: life.rpc,
                fetcher: createBlockFetcher(life.rpc),
                logger: nullLogger,
                fromBlock: 0,
                batchBlocks: 1 + (i % 3) * 3,
                untilBlock: height,
                pollMs: 200,
              });
              const started = indexer.start().catch((e) => {
                if (!(e instanceof Killed)) throw e;
              });
              await Promise.race([life.killed, indexer.waitFor(height)]);
              await started;
              await indexer.stop();
              await store.close();
            }
            const db = await open();
            const store = await ExplorerStore.open(db);
            await (await indexTo(store, rpc, height, 5)).stop();
            const got = await dump(db);
            await store.close();
            // Same rows as the uninterrupted run, up to the same height.
            const cut = (d: Record<string, unknown[]>) => ({ ...d, meta: [] });
            expect(cut(got)).toEqual(cut(expected));
          } finally {
            await cleanup();
          }
        },
      ),
      { numRuns: 8 },
    );
    await refStore.close();
    await ref.cleanup();
  }, 300_000);
});
