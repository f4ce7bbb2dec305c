import { crc32 } from "node:zlib";
import { getBytes, Interface } from "ethers";
import { type Abi, createPublicClient, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultErrors } from "../../../utils/executionApis.js";
import {
  type Deployed,
  deploy,
  devWallet,
  type Json,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  word,
} from "./helpers.js";

const A = "0xc000000000000000000000000000000000000000";
const B = "0xc100000000000000000000000000000000000000";
const C = "0xc200000000000000000000000000000000000000";
/** Runtime code returning BLOCKHASH(NUMBER - 1): PUSH1 1 NUMBER SUB BLOCKHASH PUSH0 MSTORE PUSH1 32 PUSH0 RETURN. */
const PARENT_HASH_CODE = "0x60014303405f5260205ff3";
const PARENT_HASH_AT = "0x00000000000000000000000000000000000bb0bb";

describe("eth_simulateV1", () => {
  let node: TestNode;
  let probe: Deployed;
  let iface: Interface;
  let from: string;

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    probe = await deploy(w, "Probe");
    iface = new Interface(probe.abi);
    await (await w.sendTransaction({ to: probe.address, data: iface.encodeFunctionData("set", [5n, word(1)]) })).wait();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const simulate = (payload: Json, block: Json = "latest") => result(node.url, "eth_simulateV1", [payload, block]);

  it("the spec's example: two transfers on an overridden balance, sealed as a block (its receipts root matches the spec's)", async () => {
    const head: Json = await result(node.url, "eth_getBlockByNumber", ["latest", false]);
    const blocks = await simulate(
      {
        blockStateCalls: [
          {
            stateOverrides: { [A]: { balance: "0x3e8" } },
            calls: [
              { from: A, to: B, value: "0x3e8" },
              { from: B, to: C, value: "0x3e8" },
            ],
          },
        ],
      },
      head.number,
    );
    expect(resultErrors("eth_simulateV1", blocks)).toEqual([]);
    expect(blocks).toHaveLength(1);
    const [b] = blocks;
    expect(b.number).toBe(q(BigInt(head.number) + 1n));
    expect(b.parentHash).toBe(head.hash);
    expect(b.timestamp).toBe(q(BigInt(head.timestamp) + 12n));
    expect(b.baseFeePerGas).toBe("0x0");
    expect(b.gasUsed).toBe("0xa410");
    // Two successful 21000-gas receipts without logs: the same receipts root as the spec's example.
    expect(b.receiptsRoot).toBe("0x75308898d571eafb5cd8cde8278bf5b3d13c5f6ec074926de3bb895b519264e1");
    expect(b.transactions).toHaveLength(2);
    expect(b.calls).toEqual([
      { returnData: "0x", logs: [], gasUsed: "0x5208", maxUsedGas: "0x5208", status: "0x1" },
      { returnData: "0x", logs: [], gasUsed: "0x5208", maxUsedGas: "0x5208", status: "0x1" },
    ]);
    // Nothing was kept.
    expect(await result(node.url, "eth_getBalance", [C, "latest"])).toBe("0x0");
  });

  it("calls build on each other within a block and across blocks; logs carry the simulated block's hash and positions", async () => {
    const set = iface.encodeFunctionData("set", [7n, word(2)]);
    const value = iface.encodeFunctionData("value");
    const blocks = await simulate({
      blockStateCalls: [
        {
          calls: [
            { from, to: probe.address, input: set },
            { from, to: probe.address, input: value },
            { from, to: probe.address, input: set },
          ],
        },
        { calls: [{ from, to: probe.address, input: value }] },
      ],
    });
    expect(resultErrors("eth_simulateV1", blocks)).toEqual([]);
    const [b1, b2] = blocks;
    expect(b1.calls.map((c: Json) => c.status)).toEqual(["0x1", "0x1", "0x1"]);
    expect(BigInt(b1.calls[1].returnData)).toBe(7n);
    expect(BigInt(b2.calls[0].returnData)).toBe(7n);
    expect(b2.parentHash).toBe(b1.hash);
    const logs = [...b1.calls[0].logs, ...b1.calls[2].logs];
    expect(logs).toHaveLength(2);
    expect(logs.map((l: Json) => l.logIndex)).toEqual(["0x0", "0x1"]);
    expect(logs.map((l: Json) => l.transactionIndex)).toEqual(["0x0", "0x2"]);
    for (const [i, l] of logs.entries()) {
      expect(l).toMatchObject({ address: probe.address, blockHash: b1.hash, blockNumber: b1.number, removed: false });
      expect(l.transactionHash).toBe(b1.transactions[i === 0 ? 0 : 2]);
      expect(l.topics[0]).toBe(iface.getEvent("ValueSet")?.topicHash);
    }
    expect(b1.logsBloom).not.toBe(`0x${"00".repeat(256)}`);
    // The nonce advanced call by call (the transactions differ only by it, so their hashes do).
    expect(new Set(b1.transactions).size).toBe(3);
    // The chain itself still says 5.
    expect(BigInt(await result(node.url, "eth_call", [{ to: probe.address, data: value }, "latest"]))).toBe(5n);
  });

  it("a revert is a failed call with geth's error (code 3, reason, data) and no logs; the block goes on", async () => {
    const blocks = await simulate({
      blockStateCalls: [
        {
          calls: [
            { from, to: probe.address, input: iface.encodeFunctionData("revertWithReason", ["nope"]) },
            { from, to: probe.address, input: iface.encodeFunctionData("set", [9n, word(3)]) },
          ],
        },
      ],
    });
    expect(resultErrors("eth_simulateV1", blocks)).toEqual([]);
    const [failed, ok] = blocks[0].calls;
    expect(failed.status).toBe("0x0");
    expect(failed.logs).toEqual([]);
    expect(failed.error.code).toBe(3);
    expect(failed.error.message).toBe("execution reverted: nope");
    expect(failed.error.data).toBe(failed.returnData);
    expect(failed.returnData.startsWith("0x08c379a0")).toBe(true);
    expect(ok.status).toBe("0x1");
    expect(ok.logs).toHaveLength(1);
    expect(ok.logs[0].logIndex).toBe("0x0");
  });

  it("gaps are filled with empty blocks; overrides set number, time, gas limit, fee recipient and base fee; BLOCKHASH sees simulated blocks", async () => {
    const head: Json = await result(node.url, "eth_getBlockByNumber", ["latest", false]);
    const base = BigInt(head.number);
    const recipient = "0x000000000000000000000000000000000000feed";
    // Priced: with a base fee override the EVM checks the fee cap against it (geth's no-validation mode would not).
    const readParent = { from, to: PARENT_HASH_AT, gas: "0x186a0", maxFeePerGas: "0x7" };
    const blocks = await simulate(
      {
        blockStateCalls: [
          { stateOverrides: { [PARENT_HASH_AT]: { code: PARENT_HASH_CODE } }, calls: [readParent] },
          {
            blockOverrides: {
              number: q(base + 4n),
              time: q(BigInt(head.timestamp) + 100n),
              gasLimit: "0x1000000",
              feeRecipient: recipient,
              baseFeePerGas: "0x7",
            },
            calls: [readParent],
          },
        ],
      },
      head.number,
    );
    expect(resultErrors("eth_simulateV1", blocks)).toEqual([]);
    expect(blocks.map((b: Json) => BigInt(b.number))).toEqual([base + 1n, base + 2n, base + 3n, base + 4n]);
    expect(blocks.map((b: Json) => BigInt(b.timestamp) - BigInt(head.timestamp))).toEqual([12n, 24n, 36n, 100n]);
    expect(blocks[1].calls).toEqual([]);
    expect(blocks[1].transactions).toEqual([]);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i].parentHash).toBe(blocks[i - 1].hash);
    expect(blocks[0].calls[0].returnData).toBe(head.hash);
    expect(blocks[3].calls[0].returnData).toBe(blocks[2].hash);
    expect(blocks[3]).toMatchObject({ gasLimit: "0x1000000", miner: recipient, baseFeePerGas: "0x7" });
  });

  it("returnFullTransactions: the transactions as objects, from the caller, in the simulated block", async () => {
    const blocks = await simulate({
      returnFullTransactions: true,
      blockStateCalls: [{ calls: [{ from, to: probe.address, input: iface.encodeFunctionData("value") }] }],
    });
    expect(resultErrors("eth_simulateV1", blocks)).toEqual([]);
    const [tx] = blocks[0].transactions;
    expect(tx).toMatchObject({ from, to: probe.address, blockHash: blocks[0].hash, blockNumber: blocks[0].number });
    expect(tx.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(tx.type).toBe("0x2");
  });

  it("validation: the parent's base fee applies and real checks run (unpriced → -32005, wrong nonce → -38011)", async () => {
    const head: string = await result(node.url, "eth_blockNumber", []);
    const history: Json = await result(node.url, "eth_feeHistory", ["0x1", head, []]);
    const nextBaseFee = history.baseFeePerGas[1];
    const priced = { from, to: probe.address, input: iface.encodeFunctionData("value"), maxFeePerGas: "0x3b9aca000" };
    const [b] = await simulate({ validation: true, blockStateCalls: [{ calls: [priced] }] }, head);
    expect(b.baseFeePerGas).toBe(nextBaseFee);
    expect(b.calls[0].status).toBe("0x1");

    const unpriced = await rpcError(node.url, "eth_simulateV1", [
      { validation: true, blockStateCalls: [{ calls: [{ from, to: probe.address }] }] },
      "latest",
    ]);
    expect(unpriced.code).toBe(-32005);
    expect(unpriced.message).toContain("max fee per gas less than block base fee");
    const nonce = BigInt(await result(node.url, "eth_getTransactionCount", [from, "latest"]));
    const tooHigh = await rpcError(node.url, "eth_simulateV1", [
      { validation: true, blockStateCalls: [{ calls: [{ ...priced, nonce: q(nonce + 5n) }] }] },
      "latest",
    ]);
    expect(tooHigh).toMatchObject({ code: -38011 });
    expect(tooHigh.message).toBe(`nonce too high: address ${from}, tx: ${nonce + 5n} state: ${nonce}`);
    // Without validation the same nonce is accepted (eth_call's rules).
    const [loose] = await simulate({ blockStateCalls: [{ calls: [{ ...priced, nonce: q(nonce + 5n) }] }] });
    expect(loose.calls[0].status).toBe("0x1");
  });

  it("viem's simulateBlocks and simulateCalls: decoded results, logs and a decoded revert", async () => {
    const client = createPublicClient({ transport: http(node.url) });
    const abi = iface.formatJson();
    const contract = { to: probe.address as `0x${string}`, abi: JSON.parse(abi) as Abi };
    const account = from as `0x${string}`;
    const [block] = await client.simulateBlocks({
      blocks: [
        {
          calls: [
            { ...contract, account, functionName: "set", args: [11n, word(4)] },
            { ...contract, account, functionName: "value" },
            { ...contract, account, functionName: "revertWithReason", args: ["viem"] },
          ],
        },
      ],
    });
    expect(block.calls.map((c) => c.status)).toEqual(["success", "success", "failure"]);
    expect(block.calls[1].result).toBe(11n);
    expect(block.calls[0].logs?.[0].address).toBe(probe.address);
    expect(String(block.calls[2].error)).toContain("viem");
    const { results } = await client.simulateCalls({
      account,
      calls: [
        { ...contract, functionName: "set", args: [12n, word(5)] },
        { ...contract, functionName: "value" },
      ],
    });
    expect(results.map((r) => r.status)).toEqual(["success", "success"]);
    expect(results[1].result).toBe(12n);
  });

  it("refuses what it cannot do with the spec's codes", async () => {
    const head = BigInt(await result(node.url, "eth_blockNumber", []));
    const err = (payload: Json) => rpcError(node.url, "eth_simulateV1", [payload, q(head)]);
    expect(await err({ blockStateCalls: [] })).toMatchObject({ code: -32602, message: "empty input" });
    expect(await err({ blockStateCalls: [{ blockOverrides: { number: q(head) } }] })).toMatchObject({
      code: -38020,
      message: `block numbers must be in order: ${head} <= ${head}`,
    });
    expect(
      await err({ blockStateCalls: [{ blockOverrides: { time: "0x10" } }, { blockOverrides: { time: "0x5" } }] }),
    ).toMatchObject({ code: -38021 });
    expect(await err({ blockStateCalls: [{ blockOverrides: { number: q(head + 257n) } }] })).toMatchObject({
      code: -38026,
      message: "too many blocks",
    });
    expect(
      await err({
        blockStateCalls: [
          {
            blockOverrides: { gasLimit: "0x5208" },
            calls: [
              { from, to: B },
              { from, to: C, gas: "0x5208" },
            ],
          },
        ],
      }),
    ).toMatchObject({ code: -38015 });
    expect(await err({ blockStateCalls: [{ calls: [{ from: B, to: C, value: "0x1" }] }] })).toMatchObject({
      code: -38014,
    });
    expect(await err({ blockStateCalls: [{ calls: [{ from, to: B, gas: "0x100" }] }] })).toMatchObject({
      code: -38013,
    });
    const calls = Array.from({ length: 1001 }, () => ({ from, to: B }));
    expect(await err({ blockStateCalls: [{ calls }] })).toMatchObject({ code: -38026 });
    expect((await err({ traceTransfers: true, blockStateCalls: [{}] })).code).toBe(-32602);
    expect((await err({ blockStateCalls: [{ blockOverrides: { prevRandao: word(1) } }] })).code).toBe(-32602);
    expect((await err({ blockStateCalls: [{ calls: [{ from: "0x12" }] }] })).code).toBe(-32602);
  });
});

