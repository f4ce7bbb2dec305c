import { Interface, id as topicOf } from "ethers";
import { createPublicClient, http, InvalidInputRpcError } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  expectLogShape,
  HASH,
  type Json,
  MANUAL_MINING,
  mine,
  result,
  rpcError,
  send,
  signTx,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  word,
} from "./helpers.js";

/** Filter ids are quantities (geth rpc.NewID; execution-apis `uint`): no leading zeros. */
const FILTER_ID = /^0x[1-9a-f][0-9a-f]{0,31}$/;
const VALUE_SET = topicOf("ValueSet(address,uint256,bytes32)");
const NOT_FOUND = { code: -32000, message: "filter not found" };

describe("polling filters: eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter (manual mining)", () => {
  let node: TestNode;
  let probe: Deployed;
  let iface: Interface;

  const changes = (id: string) => result(node.url, "eth_getFilterChanges", [id]);
  const setValue = (i: number, v: bigint) =>
    send(node.url, devWallet(node.url, i), { to: probe.address, data: iface.encodeFunctionData("set", [v, word(v)]) });

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    probe = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    iface = new Interface(probe.abi);
    await setValue(1, 1n); // a log from before any filter exists
    await mine(node.url);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("block filter: the hashes of blocks mined since the last poll, each once", async () => {
    const id = await result(node.url, "eth_newBlockFilter", []);
    expect(id).toMatch(FILTER_ID);
    expect(await changes(id)).toEqual([]);
    const b1 = await mine(node.url);
    const b2 = await mine(node.url);
    expect(await changes(id)).toEqual([b1.hash, b2.hash]);
    expect(await changes(id)).toEqual([]);
    const b3 = await mine(node.url);
    expect(await changes(id)).toEqual([b3.hash]);
    for (const h of [b1.hash, b2.hash, b3.hash]) expect(h).toMatch(HASH);
  });

  it("pending-transaction filter: hashes of txs that became executable since the last poll", async () => {
    const id = await result(node.url, "eth_newPendingTransactionFilter", []);
    expect(id).toMatch(FILTER_ID);
    expect(await changes(id)).toEqual([]);
    const w = devWallet(node.url, 2);
    const h1 = await send(node.url, w, { to: UNUSED_ADDRESS, value: 1n });
    expect(await changes(id)).toEqual([h1]);
    expect(await changes(id)).toEqual([]);
    // A nonce-gapped tx is not executable: it shows up once the gap is filled, after the filler.
    const gapped = await result(node.url, "eth_sendRawTransaction", [
      await signTx(w, { to: UNUSED_ADDRESS, value: 3n, nonce: 2, gasLimit: 21_000n }),
    ]);
    expect(await changes(id)).toEqual([]);
    const filler = await send(node.url, w, { to: UNUSED_ADDRESS, value: 2n, nonce: 1, gasLimit: 21_000n });
    expect(await changes(id)).toEqual([filler, gapped]);
    await mine(node.url);
    expect(await changes(id)).toEqual([]);
  });

  it("log filter: changes are the new matching logs; getFilterLogs is the whole criteria range", async () => {
    const all = await result(node.url, "eth_newFilter", [{ fromBlock: "earliest", address: probe.address }]);
    const byTopic = await result(node.url, "eth_newFilter", [{ topics: [VALUE_SET, null, word(7)] }]);
    expect(all).toMatch(FILTER_ID);
    expect(await changes(all)).toEqual([]);
    await setValue(3, 7n);
    await setValue(4, 8n);
    await mine(node.url);
    const newLogs: Json[] = await changes(all);
    expect(newLogs.map((l) => l.topics[2])).toEqual([word(7), word(8)]);
    for (const l of newLogs) expectLogShape(l);
    expect(await changes(all)).toEqual([]);
    const only7: Json[] = await changes(byTopic);
    expect(only7).toEqual([newLogs[0]]);
    // getFilterLogs: the filter's full range (from earliest), old logs included; polling state untouched.
    const history: Json[] = await result(node.url, "eth_getFilterLogs", [all]);
    expect(history.map((l) => l.topics[2])).toEqual([word(1), word(7), word(8)]);
    expect(history).toEqual(await result(node.url, "eth_getLogs", [{ fromBlock: "earliest", address: probe.address }]));
    expect(await changes(all)).toEqual([]);
  });

  it("eth_newFilter validates the criteria up front", async () => {
    expect(await rpcError(node.url, "eth_newFilter", [{ fromBlock: "latest", toBlock: "0x1" }])).toEqual({
      code: -32000,
      message: "invalid block range params",
    });
    expect(await rpcError(node.url, "eth_newFilter", [{ address: "0x1" }])).toEqual({
      code: -32602,
      message: "invalid argument 0 (filter): address: hex string of odd length",
    });
    expect(await rpcError(node.url, "eth_newFilter", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
    expect(await rpcError(node.url, "eth_newBlockFilter", [{}])).toEqual({
      code: -32602,
      message: "too many arguments, want at most 0",
    });
  });

  it("eth_uninstallFilter: true once, then false; the id is gone (-32000 filter not found)", async () => {
    const id = await result(node.url, "eth_newBlockFilter", []);
    expect(await result(node.url, "eth_uninstallFilter", [id])).toBe(true);
    expect(await result(node.url, "eth_uninstallFilter", [id])).toBe(false);
    expect(await rpcError(node.url, "eth_getFilterChanges", [id])).toEqual(NOT_FOUND);
    expect(await rpcError(node.url, "eth_getFilterLogs", [id])).toEqual(NOT_FOUND);
  });

  it("unknown ids and wrong filter kinds are -32000 `filter not found` (geth)", async () => {
    const unknown = `0x${"12".repeat(16)}`;
    expect(await rpcError(node.url, "eth_getFilterChanges", [unknown])).toEqual(NOT_FOUND);
    expect(await rpcError(node.url, "eth_getFilterLogs", [unknown])).toEqual(NOT_FOUND);
    expect(await result(node.url, "eth_uninstallFilter", [unknown])).toBe(false);
    // getFilterLogs is for log filters only.
    const blocks = await result(node.url, "eth_newBlockFilter", []);
    expect(await rpcError(node.url, "eth_getFilterLogs", [blocks])).toEqual(NOT_FOUND);
    // Ids are case-insensitive hex.
    expect(await result(node.url, "eth_getFilterChanges", [blocks.toUpperCase().replace("0X", "0x")])).toEqual([]);
    expect(await rpcError(node.url, "eth_getFilterChanges", [])).toEqual({
      code: -32602,
      message: "missing value for required argument 0",
    });
    expect(await rpcError(node.url, "eth_getFilterChanges", [1])).toEqual({
      code: -32602,
      message: "invalid argument 0 (id): json: cannot unmarshal number into Go value of type string",
    });
  });

  it("viem recognises an expired filter (InvalidInputRpcError) and can re-create it", async () => {
    const client = createPublicClient({ transport: http(node.url) });
    const filter = await client.createBlockFilter();
    await client.uninstallFilter({ filter });
    // viem's watchEvent/watchContractEvent re-install their filter exactly on this error class.
    const err = await client.getFilterChanges({ filter }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputRpcError);
    const again = await client.createBlockFilter();
    const b = await mine(node.url);
    expect(await client.getFilterChanges({ filter: again })).toEqual([b.hash]);
  });
});
