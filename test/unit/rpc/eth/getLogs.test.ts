import { Interface, id as topicOf } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  expectLogShape,
  initCodeFor,
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
  waitReceipt,
  word,
} from "./helpers.js";

const VALUE_SET = topicOf("ValueSet(address,uint256,bytes32)");
const DEPOSITED = topicOf("Deposited(address,uint256)");
const pad32 = (address: string) => `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;
/** Runtime code emitting 10001 empty LOG0s in a loop (one more than the result cap). */
const LOG_FLOOD = "0x6127115b80156013575f5fa0600190036003565b00";

describe("eth_getLogs (manual mining)", () => {
  let node: TestNode;
  let a: Deployed;
  let b: Deployed;
  let x: Json;
  let y: Json;
  let dev1: string;
  let dev2: string;
  let dev3: string;

  const logs = (filter: object) => result(node.url, "eth_getLogs", [filter]);

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    a = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    b = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    const iface = new Interface(a.abi);
    const set = (v: bigint) => iface.encodeFunctionData("set", [v, word(v)]);
    [dev1, dev2, dev3] = [1, 2, 3].map((i) => devWallet(node.url, i).address.toLowerCase());
    // Block x: A.set(1) by dev1, B.set(2) by dev2, A.deposit{5} by dev3.
    await send(node.url, devWallet(node.url, 1), { to: a.address, data: set(1n) });
    await send(node.url, devWallet(node.url, 2), { to: b.address, data: set(2n) });
    await send(node.url, devWallet(node.url, 3), {
      to: a.address,
      data: iface.encodeFunctionData("deposit"),
      value: 5n,
    });
    x = await mine(node.url);
    expect(x.transactions).toHaveLength(3);
    // Block y: A.set(3) by dev2. Then an empty block.
    await send(node.url, devWallet(node.url, 2), { to: a.address, data: set(3n) });
    y = await mine(node.url);
    await mine(node.url);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const range = () => ({ fromBlock: x.number, toBlock: y.number });

  it("returns every log of a range in block and logIndex order, with geth's log shape", async () => {
    const all = await logs(range());
    expect(all).toHaveLength(4);
    for (const l of all) expectLogShape(l);
    expect(all.map((l: Json) => [l.blockNumber, l.logIndex])).toEqual([
      [x.number, "0x0"],
      [x.number, "0x1"],
      [x.number, "0x2"],
      [y.number, "0x0"],
    ]);
    // Identical to the receipts' logs.
    const fromReceipts: Json[] = [];
    for (const h of [...x.transactions, ...y.transactions]) fromReceipts.push(...(await waitReceipt(node.url, h)).logs);
    expect(all).toEqual(fromReceipts);
    const deposit = all.find((l: Json) => l.topics[0] === DEPOSITED);
    expect(deposit).toMatchObject({ address: a.address, topics: [DEPOSITED, pad32(dev3)], data: word(5) });
  });

  it("address: a single address or a list (OR)", async () => {
    expect((await logs({ ...range(), address: a.address })).map((l: Json) => l.address)).toEqual([
      a.address,
      a.address,
      a.address,
    ]);
    expect(await logs({ ...range(), address: [b.address] })).toHaveLength(1);
    expect(await logs({ ...range(), address: [a.address, b.address] })).toHaveLength(4);
    expect(await logs({ ...range(), address: [UNUSED_ADDRESS] })).toEqual([]);
    // Checksummed input matches too.
    expect(await logs({ ...range(), address: devWallet(node.url, 0).address })).toEqual([]);
    expect(await logs({ ...range(), address: [] })).toHaveLength(4);
  });

  it("topics: positions AND, alternatives OR, null wildcards, trailing positions need topics", async () => {
    const count = async (topics: unknown[]) => (await logs({ ...range(), topics })).length;
    expect(await count([VALUE_SET])).toBe(3);
    expect(await count([DEPOSITED])).toBe(1);
    expect(await count([[VALUE_SET, DEPOSITED]])).toBe(4);
    expect(await count([VALUE_SET, pad32(dev2)])).toBe(2);
    expect(await count([null, pad32(dev2)])).toBe(2);
    expect(await count([null, [pad32(dev1), pad32(dev3)]])).toBe(2);
    expect(await count([VALUE_SET, [pad32(dev1), pad32(dev2)]])).toBe(3);
    expect(await count([null, null, word(2)])).toBe(1);
    expect(await count([VALUE_SET, null, word(3)])).toBe(1);
    expect(await count([[], pad32(dev1)])).toBe(1); // an empty alternative set is a wildcard
    expect(await count([[VALUE_SET, null]])).toBe(4); // a null alternative makes the position a wildcard
    expect(await count([])).toBe(4);
    // ValueSet has 3 topics: a 4th position (even null) cannot match it; Deposited has 2.
    expect(await count([VALUE_SET, null, null])).toBe(3);
    expect(await count([null, null, null, null])).toBe(0);
    expect(await count([null, null, null])).toBe(3);
    expect(await count([UNKNOWN_HASH])).toBe(0);
    // Address and topics combine.
    expect((await logs({ ...range(), address: a.address, topics: [VALUE_SET, pad32(dev2)] })).length).toBe(1);
  });

  it("ranges: tags, defaults, a toBlock beyond the head is capped", async () => {
    expect(await logs({ fromBlock: x.number, toBlock: x.number })).toHaveLength(3);
    expect(await logs({ fromBlock: y.number })).toHaveLength(1);
    expect(await logs({ fromBlock: "earliest", toBlock: "latest" })).toHaveLength(4);
    expect(await logs({ fromBlock: "0x0", toBlock: "0xffffffff" })).toHaveLength(4);
    expect(await logs({ fromBlock: "earliest", toBlock: q(BigInt(x.number) - 1n) })).toEqual([]);
    // Without fromBlock/toBlock: the latest block only (here empty).
    expect(await logs({})).toEqual([]);
    expect(await logs({ fromBlock: "latest", toBlock: "latest" })).toEqual([]);
  });

  it("blockHash: the logs of one block", async () => {
    const inX = await logs({ blockHash: x.hash });
    expect(inX).toEqual(await logs({ fromBlock: x.number, toBlock: x.number }));
    expect(await logs({ blockHash: y.hash, address: b.address })).toEqual([]);
  });

  it("errors: unknown blockHash, blockHash with a range, inverted range → geth's messages", async () => {
    expect(await rpcError(node.url, "eth_getLogs", [{ blockHash: UNKNOWN_HASH }])).toEqual({
      code: -32000,
      message: "unknown block",
    });
    expect(await rpcError(node.url, "eth_getLogs", [{ blockHash: x.hash, fromBlock: x.number }])).toEqual({
      code: -32602,
      message:
        "invalid argument 0 (filter): cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other",
    });
    expect(await rpcError(node.url, "eth_getLogs", [{ blockHash: x.hash, toBlock: "latest" }])).toMatchObject({
      code: -32602,
    });
    expect(await rpcError(node.url, "eth_getLogs", [{ fromBlock: y.number, toBlock: x.number }])).toEqual({
      code: -32000,
      message: "invalid block range params",
    });
  });

  it("more than 10000 matching logs → -32005 `query returned more than 10000 results`", async () => {
    const w = devWallet(node.url, 4);
    const hash = await send(node.url, w, { data: initCodeFor(LOG_FLOOD) });
    await mine(node.url);
    const flood = (await waitReceipt(node.url, hash)).contractAddress;
    const call = await send(node.url, w, { to: flood, gasLimit: 6_000_000n });
    const block = await mine(node.url);
    const r = await waitReceipt(node.url, call);
    expect(r.status).toBe("0x1");
    expect(r.logs).toHaveLength(10_001);
    expect(await rpcError(node.url, "eth_getLogs", [{ fromBlock: block.number, toBlock: block.number }])).toEqual({
      code: -32005,
      message: "query returned more than 10000 results",
    });
    expect(await rpcError(node.url, "eth_getLogs", [{ blockHash: block.hash, address: flood }])).toEqual({
      code: -32005,
      message: "query returned more than 10000 results",
    });
    // A narrower filter is fine.
    expect(await logs({ blockHash: block.hash, address: a.address })).toEqual([]);
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [
        ["latest"],
        "invalid argument 0 (filter): json: cannot unmarshal string into Go value of type filters.FilterCriteria",
      ],
      [
        [{ address: "0x12" }],
        "invalid argument 0 (filter): address: hex string has length 2, want 40 for common.Address",
      ],
      [
        [{ address: [a.address, 5] }],
        "invalid argument 0 (filter): address[1]: json: cannot unmarshal non-string into Go value of type common.Address",
      ],
      [[{ topics: [VALUE_SET, null, null, null, null] }], "invalid argument 0 (filter): exceed max topics"],
      [
        [{ topics: ["0x1234"] }],
        "invalid argument 0 (filter): topics[0]: hex string has length 4, want 64 for common.Hash",
      ],
      [
        [{ topics: VALUE_SET }],
        "invalid argument 0 (filter): topics: json: cannot unmarshal string into Go value of type []interface {}",
      ],
      [
        [{ fromBlock: 5 }],
        "invalid argument 0 (filter): fromBlock: json: cannot unmarshal non-string into Go value of type rpc.BlockNumber",
      ],
      [[{}, {}], "too many arguments, want at most 1"],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_getLogs", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
