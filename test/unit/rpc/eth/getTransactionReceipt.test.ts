import { getCreateAddress, Interface, id as topicOf } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bloomOf,
  type Deployed,
  deploy,
  devWallet,
  expectReceiptShape,
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

const RECEIPT_KEYS = [
  "blockHash",
  "blockNumber",
  "contractAddress",
  "cumulativeGasUsed",
  "effectiveGasPrice",
  "from",
  "gasUsed",
  "logs",
  "logsBloom",
  "status",
  "to",
  "transactionHash",
  "transactionIndex",
  "type",
];

const pad32 = (address: string) => `0x${address.slice(2).padStart(64, "0")}`;

describe("eth_getTransactionReceipt and eth_getBlockReceipts (manual mining)", () => {
  let node: TestNode;
  let probe: Deployed;
  let nft: Deployed;
  let receiver: Deployed;
  let block: Json;
  const tx: Record<"set" | "transfer" | "safeMint" | "revert", string> = {
    set: "",
    transfer: "",
    safeMint: "",
    revert: "",
  };

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    const owner = devWallet(node.url, 0);
    probe = await deploy(owner, "Probe", [], { manualMining: true });
    nft = await deploy(owner, "TestNFT", [], { manualMining: true });
    receiver = await deploy(owner, "Receiver", [true], { manualMining: true });
    const probeI = new Interface(probe.abi);
    // Four transactions in one block: logs from two of them, a plain transfer and a reverted call.
    tx.set = await send(node.url, devWallet(node.url, 1), {
      to: probe.address,
      data: probeI.encodeFunctionData("set", [42n, word(0xabc)]),
    });
    tx.transfer = await send(node.url, devWallet(node.url, 2), { to: UNUSED_ADDRESS, value: 1n });
    tx.safeMint = await send(node.url, owner, {
      to: nft.address,
      data: new Interface(nft.abi).encodeFunctionData("safeMint", [receiver.address, "0x1234"]),
    });
    tx.revert = await send(node.url, devWallet(node.url, 3), {
      to: probe.address,
      data: probeI.encodeFunctionData("revertWithReason", ["nope"]),
      gasLimit: 100_000n,
    });
    block = await mine(node.url);
    expect(block.transactions).toHaveLength(4);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const receipt = (hash: string) => result(node.url, "eth_getTransactionReceipt", [hash]);

  it("a value transfer: status 0x1, 21000 gas, no logs, empty bloom, no contractAddress", async () => {
    const r = await receipt(tx.transfer);
    expectReceiptShape(r);
    expect(Object.keys(r).sort()).toEqual(RECEIPT_KEYS);
    const t = await result(node.url, "eth_getTransactionByHash", [tx.transfer]);
    const baseFee = BigInt(block.baseFeePerGas);
    const tip = BigInt(t.maxPriorityFeePerGas);
    const cap = BigInt(t.maxFeePerGas);
    expect(r).toMatchObject({
      transactionHash: tx.transfer,
      transactionIndex: t.transactionIndex,
      blockHash: block.hash,
      blockNumber: block.number,
      from: devWallet(node.url, 2).address.toLowerCase(),
      to: UNUSED_ADDRESS,
      gasUsed: "0x5208",
      contractAddress: null,
      logs: [],
      logsBloom: `0x${"00".repeat(256)}`,
      status: "0x1",
      type: "0x2",
      effectiveGasPrice: q(baseFee + tip < cap ? baseFee + tip : cap),
    });
  });

  it("a deployment: contractAddress = CREATE(from, nonce), to null", async () => {
    const r = await receipt(probe.txHash);
    expectReceiptShape(r);
    const t = await result(node.url, "eth_getTransactionByHash", [probe.txHash]);
    expect(r.to).toBeNull();
    expect(r.contractAddress).toBe(getCreateAddress({ from: t.from, nonce: BigInt(t.nonce) }).toLowerCase());
    expect(r.contractAddress).toBe(probe.address);
    expect(r.status).toBe("0x1");
    expect(await result(node.url, "eth_getCode", [r.contractAddress, r.blockNumber])).not.toBe("0x");
  });

  it("a log-emitting call: topics, data, positions and the receipt's own bloom", async () => {
    const r = await receipt(tx.set);
    expectReceiptShape(r);
    expect(r.logs).toHaveLength(1);
    expect(r.logs[0]).toMatchObject({
      address: probe.address,
      topics: [
        topicOf("ValueSet(address,uint256,bytes32)"),
        pad32(devWallet(node.url, 1).address.toLowerCase()),
        word(42),
      ],
      data: word(0xabc),
      blockHash: block.hash,
      blockNumber: block.number,
      transactionHash: tx.set,
      transactionIndex: r.transactionIndex,
      removed: false,
    });
    expect(r.logsBloom).toBe(bloomOf(r.logs));
  });

  it("a call with logs from two contracts: both logs, in execution order", async () => {
    const r = await receipt(tx.safeMint);
    expectReceiptShape(r);
    expect(r.status).toBe("0x1");
    expect(r.logs.map((l: Json) => l.address)).toEqual([nft.address, receiver.address]);
    expect(r.logs[0].topics[0]).toBe(topicOf("Transfer(address,address,uint256)"));
    expect(r.logs[0].topics[2]).toBe(pad32(receiver.address));
    expect(r.logs[1].topics).toEqual([topicOf("Received(address,address,uint256,bytes)")]);
    expect(r.logsBloom).toBe(bloomOf(r.logs));
  });

  it("a reverted transaction is mined with status 0x0, its gas charged, no logs", async () => {
    const r = await receipt(tx.revert);
    expectReceiptShape(r);
    expect(r.status).toBe("0x0");
    expect(r.logs).toEqual([]);
    expect(BigInt(r.gasUsed)).toBeGreaterThan(21_000n);
    expect(BigInt(r.gasUsed)).toBeLessThan(100_000n);
  });

  it("block-wide consistency: logIndex runs across the block, cumulativeGasUsed adds up", async () => {
    const receipts: Json[] = [];
    for (const h of block.transactions) receipts.push(await receipt(h));
    let cumulative = 0n;
    let logIndex = 0;
    for (const [i, r] of receipts.entries()) {
      expect(r.transactionIndex).toBe(q(i));
      cumulative += BigInt(r.gasUsed);
      expect(r.cumulativeGasUsed).toBe(q(cumulative));
      for (const l of r.logs) {
        expect(l.logIndex).toBe(q(logIndex++));
        expect(l.transactionIndex).toBe(r.transactionIndex);
        expect(l.transactionHash).toBe(r.transactionHash);
      }
    }
    expect(logIndex).toBe(3);
    expect(block.gasUsed).toBe(q(cumulative));
    expect(block.logsBloom).toBe(bloomOf(receipts.flatMap((r) => r.logs)));
    // The same logs through eth_getLogs.
    const logs = await result(node.url, "eth_getLogs", [{ blockHash: block.hash }]);
    expect(logs).toEqual(receipts.flatMap((r) => r.logs));
  });

  it("unknown or not-yet-mined hash → null", async () => {
    expect(await receipt(UNKNOWN_HASH)).toBeNull();
    const pooled = await send(node.url, devWallet(node.url, 4), { to: UNUSED_ADDRESS, value: 1n });
    expect(await receipt(pooled)).toBeNull();
    await mine(node.url);
    expect((await receipt(pooled)).status).toBe("0x1");
  });

  describe("eth_getBlockReceipts", () => {
    it("returns the block's receipts in order, by number, tag, hash or EIP-1898 object", async () => {
      const each: Json[] = [];
      for (const h of block.transactions) each.push(await receipt(h));
      expect(await result(node.url, "eth_getBlockReceipts", [block.number])).toEqual(each);
      expect(await result(node.url, "eth_getBlockReceipts", [block.hash])).toEqual(each);
      expect(await result(node.url, "eth_getBlockReceipts", [{ blockHash: block.hash }])).toEqual(each);
      expect(await result(node.url, "eth_getBlockReceipts", [{ blockNumber: block.number }])).toEqual(each);
      expect(await result(node.url, "eth_getBlockReceipts", ["earliest"])).toEqual([]);
      const empty = await mine(node.url);
      expect(await result(node.url, "eth_getBlockReceipts", ["latest"])).toEqual([]);
      expect(await result(node.url, "eth_getBlockReceipts", [empty.hash])).toEqual([]);
    });

    it("unknown block → null", async () => {
      expect(await result(node.url, "eth_getBlockReceipts", [UNKNOWN_HASH])).toBeNull();
      expect(await result(node.url, "eth_getBlockReceipts", ["0xffffff"])).toBeNull();
    });
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [string, unknown[], string][] = [
      ["eth_getTransactionReceipt", [], "missing value for required argument 0"],
      [
        "eth_getTransactionReceipt",
        [tx.set.slice(0, 64)],
        "invalid argument 0 (hash): hex string has length 62, want 64 for common.Hash",
      ],
      ["eth_getTransactionReceipt", [tx.set, tx.set], "too many arguments, want at most 1"],
      ["eth_getBlockReceipts", [], "missing value for required argument 0"],
      ["eth_getBlockReceipts", ["0x01"], "invalid argument 0 (block): hex number with leading zero digits"],
    ];
    for (const [method, params, message] of cases) {
      expect(await rpcError(node.url, method, params), `${method} ${JSON.stringify(params)}`).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
