import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HASH,
  MANUAL_MINING,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
} from "./helpers.js";

/** eth_getLogs / filters cover at most this many blocks per call. */
const MAX_RANGE = 10_000n;
/** Served queries name an address, so the node reads its per-address index instead of 10000 blocks. */
const SOME_ADDRESS = UNUSED_ADDRESS;

describe("block-range cap of eth_getLogs and polling filters (a chain longer than the cap)", () => {
  let node: TestNode;
  let head: bigint;
  let blockFilter: string;
  let logFilter: string;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    // Filters installed at genesis, polled only once the chain is longer than the cap.
    blockFilter = await result(node.url, "eth_newBlockFilter", []);
    logFilter = await result(node.url, "eth_newFilter", [{ address: SOME_ADDRESS }]);
    expect(await result(node.url, "anvil_mine", [q(MAX_RANGE)])).toBeNull();
    expect(await result(node.url, "evm_mine", [])).toBe("0x0");
    head = BigInt(await result(node.url, "eth_blockNumber", []));
    expect(head).toBe(MAX_RANGE + 1n);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a range of exactly the cap is served; one block more is -32005", async () => {
    const served = (fromBlock: string, toBlock: string) =>
      result(node.url, "eth_getLogs", [{ fromBlock, toBlock, address: SOME_ADDRESS }]);
    expect(await served("0x1", q(MAX_RANGE))).toEqual([]);
    expect(await served("0x2", "latest")).toEqual([]);
    const over = { code: -32005, message: `query exceeds max block range ${MAX_RANGE}` };
    expect(await rpcError(node.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: q(MAX_RANGE) }])).toEqual(over);
    expect(await rpcError(node.url, "eth_getLogs", [{ fromBlock: "earliest", toBlock: "latest" }])).toEqual(over);
    // toBlock is capped at the head before the range is measured.
    expect(await rpcError(node.url, "eth_getLogs", [{ fromBlock: "0x1", toBlock: "0xffffffff" }])).toEqual(over);
    expect(await served("0x2", "0xffffffff")).toEqual([]);
  });

  it("eth_getFilterLogs applies the same cap", async () => {
    const wide = await result(node.url, "eth_newFilter", [{ fromBlock: "earliest", toBlock: "latest" }]);
    expect(await rpcError(node.url, "eth_getFilterLogs", [wide])).toEqual({
      code: -32005,
      message: `query exceeds max block range ${MAX_RANGE}`,
    });
    const narrow = await result(node.url, "eth_newFilter", [
      { fromBlock: "0x2", toBlock: "latest", address: SOME_ADDRESS },
    ]);
    expect(await result(node.url, "eth_getFilterLogs", [narrow])).toEqual([]);
  });

  it("eth_getFilterChanges pages through a long backlog, at most the cap per poll, without gaps", async () => {
    const first: string[] = await result(node.url, "eth_getFilterChanges", [blockFilter]);
    expect(first).toHaveLength(Number(MAX_RANGE));
    const second: string[] = await result(node.url, "eth_getFilterChanges", [blockFilter]);
    expect(second).toHaveLength(Number(head - MAX_RANGE));
    expect(await result(node.url, "eth_getFilterChanges", [blockFilter])).toEqual([]);
    const all = [...first, ...second];
    for (const h of all) expect(h).toMatch(HASH);
    expect(new Set(all).size).toBe(Number(head));
    // Blocks 1..head in order.
    const b1 = await result(node.url, "eth_getBlockByNumber", ["0x1", false]);
    const last = await result(node.url, "eth_getBlockByNumber", [q(head), false]);
    expect(all[0]).toBe(b1.hash);
    expect(all[all.length - 1]).toBe(last.hash);
    // The log filter pages the same way (no logs on this chain).
    expect(await result(node.url, "eth_getFilterChanges", [logFilter])).toEqual([]);
    expect(await result(node.url, "eth_getFilterChanges", [logFilter])).toEqual([]);
  });
});
