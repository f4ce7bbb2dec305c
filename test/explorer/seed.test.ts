/**
 * What the indexer knows before any event says so (`genesisSeed.ts`): the native tokens and collections as token
 * rows, genesis LEARN allocations as holdings, WAZR holdings equal to native balances — once, across restarts — and
 * the token pages' paging (Previous/Next) through the API. Both backends.
 */
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ILearnAbi } from "../../contracts/artifacts/ILearn.js";
import { INFTRegistryAbi } from "../../contracts/artifacts/INFTRegistry.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { createBlockFetcher } from "../../services/explorer/fetcher.js";
import { Indexer } from "../../services/explorer/indexer.js";
import { startExplorer } from "../../services/explorer/server.js";
import { ExplorerStore } from "../../services/explorer/store.js";
import { createRPCClient } from "../../services/runtime/chain/rpcClient.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";
import { BACKENDS, PG_URL } from "./backends.js";

const WAZR = "0x0000000000000000000000000000000000000a01";
const LEARN = "0x0000000000000000000000000000000000000a02";
const NFT_REGISTRY = "0x0000000000000000000000000000000000000a03";
const dev = (i: number) => new Wallet(DEV_KEYS[i]).address.toLowerCase();
/** Dev account 2 holds LEARN and $AZR from genesis and sends no transaction here. */
const idle = dev(2);
/** Fresh LEARN recipients: seven transfers and seven holders more than genesis made. */
const recipients = Array.from({ length: 7 }, (_, i) => `0x${(0xbeef00 + i).toString(16).padStart(40, "0")}`);

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let provider: JsonRpcProvider;
let learn: Contract;
let registry: Contract;
/** Created (not minted from) before `createdBy`; `late` after it. */
let early: string;
let late: string;
let createdBy: number;

async function mined(p: Promise<{ hash: string }>): Promise<number> {
  const r = await provider.waitForTransaction((await p).hash);
  expect(r?.status).toBe(1);
  return r?.blockNumber ?? -1;
}

async function newCollection(name: string, symbol: string): Promise<string> {
  const owner = dev(0);
  await mined(registry.createCollection(name, symbol, owner, 0));
  return ((await registry.collectionAt(await registry.collectionCount())) as string).toLowerCase();
}

const learnOf = async (a: string, block: number | "latest" = "latest") =>
  ((await learn.balanceOf(a, { blockTag: block })) as bigint).toString();

beforeAll(async () => {
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  const owner = new Wallet(DEV_KEYS[0], provider);
  learn = new Contract(LEARN, ILearnAbi as never, owner);
  registry = new Contract(NFT_REGISTRY, INFTRegistryAbi as never, owner);
  early = await newCollection("Early Owls", "EOWL");
  createdBy = await provider.getBlockNumber();
  for (const [i, r] of recipients.entries()) await mined(learn.transfer(r, BigInt(i + 1) * 10n ** 18n));
  late = await newCollection("Late Owls", "LOWL");
}, 180_000);

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

async function indexer(store: ExplorerStore, fromBlock: number, untilBlock: number): Promise<Indexer> {
  const rpc = createRPCClient(node.url);
  const ix = new Indexer({
    store,
    rpc,
    fetcher: createBlockFetcher(rpc),
    logger: nullLogger,
    fromBlock,
    batchBlocks: 3,
    untilBlock,
    pollMs: 200,
  });
  await ix.start();
  await ix.waitFor(untilBlock);
  return ix;
}

