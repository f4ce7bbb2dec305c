import { type Contract, ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestMultiTokenAbi, TestMultiTokenBytecode } from "../../contracts/artifacts/TestMultiToken.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import { createBlockFetcher } from "../../services/explorer/fetcher.js";
import { Indexer } from "../../services/explorer/indexer.js";
import { ExplorerStore } from "../../services/explorer/store.js";
import { createRPCClient } from "../../services/runtime/chain/rpcClient.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { BACKENDS } from "./backends.js";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
const ZERO = "0x0000000000000000000000000000000000000000";

/** What the ERC-1155 activity put on chain: a single mint, a batch mint, a single and a batch transfer. */
let chain: {
  token: string;
  owner: string;
  alice: string;
  mintSingle: string;
  mintBatch: string;
  transferSingle: string;
  transferBatch: string;
  lastBlock: number;
};

beforeAll(async () => {
  node = await startInProcessNode();
  const provider = new JsonRpcProvider(node.url, undefined, {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  const owner = new Wallet(DEV_KEYS[0], provider);
  const alice = new Wallet(DEV_KEYS[1]).address;
  // Fixed gas limits: no eth_estimateGas, whose simulation has a time budget that a loaded CI machine can exceed.
  const gas = { gasLimit: 3_000_000n };
  const c = (await new ContractFactory(TestMultiTokenAbi as never, TestMultiTokenBytecode, owner).deploy(
    gas,
  )) as never as Contract;
  await c.waitForDeployment();
  const send = async (p: Promise<{ hash: string; wait(): Promise<unknown> }>) => {
    const tx = await p;
    await tx.wait();
    return tx.hash;
  };
  const mintSingle = await send(c.mint(owner.address, 1n, 100n, gas));
  const mintBatch = await send(c.mintBatch(owner.address, [2n, 3n], [5n, 7n], gas));
  const transferSingle = await send(c.safeTransferFrom(owner.address, alice, 1n, 30n, "0x", gas));
  const transferBatch = await send(c.safeBatchTransferFrom(owner.address, alice, [2n, 3n], [5n, 3n], "0x", gas));
  chain = {
    token: (await c.getAddress()).toLowerCase(),
    owner: owner.address.toLowerCase(),
    alice: alice.toLowerCase(),
    mintSingle,
    mintBatch,
    transferSingle,
    transferBatch,
    lastBlock: await provider.getBlockNumber(),
  };
  provider.destroy();
}, 180_000);
afterAll(async () => {
  await node?.cleanup();
});

describe.each(BACKENDS)("explorer indexer, ERC-1155 ($name)", (backend) => {
  it("stores TransferSingle and TransferBatch as transfers (one row per id) and as holdings per token id", async () => {
    const { open, cleanup } = backend.create();
    const store = await ExplorerStore.open(await open());
    const rpc = createRPCClient(node.url);
    const indexer = new Indexer({
      store,
      rpc,
      fetcher: createBlockFetcher(rpc),
      logger: nullLogger,
      fromBlock: 0,
      batchBlocks: 3,
      untilBlock: chain.lastBlock,
      pollMs: 200,
    });
    try {
      await indexer.start();
      await indexer.waitFor(chain.lastBlock);
      const { token, owner, alice } = chain;
      const t = { token, standard: "erc1155" };

      // Mints come from the zero address; a batch becomes one row per id, numbered by batchIndex.
      expect(await store.txTransfers(chain.mintSingle)).toMatchObject([
        { ...t, from: ZERO, to: owner, tokenId: "1", amount: "100", batchIndex: 0 },
      ]);
      expect(await store.txTransfers(chain.mintBatch)).toMatchObject([
        { ...t, from: ZERO, to: owner, tokenId: "2", amount: "5", batchIndex: 0 },
        { ...t, from: ZERO, to: owner, tokenId: "3", amount: "7", batchIndex: 1 },
      ]);
      expect(await store.txTransfers(chain.transferSingle)).toMatchObject([
        { ...t, from: owner, to: alice, tokenId: "1", amount: "30" },
      ]);
      expect(await store.txTransfers(chain.transferBatch)).toMatchObject([
        { ...t, from: owner, to: alice, tokenId: "2", amount: "5", batchIndex: 0 },
        { ...t, from: owner, to: alice, tokenId: "3", amount: "3", batchIndex: 1 },
      ]);
      expect((await store.token(token))?.standard).toBe("erc1155");

      // Holdings per (holder, token id): the owner's id 2 went to zero and is gone.
      const held = async (holder: string) =>
        (await store.holdings(holder))
          .filter((h) => h.token === token)
          .map((h) => [h.tokenId, h.balance])
          .sort();
      expect(await held(owner)).toEqual([
        ["1", "70"],
        ["3", "4"],
      ]);
      expect(await held(alice)).toEqual([
        ["1", "30"],
        ["2", "5"],
        ["3", "3"],
      ]);
    } finally {
      await indexer.stop();
      await store.close();
      await cleanup();
    }
  }, 120_000);
});
