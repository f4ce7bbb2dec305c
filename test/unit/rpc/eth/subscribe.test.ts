import { Interface, id as topicOf, WebSocketProvider } from "ethers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  expectLogShape,
  type Json,
  MANUAL_MINING,
  mine,
  result,
  send,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  WSClient,
  waitReceipt,
  word,
} from "./helpers.js";

/** Subscription ids are quantities, as geth makes them: no leading zeros. */
const SUB_ID = /^0x[1-9a-f][0-9a-f]{0,31}$/;
const VALUE_SET = topicOf("ValueSet(address,uint256,bytes32)");

describe("eth_subscribe / eth_unsubscribe over WebSocket (manual mining)", () => {
  let node: TestNode;
  let probe: Deployed;
  let iface: Interface;
  let ws: WSClient;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    probe = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    iface = new Interface(probe.abi);
  });
  afterEach(async () => {
    await ws?.close();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const subscribe = async (params: unknown[]): Promise<string> => {
    const r = await ws.request("eth_subscribe", params);
    expect(r.error).toBeUndefined();
    expect(r.result).toMatch(SUB_ID);
    return r.result;
  };

  it("newHeads: one notification per block, the header fields of eth_getBlockByNumber", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const id = await subscribe(["newHeads"]);
    const block = await mine(node.url);
    const head = await ws.notification(id);
    const { transactions: _t, uncles: _u, size: _s, ...header } = block;
    expect(head).toEqual(header);
    const next = await mine(node.url);
    expect((await ws.notification(id)).hash).toBe(next.hash);
  });

  it("logs with a filter: matching logs only, as eth_getLogs returns them", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const id = await subscribe(["logs", { address: probe.address, topics: [VALUE_SET] }]);
    const all = await subscribe(["logs"]);
    await send(node.url, devWallet(node.url, 1), {
      to: probe.address,
      data: iface.encodeFunctionData("deposit"),
      value: 1n,
    });
    const h = await send(node.url, devWallet(node.url, 2), {
      to: probe.address,
      data: iface.encodeFunctionData("set", [5n, word(5)]),
    });
    await mine(node.url);
    const receipt = await waitReceipt(node.url, h);
    const log = await ws.notification(id);
    expectLogShape(log);
    expect(log).toEqual(receipt.logs[0]);
    // The unfiltered subscription got both logs, in block order.
    const first = await ws.notification(all);
    const second = await ws.notification(all);
    expect([first.logIndex, second.logIndex]).toEqual(["0x0", "0x1"]);
    expect(second).toEqual(log);
    // Nothing else arrived for the filtered one (the deposit log does not match).
    const block = await mine(node.url);
    expect(block.transactions).toEqual([]);
    expect(ws.messages.filter((m: Json) => m.params?.subscription === id)).toEqual([]);
  });

  it("newPendingTransactions: the hash of each tx entering the pool", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const id = await subscribe(["newPendingTransactions"]);
    const h = await send(node.url, devWallet(node.url, 3), { to: UNUSED_ADDRESS, value: 1n });
    expect(await ws.notification(id)).toBe(h);
    await mine(node.url);
    // `false` (hashes only) is accepted explicitly.
    const id2 = await subscribe(["newPendingTransactions", false]);
    const h2 = await send(node.url, devWallet(node.url, 3), { to: UNUSED_ADDRESS, value: 2n });
    expect(await ws.notification(id2)).toBe(h2);
    await mine(node.url);
  });

  it("eth_unsubscribe: true once then false; no notifications after it", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const gone = await subscribe(["newHeads"]);
    expect((await ws.request("eth_unsubscribe", [gone])).result).toBe(true);
    expect((await ws.request("eth_unsubscribe", [gone])).result).toBe(false);
    expect((await ws.request("eth_unsubscribe", [`0x${"00".repeat(16)}`])).result).toBe(false);
    const live = await subscribe(["newHeads"]);
    const block = await mine(node.url);
    expect((await ws.notification(live)).hash).toBe(block.hash);
    expect(ws.messages.filter((m: Json) => m.params?.subscription === gone)).toEqual([]);
  });

  it("subscriptions belong to their connection", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const other = await WSClient.connect(node.wsUrl);
    try {
      const id = await subscribe(["newHeads"]);
      expect((await other.request("eth_unsubscribe", [id])).result).toBe(false);
      const block = await mine(node.url);
      expect((await ws.notification(id)).hash).toBe(block.hash);
    } finally {
      await other.close();
    }
  });

  it("bad kinds and options are -32602", async () => {
    ws = await WSClient.connect(node.wsUrl);
    const err = async (params: unknown[]) => (await ws.request("eth_subscribe", params)).error;
    expect(await err(["newBlocks"])).toEqual({ code: -32602, message: 'no "newBlocks" subscription in eth namespace' });
    expect(await err(["logs", { fromBlock: "0x1" }])).toEqual({
      code: -32602,
      message: "logs subscriptions take only address and topics",
    });
    expect(await err(["logs", { address: "0x12" }])).toEqual({
      code: -32602,
      message: "address: hex string has length 2, want 40 for common.Address",
    });
    expect(await err(["newHeads", {}])).toEqual({ code: -32602, message: "newHeads takes no options" });
    expect(await err([])).toEqual({ code: -32602, message: "missing value for required argument 0" });
    expect(await err([1])).toEqual({
      code: -32602,
      message: "invalid argument 0 (kind): json: cannot unmarshal number into Go value of type string",
    });
    expect((await ws.request("eth_unsubscribe", [])).error).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
  });

  it("plain requests work on the same socket", async () => {
    ws = await WSClient.connect(node.wsUrl);
    expect((await ws.request("eth_chainId", [])).result).toBe("0x415a");
    expect((await ws.request("eth_blockNumber", [])).result).toBe(await result(node.url, "eth_blockNumber", []));
  });

  it("ethers WebSocketProvider sees new blocks through newHeads", async () => {
    const provider = new WebSocketProvider(node.wsUrl);
    try {
      await provider.getBlockNumber(); // connected
      const seen = new Promise<number>((resolve) => {
        void provider.on("block", (n: number) => resolve(n));
      });
      // ethers subscribes asynchronously: mine until it reports a block.
      let block: Json;
      let reported: number | undefined;
      for (let i = 0; i < 50 && reported === undefined; i++) {
        block = await mine(node.url);
        reported = await Promise.race([seen, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
      }
      reported ??= await seen;
      expect(reported).toBeLessThanOrEqual(Number(block!.number));
      expect(reported).toBeGreaterThan(0);
    } finally {
      await provider.destroy();
    }
  });
});
