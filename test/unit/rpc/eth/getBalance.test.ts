import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batchResults,
  devWallet,
  FEE_RECIPIENT,
  type Json,
  QUANTITY,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
} from "./helpers.js";

/** Genesis allocation of every dev account: 1,000,000 ETH. */
const GENESIS_BALANCE = 10n ** 24n;

describe("eth_getBalance", () => {
  let node: TestNode;
  let dev0: string;

  beforeAll(async () => {
    node = await startInProcessNode();
    dev0 = devWallet(node.url, 0).address.toLowerCase();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("answers a hex quantity without leading zeros; 0x0 for an unknown account", async () => {
    expect(await result(node.url, "eth_getBalance", [dev0, "earliest"])).toBe(q(GENESIS_BALANCE));
    expect(await result(node.url, "eth_getBalance", [dev0, "0x0"])).toBe("0xd3c21bcecceda1000000");
    expect(await result(node.url, "eth_getBalance", [UNUSED_ADDRESS, "latest"])).toBe("0x0");
    const latest = await result(node.url, "eth_getBalance", [dev0, "latest"]);
    expect(latest).toMatch(QUANTITY);
  });

  it("accepts every block selector: tags, numbers, EIP-1898 objects and a bare hash", async () => {
    const genesis = await result(node.url, "eth_getBlockByNumber", ["0x0", false]);
    const want = q(GENESIS_BALANCE);
    const dev9 = devWallet(node.url, 9).address; // checksummed input is fine
    for (const block of [
      "earliest",
      "0x0",
      { blockNumber: "0x0" },
      { blockHash: genesis.hash },
      { blockHash: genesis.hash, requireCanonical: true },
      genesis.hash,
    ]) {
      expect(await result(node.url, "eth_getBalance", [dev9, block]), JSON.stringify(block)).toBe(want);
    }
    // The tags that name the head; the block parameter is optional (latest).
    const [latest, pending, safe, finalized, omitted] = await batchResults(node.url, [
      ["eth_getBalance", [dev9, "latest"]],
      ["eth_getBalance", [dev9, "pending"]],
      ["eth_getBalance", [dev9, "safe"]],
      ["eth_getBalance", [dev9, "finalized"]],
      ["eth_getBalance", [dev9]],
    ]);
    for (const v of [pending, safe, finalized, omitted]) expect(v).toBe(latest);
  });

  it("an unknown block is geth's -32000 `header not found`, never a zero balance", async () => {
    const head = BigInt(await result(node.url, "eth_blockNumber", []));
    expect(await rpcError(node.url, "eth_getBalance", [dev0, q(head + 1000n)])).toEqual({
      code: -32000,
      message: "header not found",
    });
    expect(await rpcError(node.url, "eth_getBalance", [dev0, { blockNumber: q(head + 1000n) }])).toEqual({
      code: -32000,
      message: "header not found",
    });
    expect(await rpcError(node.url, "eth_getBalance", [dev0, { blockHash: UNKNOWN_HASH }])).toEqual({
      code: -32000,
      message: "header for hash not found",
    });
    expect(await rpcError(node.url, "eth_getBalance", [dev0, UNKNOWN_HASH])).toEqual({
      code: -32000,
      message: "header for hash not found",
    });
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [["0x1234", "latest"], "invalid argument 0 (address): hex string has length 4, want 40 for common.Address"],
      [[dev0.slice(2), "latest"], "invalid argument 0 (address): hex string without 0x prefix"],
      [[`0x${"zz".repeat(20)}`, "latest"], "invalid argument 0 (address): invalid hex string"],
      [
        [42, "latest"],
        "invalid argument 0 (address): json: cannot unmarshal non-string into Go value of type common.Address",
      ],
      [[dev0, "0x01"], "invalid argument 1 (block): hex number with leading zero digits"],
      [[dev0, "lastest"], "invalid argument 1 (block): hex string without 0x prefix"],
      [
        [dev0, 1],
        "invalid argument 1 (block): json: cannot unmarshal non-string into Go value of type rpc.BlockNumberOrHash",
      ],
      [
        [dev0, { blockNumber: "0x0", blockHash: UNKNOWN_HASH }],
        "invalid argument 1 (block): cannot specify both BlockHash and BlockNumber, choose one or the other",
      ],
      [[dev0, {}], "invalid argument 1 (block): invalid arguments; neither block nor hash specified"],
      [[dev0, "latest", "0x1"], "too many arguments, want at most 2"],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_getBalance", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
  });

  it("after a transfer, balances at the receipt's block and at latest agree with the value and the gas paid", async () => {
    const sender = devWallet(node.url, 1);
    const from = sender.address.toLowerCase();
    const to = Wallet.createRandom().address.toLowerCase();
    const value = 123_456_789_000_000_000n;
    const tx = await sender.sendTransaction({ to, value });
    const mined = (await tx.wait())!;
    const receipt = await result(node.url, "eth_getTransactionReceipt", [tx.hash]);
    const n = BigInt(receipt.blockNumber);
    const gasPaid = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice);
    expect(BigInt(receipt.gasUsed)).toBe(21_000n);
    expect(mined.fee).toBe(gasPaid);

    const balance = async (a: string, block: Json) => BigInt(await result(node.url, "eth_getBalance", [a, block]));
    const senderBefore = await balance(from, q(n - 1n));
    const senderAt = await balance(from, q(n));
    expect(senderBefore - senderAt).toBe(value + gasPaid);
    expect(await balance(to, q(n - 1n))).toBe(0n);
    expect(await balance(to, q(n))).toBe(value);
    expect(await balance(to, { blockHash: receipt.blockHash })).toBe(value);
    // Nothing else touched these accounts since: latest agrees with the receipt's block.
    expect(await balance(from, "latest")).toBe(senderAt);
    expect(await balance(to, "latest")).toBe(value);

    // The base fee is burnt; the tips of the block's transactions went to its miner.
    const block = await result(node.url, "eth_getBlockByNumber", [q(n), false]);
    expect(block.miner).toBe(FEE_RECIPIENT);
    const baseFee = BigInt(block.baseFeePerGas);
    const receipts = await result(node.url, "eth_getBlockReceipts", [q(n)]);
    const tips = receipts.reduce(
      (sum: bigint, r: Json) => sum + BigInt(r.gasUsed) * (BigInt(r.effectiveGasPrice) - baseFee),
      0n,
    );
    expect(tips).toBeGreaterThan(0n);
    expect((await balance(FEE_RECIPIENT, q(n))) - (await balance(FEE_RECIPIENT, q(n - 1n)))).toBe(tips);
    // effectiveGasPrice = min(maxFeePerGas, baseFee + maxPriorityFeePerGas)
    const t = await result(node.url, "eth_getTransactionByHash", [tx.hash]);
    const tip = BigInt(t.maxPriorityFeePerGas);
    const cap = BigInt(t.maxFeePerGas);
    expect(BigInt(receipt.effectiveGasPrice)).toBe(baseFee + tip < cap ? baseFee + tip : cap);
  });

  it("a legacy (type 0) transfer pays gasPrice per gas, all of it above the base fee to the miner", async () => {
    const sender = devWallet(node.url, 2);
    const to = Wallet.createRandom().address.toLowerCase();
    const gasPrice = 3_000_000_000n;
    const tx = await sender.sendTransaction({ to, value: 5n, type: 0, gasPrice });
    await tx.wait();
    const receipt = await result(node.url, "eth_getTransactionReceipt", [tx.hash]);
    expect(receipt.type).toBe("0x0");
    expect(receipt.effectiveGasPrice).toBe(q(gasPrice));
    const n = BigInt(receipt.blockNumber);
    const from = sender.address.toLowerCase();
    const before = BigInt(await result(node.url, "eth_getBalance", [from, q(n - 1n)]));
    const after = BigInt(await result(node.url, "eth_getBalance", [from, q(n)]));
    expect(before - after).toBe(5n + 21_000n * gasPrice);
  });

  it("historical state stays readable after the chain moved on", async () => {
    const sender = devWallet(node.url, 3);
    const from = sender.address.toLowerCase();
    const balances: [bigint, string][] = [];
    for (let i = 0; i < 3; i++) {
      const tx = await sender.sendTransaction({ to: UNUSED_ADDRESS, value: 1n });
      const r = (await tx.wait())!;
      balances.push([BigInt(r.blockNumber), await result(node.url, "eth_getBalance", [from, q(r.blockNumber)])]);
    }
    expect(new Set(balances.map(([, b]) => b)).size).toBe(3);
    for (const [n, b] of balances) expect(await result(node.url, "eth_getBalance", [from, q(n)])).toBe(b);
  });
});