describe("eth_config", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("eth_config (EIP-7910): one fork since genesis, its fork id, the precompiles the EVM answers (native modules included)", async () => {
    const config = await result(node.url, "eth_config", []);
    expect(resultErrors("eth_config", config)).toEqual([]);
    expect(config.next).toBeNull();
    expect(config.last).toBeNull();
    const c = config.current;
    expect(c.chainId).toBe(await result(node.url, "eth_chainId", []));
    expect(c.activationTime).toBe(0);
    expect(c.blobSchedule).toEqual({ target: 0, max: 0, baseFeeUpdateFraction: 5007716 });
    const genesis: Json = await result(node.url, "eth_getBlockByNumber", ["0x0", false]);
    expect(c.forkId).toBe(`0x${crc32(getBytes(genesis.hash)).toString(16).padStart(8, "0")}`);
    expect(c.precompiles).toMatchObject({
      ECREC: "0x0000000000000000000000000000000000000001",
      ID: "0x0000000000000000000000000000000000000004",
      BLS12_MAP_FP2_TO_G2: "0x0000000000000000000000000000000000000011",
      AZORA_WAZR: "0x0000000000000000000000000000000000000a01",
      AZORA_LEARN: "0x0000000000000000000000000000000000000a02",
    });
    // No KZG point evaluation: Azora removes it (no blobs, and no KZG setup to run it).
    expect(Object.values(c.precompiles)).not.toContain("0x000000000000000000000000000000000000000a");
    expect(c.systemContracts).toEqual({});
    // What is listed answers: SHA256 and the identity precompile through eth_call.
    const sha = await result(node.url, "eth_call", [{ to: c.precompiles.SHA256, data: "0x616263" }, "latest"]);
    expect(sha).toBe("0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await result(node.url, "eth_call", [{ to: c.precompiles.ID, data: "0x1234" }, "latest"])).toBe("0x1234");
  });
});
