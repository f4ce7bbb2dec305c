import { Interface } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batchResults,
  bloomOf,
  type Deployed,
  deploy,
  devWallet,
  expectBlockShape,
  expectTxShape,
  FEE_RECIPIENT,
  type Json,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpcError,
  send,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
  word,
} from "./helpers.js";

/** Root of an empty Merkle-Patricia trie (no transactions / no receipts). */
const EMPTY_TRIE_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

describe("eth_getBlockByNumber, eth_getBlockByHash, tx and uncle counts (manual mining)", () => {
  let node: TestNode;
  let probe: Deployed;
  /** A block holding three transactions, two of them emitting logs. */
  let busy: Json;
  let txHashes: string[];

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    probe = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    const iface = new Interface(probe.abi);
    txHashes = [
      await send(node.url, devWallet(node.url, 1), { to: UNUSED_ADDRESS, value: 1n }),
      await send(node.url, devWallet(node.url, 2), {
        to: probe.address,
        data: iface.encodeFunctionData("set", [7n, word(7)]),
      }),
      await send(node.url, devWallet(node.url, 3), { to: probe.address, value: 10n, gasLimit: 100_000n }),
    ];
    busy = await mine(node.url);
    // The producer orders by effective tip (equal here), then arrival; use the block's order below.
    expect([...busy.transactions].sort()).toEqual([...txHashes].sort());
    txHashes = busy.transactions;
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("genesis by `earliest` and `0x0`", async () => {
    const g = await result(node.url, "eth_getBlockByNumber", ["earliest", false]);
    expectBlockShape(g);
    expect(await result(node.url, "eth_getBlockByNumber", ["0x0", true])).toEqual(g);
    expect(g).toMatchObject({
      number: "0x0",
      transactions: [],
      gasUsed: "0x0",
      transactionsRoot: EMPTY_TRIE_ROOT,
      receiptsRoot: EMPTY_TRIE_ROOT,
      logsBloom: `0x${"00".repeat(256)}`,
    });
  });

  it("a block with transactions: header fields consistent with its receipts", async () => {
    expectBlockShape(busy);
    expect(busy.miner).toBe(FEE_RECIPIENT);
    expect(busy.transactionsRoot).not.toBe(EMPTY_TRIE_ROOT);
    const receipts: Json[] = await result(node.url, "eth_getBlockReceipts", [busy.number]);
    expect(receipts.map((r) => r.transactionHash)).toEqual(txHashes);
    const gasUsed = receipts.reduce((s, r) => s + BigInt(r.gasUsed), 0n);
    expect(busy.gasUsed).toBe(q(gasUsed));
    expect(receipts[2].cumulativeGasUsed).toBe(q(gasUsed));
    expect(receipts.map((r) => r.transactionIndex)).toEqual(["0x0", "0x1", "0x2"]);
    const logs = receipts.flatMap((r) => r.logs);
    expect(logs).toHaveLength(2);
    expect(busy.logsBloom).toBe(bloomOf(logs));

    const parent = await result(node.url, "eth_getBlockByNumber", [q(BigInt(busy.number) - 1n), false]);
    expect(busy.parentHash).toBe(parent.hash);
    expect(BigInt(busy.timestamp)).toBeGreaterThanOrEqual(BigInt(parent.timestamp));
    expect(busy.gasLimit).toBe(q(60_000_000n));
  });

  it("fullTransactions: the same objects eth_getTransactionByHash returns", async () => {
    const full = await result(node.url, "eth_getBlockByNumber", [busy.number, true]);
    expect({ ...full, transactions: undefined }).toEqual({ ...busy, transactions: undefined });
    expect(full.transactions).toHaveLength(3);
    for (const [i, t] of full.transactions.entries()) {
      expectTxShape(t, true);
      expect(t).toMatchObject({ blockHash: busy.hash, blockNumber: busy.number, transactionIndex: q(i) });
      expect(t).toEqual(await result(node.url, "eth_getTransactionByHash", [txHashes[i]]));
    }
    // The parameter defaults to false.
    expect(await result(node.url, "eth_getBlockByNumber", [busy.number])).toEqual(busy);
  });

  it("eth_getBlockByHash returns the same block, null for an unknown hash", async () => {
    expect(await result(node.url, "eth_getBlockByHash", [busy.hash, false])).toEqual(busy);
    expect(await result(node.url, "eth_getBlockByHash", [busy.hash, true])).toEqual(
      await result(node.url, "eth_getBlockByNumber", [busy.number, true]),
    );
    expect(await result(node.url, "eth_getBlockByHash", [UNKNOWN_HASH, false])).toBeNull();
    expect(await result(node.url, "eth_getBlockByHash", [busy.hash.toUpperCase().replace("0X", "0x"), false])).toEqual(
      busy,
    );
  });

  it("latest, safe and finalized are the same block (instant finality); pending is the head too", async () => {
    const [latest, safe, finalized, pending, number] = await batchResults(node.url, [
      ["eth_getBlockByNumber", ["latest", false]],
      ["eth_getBlockByNumber", ["safe", false]],
      ["eth_getBlockByNumber", ["finalized", false]],
      ["eth_getBlockByNumber", ["pending", false]],
      ["eth_blockNumber", []],
    ]);
    expect(latest.number).toBe(number);
    expect(safe).toEqual(latest);
    expect(finalized).toEqual(latest);
    expect(pending.number).toBe(latest.number);
  });

  it("a number beyond the head is null, not an error", async () => {
    const head = BigInt(await result(node.url, "eth_blockNumber", []));
    expect(await result(node.url, "eth_getBlockByNumber", [q(head + 1n), false])).toBeNull();
    expect(await result(node.url, "eth_getBlockByNumber", ["0x7fffffffffffffff", true])).toBeNull();
    // After mining it exists.
    const next = await mine(node.url);
    expect(next.number).toBe(q(head + 1n));
    expect(next.transactions).toEqual([]);
    expect(next.parentHash).toBe((await result(node.url, "eth_getBlockByNumber", [q(head), false])).hash);
  });

  it("eth_getBlockTransactionCountByNumber / ByHash", async () => {
    expect(await result(node.url, "eth_getBlockTransactionCountByNumber", [busy.number])).toBe("0x3");
    expect(await result(node.url, "eth_getBlockTransactionCountByHash", [busy.hash])).toBe("0x3");
    expect(await result(node.url, "eth_getBlockTransactionCountByNumber", ["earliest"])).toBe("0x0");
    expect(await result(node.url, "eth_getBlockTransactionCountByNumber", ["0xffffff"])).toBeNull();
    expect(await result(node.url, "eth_getBlockTransactionCountByHash", [UNKNOWN_HASH])).toBeNull();
    const [count, latest] = await batchResults(node.url, [
      ["eth_getBlockTransactionCountByNumber", ["latest"]],
      ["eth_getBlockByNumber", ["latest", false]],
    ]);
    expect(count).toBe(q(latest.transactions.length));
  });

  it("eth_getUncleCountByBlockNumber / ByBlockHash: 0x0 for known blocks, null otherwise", async () => {
    expect(await result(node.url, "eth_getUncleCountByBlockNumber", [busy.number])).toBe("0x0");
    expect(await result(node.url, "eth_getUncleCountByBlockNumber", ["latest"])).toBe("0x0");
    expect(await result(node.url, "eth_getUncleCountByBlockHash", [busy.hash])).toBe("0x0");
    expect(await result(node.url, "eth_getUncleCountByBlockNumber", ["0xffffff"])).toBeNull();
    expect(await result(node.url, "eth_getUncleCountByBlockHash", [UNKNOWN_HASH])).toBeNull();
  });

  it("the block's state root is the state eth_getBalance reads", async () => {
    // Probe received 10 wei in `busy`: visible at busy, absent at its parent.
    expect(await result(node.url, "eth_getBalance", [probe.address, busy.number])).toBe("0xa");
    expect(await result(node.url, "eth_getBalance", [probe.address, q(BigInt(busy.number) - 1n)])).toBe("0x0");
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [string, unknown[], string][] = [
      [
        "eth_getBlockByNumber",
        [1, false],
        "invalid argument 0 (block): json: cannot unmarshal non-string into Go value of type rpc.BlockNumber",
      ],
      ["eth_getBlockByNumber", ["0x01", false], "invalid argument 0 (block): hex number with leading zero digits"],
      [
        "eth_getBlockByNumber",
        ["0x8000000000000000", false],
        "invalid argument 0 (block): block number larger than int64",
      ],
      [
        "eth_getBlockByNumber",
        ["latest", "true"],
        "invalid argument 1 (fullTransactions): json: cannot unmarshal string into Go value of type bool",
      ],
      ["eth_getBlockByNumber", [], "missing value for required argument 0"],
      ["eth_getBlockByNumber", ["latest", false, 1], "too many arguments, want at most 2"],
      [
        "eth_getBlockByHash",
        ["0x1234", false],
        "invalid argument 0 (hash): hex string has length 4, want 64 for common.Hash",
      ],
      ["eth_getBlockByHash", [], "missing value for required argument 0"],
      ["eth_getBlockTransactionCountByHash", ["latest"], "invalid argument 0 (hash): hex string without 0x prefix"],
      [
        "eth_getUncleCountByBlockNumber",
        [true],
        "invalid argument 0 (block): json: cannot unmarshal non-string into Go value of type rpc.BlockNumber",
      ],
    ];
    for (const [method, params, message] of cases) {
      expect(await rpcError(node.url, method, params), `${method} ${JSON.stringify(params)}`).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