describe.each(BACKENDS)("explorer seed ($name)", (backend) => {
  it("knows LEARN, WAZR and the collections as tokens, and genesis holders, once across a restart", async () => {
    const { open, cleanup } = backend.create();
    try {
      let store = await ExplorerStore.open(await open());
      const first = await provider.getBlockNumber();
      await (await indexer(store, 0, first)).stop();

      expect(await store.token(LEARN)).toMatchObject({ standard: "erc20", symbol: "LEARN", decimals: 18 });
      expect(await store.token(WAZR)).toMatchObject({ standard: "erc20", symbol: "AZR", decimals: 18 });
      // A collection nobody minted from is a collection from its CollectionCreated on.
      expect(await store.token(early)).toMatchObject({ standard: "erc721", name: "Early Owls", symbol: "EOWL" });
      expect(await store.token(late)).toMatchObject({ standard: "erc721", name: "Late Owls", symbol: "LOWL" });

      // Genesis LEARN that no Transfer ever announced, and the sender's genesis minus what it sent.
      const learnHolding = async (a: string) =>
        (await store.holdings(a)).find((h) => h.token === LEARN && h.tokenId === "")?.balance;
      expect(BigInt(await learnOf(idle))).toBeGreaterThan(0n);
      expect(await learnHolding(idle)).toBe(await learnOf(idle, first));
      expect(await learnHolding(dev(0))).toBe(await learnOf(dev(0), first));
      expect(await learnHolding(recipients[6])).toBe((7n * 10n ** 18n).toString());

      // WAZR holdings are the native balances, the idle genesis account's included.
      const wazrHolding = async (a: string) => (await store.holdings(a)).find((h) => h.token === WAZR)?.balance;
      const idleBalance = BigInt(await provider.getBalance(idle, first)).toString();
      expect(await store.balance(idle)).toMatchObject({ balance: idleBalance });
      expect(await wazrHolding(idle)).toBe(idleBalance);
      expect(await wazrHolding(dev(0))).toBe(BigInt(await provider.getBalance(dev(0), first)).toString());

      // A restart on the same database, more LEARN moved meanwhile: nothing counted twice.
      await store.close();
      await mined(learn.transfer(idle, 5n));
      const second = await provider.getBlockNumber();
      store = await ExplorerStore.open(await open());
      await (await indexer(store, 0, second)).stop();
      for (const a of [idle, dev(0), dev(1), ...recipients])
        expect(await learnHolding(a)).toBe(await learnOf(a, second));
      expect(await wazrHolding(dev(0))).toBe(BigInt(await provider.getBalance(dev(0), second)).toString());

      // Asked before start() for a height already stored: met at start, though no batch runs to settle it.
      const rpc = createRPCClient(node.url);
      const again = new Indexer({
        store,
        rpc,
        fetcher: createBlockFetcher(rpc),
        logger: nullLogger,
        fromBlock: 0,
        batchBlocks: 3,
        untilBlock: second,
        pollMs: 200,
      });
      const met = again.waitFor(second);
      await again.start();
      await met;
      await again.stop();
      await store.close();
    } finally {
      await cleanup();
    }
  }, 180_000);

  it("started after block 0, reads the collections that exist and genesis holders' balances at the block before", async () => {
    const { open, cleanup } = backend.create();
    try {
      const store = await ExplorerStore.open(await open());
      const from = createdBy + 1;
      await (await indexer(store, from, from + 2)).stop();
      expect(await store.token(early)).toMatchObject({ standard: "erc721", name: "Early Owls" });
      expect(await store.token(LEARN)).toMatchObject({ symbol: "LEARN" });
      const idleLearn = (await store.holdings(idle)).find((h) => h.token === LEARN)?.balance;
      expect(idleLearn).toBe(await learnOf(idle, createdBy));
      await store.close();
    } finally {
      await cleanup();
    }
  }, 120_000);

  it("pages token transfers and holders: Previous/Next walk the whole list once, in order", async () => {
    const schema = `azora_explorer_seed_${process.pid}_${Date.now()}`;
    const db = backend.name === "postgres" && PG_URL !== undefined ? PG_URL : `${tempDir("explorer")}/e.sqlite`;
    const svc = await startExplorer(
      resolveExplorerConfig(undefined, {
        rpc: node.url,
        db,
        pgSchema: schema,
        http: { port: 0 },
        indexer: { batchBlocks: 8, pollMs: 200 },
      }),
      { log: nullLogger, version: "test" },
    );
    try {
      await svc.indexer?.waitFor(await provider.getBlockNumber());
      const get = async <T>(path: string): Promise<T> => {
        const r = await fetch(`${svc.url}${path}`);
        expect(r.status).toBe(200);
        return (await r.json()) as T;
      };
      /** Pages as the token page asks for them (a row more than a page, to know whether Next has one). */
      const walk = async <T>(path: string, page: number) => {
        const pages: T[][] = [];
        for (let offset = 0; ; offset += page) {
          const got = await get<T[]>(`${path}?limit=${page + 1}&offset=${offset}`);
          pages.push(got.slice(0, page));
          if (got.length <= page) return pages;
          expect(pages.length).toBeLessThan(100);
        }
      };
      const key = (t: { txHash: string; logIndex: number }) => `${t.txHash}:${t.logIndex}`;

      type T = { txHash: string; logIndex: number; blockNumber: number };
      const all = await get<T[]>(`/v1/tokens/${LEARN}/transfers?limit=1000`);
      expect(all.length).toBeGreaterThanOrEqual(recipients.length);
      for (const size of [3, all.length]) {
        const pages = await walk<T>(`/v1/tokens/${LEARN}/transfers`, size);
        expect(pages.flat().map(key)).toEqual(all.map(key));
        expect(pages.slice(0, -1).every((p) => p.length === size)).toBe(true);
      }
      // Previous from page 3 is page 2 again.
      const page2 = await get<T[]>(`/v1/tokens/${LEARN}/transfers?limit=3&offset=3`);
      expect(page2.map(key)).toEqual(all.slice(3, 6).map(key));

      type H = { holder: string; balance: string };
      const holders = await get<H[]>(`/v1/tokens/${LEARN}/top-holders?limit=1000`);
      // Ten genesis holders and the seven recipients.
      expect(holders.length).toBeGreaterThanOrEqual(17);
      const byBalance = [...holders].sort((a, b) => Number(BigInt(b.balance) - BigInt(a.balance)));
      expect(holders.map((h) => h.balance)).toEqual(byBalance.map((h) => h.balance));
      const pages = await walk<H>(`/v1/tokens/${LEARN}/top-holders`, 4);
      expect(pages.flat()).toEqual(holders);
      expect(pages.length).toBe(Math.ceil(holders.length / 4));
      const listed = await walk<H>(`/v1/tokens/${LEARN}/holders`, 5);
      expect(new Set(listed.flat().map((h) => h.holder))).toEqual(new Set(holders.map((h) => h.holder)));
      expect(listed.flat().length).toBe(holders.length);

      // The WAZR token page has holders too: the native balances.
      const wazr = await get<{ holders: number }>(`/v1/tokens/${WAZR}`);
      expect(wazr.holders).toBeGreaterThanOrEqual(10);
    } finally {
      await svc.close();
      if (backend.name === "postgres" && PG_URL !== undefined) {
        const pg = await import("pg");
        const c = new pg.default.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
    }
  }, 180_000);
});
