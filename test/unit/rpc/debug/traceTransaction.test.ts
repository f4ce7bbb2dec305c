import { Interface, parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Deployed,
  deploy,
  devWallet,
  HASH,
  type Json,
  QUANTITY,
  q,
  result,
  rpcError,
  send,
  startInProcessNode,
  type TestNode,
  waitReceipt,
  word,
} from "../eth/helpers.js";

const WAZR = "0x0000000000000000000000000000000000000a01";

/** geth's callTracer frame keys, in geth's JSON order (gen_callframe_json.go). */
const FRAME_KEY_ORDER = [
  "from",
  "gas",
  "gasUsed",
  "to",
  "input",
  "output",
  "error",
  "revertReason",
  "calls",
  "logs",
  "value",
  "type",
  "decoded",
];

function expectGethFrameKeys(f: Json): void {
  const keys = Object.keys(f);
  const order = keys.map((k) => FRAME_KEY_ORDER.indexOf(k));
  expect(
    order.every((i) => i >= 0),
    `unexpected key in ${keys}`,
  ).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  for (const c of f.calls ?? []) expectGethFrameKeys(c);
}

describe("debug_traceTransaction: proxy → implementation → target", () => {
  let node: TestNode;
  let from: string;
  let vault: Deployed;
  let router: Deployed;
  let proxy: Deployed;
  let routeTx: string;
  let failTx: string;
  const routerIface = () => new Interface(router.abi);

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    vault = await deploy(w, "TraceVault");
    router = await deploy(w, "TraceRouter");
    proxy = await deploy(w, "TraceProxy", [router.address, from]);
    routeTx = await send(node.url, w, {
      to: proxy.address,
      value: parseEther("1"),
      data: routerIface().encodeFunctionData("route", [vault.address]),
    });
    expect((await waitReceipt(node.url, routeTx)).status).toBe("0x1");
    // Withdraws more than it deposits: the vault refuses, and the whole transaction reverts.
    failTx = await send(node.url, w, {
      to: proxy.address,
      value: 5n,
      gasLimit: 300_000n,
      data: routerIface().encodeFunctionData("routeAndWithdraw", [vault.address, parseEther("2")]),
    });
    expect((await waitReceipt(node.url, failTx)).status).toBe("0x0");
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("callTracer: the calls in order, with values, gas and the native module call decoded", async () => {
    const t = await result(node.url, "debug_traceTransaction", [routeTx, { tracer: "callTracer" }]);
    const receipt = await waitReceipt(node.url, routeTx);
    const tx = await result(node.url, "eth_getTransactionByHash", [routeTx]);
    expectGethFrameKeys(t);
    expect(t).toMatchObject({
      type: "CALL",
      from,
      to: proxy.address,
      value: q(parseEther("1")),
      gas: tx.gas,
      gasUsed: receipt.gasUsed,
      input: tx.input,
    });
    expect(t.output).toBe(word(0)); // route returns the proxy's WAZR balance: it forwarded everything
    expect(t.calls).toHaveLength(1);
    const impl = t.calls[0];
    // DELEGATECALL: from the proxy to the implementation's code, value inherited from the proxy's frame.
    expect(impl).toMatchObject({
      type: "DELEGATECALL",
      from: proxy.address,
      to: router.address,
      value: q(parseEther("1")),
    });
    expect(impl.input).toBe(tx.input);
    expect(impl.calls.map((c: Json) => [c.type, c.to])).toEqual([
      ["CALL", vault.address],
      ["STATICCALL", WAZR],
    ]);
    const [deposit, balanceOf] = impl.calls;
    expect(deposit).toMatchObject({
      from: proxy.address,
      value: q(parseEther("1")),
      input: new Interface(vault.abi).encodeFunctionData("deposit"),
    });
    expect(deposit.calls).toBeUndefined();
    expect(balanceOf.value).toBeUndefined(); // geth shows no value on STATICCALL
    expect(balanceOf.output).toBe(word(0));
    expect(balanceOf.decoded).toEqual({ module: "WAZR", function: "balanceOf(address)", args: [proxy.address] });
    for (const f of [t, impl, deposit, balanceOf]) {
      expect(f.gas).toMatch(QUANTITY);
      expect(BigInt(f.gasUsed)).toBeLessThanOrEqual(BigInt(f.gas));
    }
  });

  it("callTracer: a failed execution shows where it reverted and the decoded reason", async () => {
    const t = await result(node.url, "debug_traceTransaction", [failTx, { tracer: "callTracer" }]);
    expectGethFrameKeys(t);
    const reason = "TraceVault: insufficient balance";
    expect(t).toMatchObject({ type: "CALL", error: "execution reverted", revertReason: reason });
    const impl = t.calls[0];
    expect(impl).toMatchObject({ type: "DELEGATECALL", error: "execution reverted", revertReason: reason });
    expect(impl.calls.map((c: Json) => [c.type, c.to, c.value, c.error])).toEqual([
      ["CALL", vault.address, "0x5", undefined],
      ["CALL", vault.address, "0x0", "execution reverted"],
    ]);
    expect(impl.calls[1].revertReason).toBe(reason);
    expect(impl.calls[1].output).toMatch(/^0x08c379a0/);
  });

  it("callTracer withLog: each frame's logs with their position; onlyTopCall: the top frame only", async () => {
    const t = await result(node.url, "debug_traceTransaction", [
      routeTx,
      { tracer: "callTracer", tracerConfig: { withLog: true } },
    ]);
    const receipt = await waitReceipt(node.url, routeTx);
    const impl = t.calls[0];
    const [deposit] = impl.calls;
    expect(deposit.logs).toEqual([
      { address: vault.address, topics: receipt.logs[0].topics, data: receipt.logs[0].data, position: "0x0" },
    ]);
    // Routed is emitted by the implementation's code in the proxy's context, after its two calls.
    expect(impl.logs).toEqual([
      { address: proxy.address, topics: receipt.logs[1].topics, data: receipt.logs[1].data, position: "0x2" },
    ]);
    expect(t.logs).toBeUndefined();
    const failed = await result(node.url, "debug_traceTransaction", [
      failTx,
      { tracer: "callTracer", tracerConfig: { withLog: true } },
    ]);
    expect(JSON.stringify(failed)).not.toContain('"logs"'); // a reverted frame's logs never happened

    const top = await result(node.url, "debug_traceTransaction", [
      routeTx,
      { tracer: "callTracer", tracerConfig: { onlyTopCall: true } },
    ]);
    expect(top.calls).toBeUndefined();
    expect(top).toMatchObject({ type: "CALL", to: proxy.address, gasUsed: receipt.gasUsed });
  });

  it("4byteTracer counts selectors with their calldata sizes, skipping precompiles and native modules", async () => {
    const t = await result(node.url, "debug_traceTransaction", [routeTx, { tracer: "4byteTracer" }]);
    const route = routerIface().getFunction("route")!.selector;
    const deposit = new Interface(vault.abi).getFunction("deposit")!.selector;
    // The proxy's frame and its DELEGATECALL both carry route(address).
    expect(t).toEqual({ [`${route}-32`]: 2, [`${deposit}-0`]: 1 });
  });

  it("the struct logger (geth's default): opcodes, gas, stack; memory and storage as asked", async () => {
    const t = await result(node.url, "debug_traceTransaction", [routeTx]);
    const receipt = await waitReceipt(node.url, routeTx);
    expect(Object.keys(t)).toEqual(["gas", "failed", "returnValue", "structLogs"]);
    expect(t.gas).toBe(Number(receipt.gasUsed));
    expect(t.failed).toBe(false);
    expect(t.returnValue).toBe(word(0));
    const first = t.structLogs[0];
    // solc's prologue: PUSH1 0x80 PUSH1 0x40 MSTORE.
    expect(first).toEqual({ pc: 0, op: "PUSH1", gas: first.gas, gasCost: 3, depth: 1, stack: [] });
    expect(t.structLogs[1]).toMatchObject({ pc: 2, op: "PUSH1", gas: first.gas - 3, stack: ["0x80"] });
    expect(t.structLogs[2]).toMatchObject({ op: "MSTORE", stack: ["0x80", "0x40"] });
    expect(new Set(t.structLogs.map((l: Json) => l.depth))).toEqual(new Set([1, 2, 3]));
    const sstore = t.structLogs.find((l: Json) => l.op === "SSTORE");
    expect(Object.keys(sstore.storage)).toHaveLength(1);
    expect(t.structLogs.find((l: Json) => l.op === "ADD").storage).toBeUndefined();
    for (const l of t.structLogs) expect(l.memory).toBeUndefined();

    const withMemory = await result(node.url, "debug_traceTransaction", [
      routeTx,
      { enableMemory: true, disableStack: true, disableStorage: true, limit: 10 },
    ]);
    expect(withMemory.structLogs).toHaveLength(10);
    expect(withMemory.structLogs[3].memory).toEqual([word(0), word(0), word(0x80)]);
    for (const l of withMemory.structLogs) {
      expect(l.stack).toBeUndefined();
      expect(l.storage).toBeUndefined();
    }

    const failed = await result(node.url, "debug_traceTransaction", [failTx]);
    expect(failed.failed).toBe(true);
    expect(failed.returnValue).toMatch(/^0x08c379a0/);
    expect(failed.structLogs.at(-1).op).toBe("REVERT");
  });

  it("prestateTracer: what the transaction touched, as it was; diffMode: what it changed", async () => {
    const receipt = await waitReceipt(node.url, routeTx);
    const before = BigInt(receipt.blockNumber) - 1n;
    const pre = await result(node.url, "debug_traceTransaction", [routeTx, { tracer: "prestateTracer" }]);
    const balanceAt = async (a: string) => result(node.url, "eth_getBalance", [a, q(before)]);
    expect(pre[from].balance).toBe(await balanceAt(from));
    expect(pre[from].nonce).toBe(Number(await result(node.url, "eth_getTransactionCount", [from, q(before)])));
    expect(pre[proxy.address].code).toBe(await result(node.url, "eth_getCode", [proxy.address, q(before)]));
    expect(pre[router.address].code).toMatch(/^0x60/);
    expect(pre[vault.address].balance).toBe("0x0");
    const slot = Object.keys(pre[vault.address].storage)[0];
    expect(pre[vault.address].storage[slot]).toBe(word(0));
    expect(pre[WAZR]).toBeDefined();

    const diff = await result(node.url, "debug_traceTransaction", [
      routeTx,
      { tracer: "prestateTracer", tracerConfig: { diffMode: true } },
    ]);
    expect(Object.keys(diff)).toEqual(["post", "pre"]);
    expect(diff.post[vault.address]).toEqual({
      balance: q(parseEther("1")),
      storage: { [slot]: word(parseEther("1")) },
    });
    expect(diff.pre[vault.address]).toMatchObject({ balance: "0x0" });
    expect(diff.pre[vault.address].storage).toBeUndefined(); // a slot that was empty is not shown as before
    expect(BigInt(diff.post[from].balance)).toBeLessThan(BigInt(diff.pre[from].balance));
    expect(diff.post[from].nonce).toBe(diff.pre[from].nonce + 1);
    expect(diff.post[router.address]).toBeUndefined(); // unchanged accounts are left out
  });

  it("debug_traceBlockByNumber / ByHash: every transaction of the block, each as traced alone", async () => {
    const receipt = await waitReceipt(node.url, routeTx);
    const byNumber = await result(node.url, "debug_traceBlockByNumber", [
      receipt.blockNumber,
      { tracer: "callTracer" },
    ]);
    const byHash = await result(node.url, "debug_traceBlockByHash", [receipt.blockHash, { tracer: "callTracer" }]);
    expect(byHash).toEqual(byNumber);
    const block = await result(node.url, "eth_getBlockByNumber", [receipt.blockNumber, false]);
    expect(byNumber.map((r: Json) => r.txHash)).toEqual(block.transactions);
    const i = block.transactions.indexOf(routeTx);
    expect(byNumber[i]).toEqual({
      txHash: routeTx,
      result: await result(node.url, "debug_traceTransaction", [routeTx, { tracer: "callTracer" }]),
    });
  });

  it("answers geth's errors", async () => {
    expect(await rpcError(node.url, "debug_traceTransaction", [`0x${"ab".repeat(32)}`])).toEqual({
      code: -32000,
      message: "transaction not found",
    });
    const bad = await rpcError(node.url, "debug_traceTransaction", [routeTx, { tracer: "{step: function() {}}" }]);
    expect(bad.code).toBe(-32602);
    expect(bad.message).toContain("JavaScript tracers are not");
    expect(await rpcError(node.url, "debug_traceBlockByNumber", ["0x0"])).toEqual({
      code: -32000,
      message: "genesis is not traceable",
    });
    expect(await rpcError(node.url, "debug_traceBlockByNumber", ["0xffffff"])).toEqual({
      code: -32000,
      message: "block #16777215 not found",
    });
    expect(
      (await rpcError(node.url, "debug_traceTransaction", [routeTx, { tracer: "callTracer", timeout: "soon" }])).code,
    ).toBe(-32602);
    expect(HASH.test(routeTx)).toBe(true);
  });
});
