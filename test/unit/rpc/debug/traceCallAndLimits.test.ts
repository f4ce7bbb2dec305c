import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Interface, parseEther } from "ethers";
import { createPublicClient, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultErrors } from "../../../utils/executionApis.js";
import {
  type Deployed,
  deploy,
  devWallet,
  type Json,
  MANUAL_MINING,
  mine,
  provider,
  q,
  result,
  rpcError,
  send,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  waitReceipt,
  word,
} from "../eth/helpers.js";

const run = promisify(execFile);

/** Foundry's cast, from the @foundry-rs/cast npm package (its platform package ships the binary). */
function castBinary(): string {
  const p = join(
    process.cwd(),
    "node_modules/@foundry-rs",
    `cast-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`,
    "bin/cast",
  );
  if (!existsSync(p)) throw new Error(`cast binary not found at ${p} (npm ci installs @foundry-rs/cast)`);
  return p;
}

describe("debug_traceCall, replay inside a block, the trace memory cap, and the tools that use traces", () => {
  let node: TestNode;
  let probe: Deployed;
  let from: string;
  let first: string;
  let second: string;
  const iface = () => new Interface(probe.abi);

  beforeAll(async () => {
    // A small trace cap, so the cap is reached by a modest transaction.
    node = await startInProcessNode({ ...MANUAL_MINING, rpc: { traceMaxBytes: 200_000 } });
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    probe = await deploy(w, "Probe", [], { manualMining: true });
    // Two transactions in ONE block: the second reads what the first wrote.
    first = await send(node.url, w, { to: probe.address, data: iface().encodeFunctionData("set", [5n, word(1)]) });
    second = await send(node.url, w, {
      to: probe.address,
      data: iface().encodeFunctionData("set", [6n, word(2)]),
      nonce: (await w.getNonce()) + 1,
    });
    await mine(node.url);
    const [a, b] = [await waitReceipt(node.url, first), await waitReceipt(node.url, second)];
    expect(a.blockNumber).toBe(b.blockNumber);
    expect([a.transactionIndex, b.transactionIndex]).toEqual(["0x0", "0x1"]);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a transaction in the middle of a block is replayed on the state its predecessors left", async () => {
    const pre = await result(node.url, "debug_traceTransaction", [second, { tracer: "prestateTracer" }]);
    // Before the second transaction, slot 0 holds what the first one wrote (5), not the parent block's 0.
    expect(pre[probe.address].storage[word(0)]).toBe(word(5));
    const diff = await result(node.url, "debug_traceTransaction", [
      second,
      { tracer: "prestateTracer", tracerConfig: { diffMode: true } },
    ]);
    expect(diff.post[probe.address].storage).toEqual({ [word(0)]: word(6) });
    const logs = await result(node.url, "debug_traceTransaction", [second]);
    expect(logs.structLogs.find((l: Json) => l.op === "SLOAD")).toBeUndefined(); // set() only writes
    const sstore = logs.structLogs.find((l: Json) => l.op === "SSTORE");
    expect(sstore.storage).toEqual({ [word(0)]: word(6) });
    expect(resultErrors("debug_traceTransaction", logs)).toEqual([]);
    const receipt = await waitReceipt(node.url, second);
    expect(
      resultErrors(
        "debug_traceBlockByNumber",
        await result(node.url, "debug_traceBlockByNumber", [receipt.blockNumber]),
      ),
    ).toEqual([]);
  });

  it("debug_traceCall: at a block tag, with state overrides, under any tracer", async () => {
    const receipt = await waitReceipt(node.url, first);
    const before = q(BigInt(receipt.blockNumber) - 1n);
    const call = { from, to: probe.address, data: iface().encodeFunctionData("value") };
    const now = await result(node.url, "debug_traceCall", [call, "latest", { tracer: "callTracer" }]);
    expect(now).toMatchObject({ type: "CALL", from, to: probe.address, output: word(6) });
    const then = await result(node.url, "debug_traceCall", [call, before, { tracer: "callTracer" }]);
    expect(then.output).toBe(word(0));
    const overridden = await result(node.url, "debug_traceCall", [
      call,
      "latest",
      { tracer: "callTracer", stateOverrides: { [probe.address]: { stateDiff: { [word(0)]: word(42) } } } },
    ]);
    expect(overridden.output).toBe(word(42));
    const logs = await result(node.url, "debug_traceCall", [call, "latest"]);
    expect(logs.failed).toBe(false);
    expect(logs.returnValue).toBe(word(6));
    // At an SLOAD, the storage the contract read so far: the value the load returns.
    expect(logs.structLogs.find((l: Json) => l.op === "SLOAD").storage).toEqual({ [word(0)]: word(6) });
    expect(resultErrors("debug_traceTransaction", logs)).toEqual([]);
    const reverted = await result(node.url, "debug_traceCall", [
      { from, to: probe.address, data: iface().encodeFunctionData("revertWithReason", ["no"]) },
      "latest",
      { tracer: "callTracer" },
    ]);
    expect(reverted).toMatchObject({ error: "execution reverted", revertReason: "no" });
    expect((await rpcError(node.url, "debug_traceCall", [call, "0xffffff"])).message).toBe("header not found");
  });

  it("a trace past rpc.traceMaxBytes answers -32005 instead of filling memory; smaller traces still work", async () => {
    const w = devWallet(node.url, 0);
    const burn = await send(node.url, w, {
      to: probe.address,
      data: iface().encodeFunctionData("burnGas", [200n]),
      gasLimit: 10_000_000n,
    });
    await mine(node.url);
    expect((await waitReceipt(node.url, burn)).status).toBe("0x1");
    const e = await rpcError(node.url, "debug_traceTransaction", [burn, { enableMemory: true }]);
    expect(e.code).toBe(-32005);
    expect(e.message).toContain("trace larger than 200000 bytes (rpc.traceMaxBytes)");
    const calls = await result(node.url, "debug_traceTransaction", [burn, { tracer: "callTracer" }]);
    expect(calls.to).toBe(probe.address);
    const limited = await result(node.url, "debug_traceTransaction", [burn, { limit: 100 }]);
    expect(limited.structLogs).toHaveLength(100);
    // The node is fine: it keeps answering and mining.
    expect(await result(node.url, "eth_blockNumber", [])).toMatch(/^0x/);
  });

  it("ethers and viem read traces with their raw request APIs", async () => {
    const viaEthers = await provider(node.url).send("debug_traceTransaction", [first, { tracer: "callTracer" }]);
    const client = createPublicClient({ transport: http(node.url) });
    const viaViem = await client.request({
      method: "debug_traceTransaction" as "eth_chainId",
      params: [first, { tracer: "callTracer" }] as never,
    });
    expect(viaViem).toEqual(viaEthers);
    expect(viaEthers).toMatchObject({ type: "CALL", to: probe.address });
  });

  it("cast run replays a mined transaction (and the transactions before it in its block); cast call --trace", async () => {
    const cast = castBinary();
    const receipt = await waitReceipt(node.url, second);
    const { stdout } = await run(cast, ["run", "--rpc-url", node.url, second], { timeout: 120_000 });
    expect(stdout).toContain("Executing previous transactions from the block.");
    expect(stdout).toContain("Transaction successfully executed.");
    expect(stdout).toContain(`Gas used: ${BigInt(receipt.gasUsed)}`);
    // The ValueSet event with value 6, as the node mined it.
    expect(stdout).toContain(`topic 2: ${word(6)}`);
    const call = await run(cast, ["call", "--rpc-url", node.url, "--trace", probe.address, "value()(uint256)"], {
      timeout: 120_000,
    });
    expect(call.stdout).toContain(`[Return] ${word(6)}`);
    expect(parseEther("1")).toBeGreaterThan(BigInt(UNUSED_ADDRESS.length));
  });
});
