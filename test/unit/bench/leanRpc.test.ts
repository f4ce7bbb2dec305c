import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseArgs } from "../../../bench/args.js";
import { LeanConnection, parseResponse, postBytes, rpcResult } from "../../../bench/leanRpc.js";
import type { TargetProcess } from "../../../bench/procs.js";
import { hexToBigInt, RpcClient } from "../../../bench/rpc.js";
import { type Ctx, callLoop, ethCalls, leanCaller, setupToken, type Token } from "../../../bench/workloads.js";
import { loadArtifact } from "../../../contracts/artifacts.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../../utils/devnode.js";

// The eth_call phase's lean raw-socket client (bench/leanRpc.ts) against a real dev node: the same answers as the
// node:http client, every answer checked, and an error answer or a wrong result counted as a failure, not a call.
describe("bench lean JSON-RPC client", () => {
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  let rpc: RpcClient;
  let ctx: Ctx;
  let token: Token;

  beforeAll(async () => {
    node = await startInProcessNode();
    rpc = new RpcClient(node.url);
    // Not a child process: the phase's CPU meter reads nothing of it.
    const proc = { pid: process.pid, exited: () => false, cpuSeconds: () => null } as unknown as TargetProcess;
    const params = parseArgs(["--calls", "300", "--callers", "4", "--warmup-txs", "0", "--stall-timeout", "30000"]);
    if (params === null) throw new Error("no params");
    ctx = {
      rpc,
      chainId: DEV_CHAIN_ID,
      wallets: DEV_KEYS.slice(0, 3).map((k) => new Wallet(k)),
      proc,
      params,
      log: () => {},
    };
    token = await setupToken(ctx, loadArtifact("TestToken"));
  }, 120_000);
  afterAll(async () => {
    rpc?.close();
    await node?.cleanup();
  });

  it("answers as the node:http client does, by both clients' phase", async () => {
    const holders = ctx.wallets.map((w) => w.address);
    const conn = new LeanConnection(node.url);
    try {
      for (const [i, h] of holders.entries()) {
        const params = [{ to: token.address, data: token.iface.encodeFunctionData("balanceOf", [h]) }, "latest"];
        const body = JSON.stringify({ jsonrpc: "2.0", id: 40 + i, method: "eth_call", params });
        const lean = rpcResult(await conn.post(postBytes(node.url, body)), 40 + i);
        expect(lean).toBe(await rpc.call("eth_call", params));
        expect(hexToBigInt(lean)).toBeGreaterThan(0n);
      }
    } finally {
      conn.close();
    }
    for (const client of ["http", "net"] as const) {
      const r = await ethCalls(ctx, token, [], client);
      expect(r).toMatchObject({ ok: true, client, calls: 300, succeeded: 300, errors: 0, wrongResults: 0 });
      expect(r.clientCpuMicrosPerCall).toBeGreaterThan(0);
    }
  }, 60_000);

  it("counts an error answer and a wrong result as failures", async () => {
    const holders = ctx.wallets.map((w) => w.address);
    const data = holders.map((h) => token.iface.encodeFunctionData("balanceOf", [h]));
    // Seeded: holder 1's request calls a selector TestToken does not have (the node answers a JSON-RPC error).
    data[1] = "0xdeadbeef";
    const expected = await Promise.all(
      holders.map(async (h) =>
        hexToBigInt(
          await rpc.call("eth_call", [
            { to: token.address, data: token.iface.encodeFunctionData("balanceOf", [h]) },
            "latest",
          ]),
        ),
      ),
    );
    // Seeded: holder 2's expected balance is off by one, so every answer for it is a wrong result.
    expected[2] += 1n;
    const good = leanCaller(
      node.url,
      ctx.params.callers,
      token.address,
      data.map((d, h) => (h === 1 ? data[0] : d)),
    );
    const lean = leanCaller(node.url, ctx.params.callers, token.address, data);
    // The untimed warm-up (30 calls here) stops at an error: it gets answers without the seeded error.
    let made = 0;
    const call = (i: number, caller: number) => (made++ < 30 ? good : lean).call(i, caller);
    try {
      const r = await callLoop(ctx, "net", call, (i, res) => hexToBigInt(res) === expected[i % 3]);
      expect(r.ok).toBe(false);
      expect(r.calls).toBe(300);
      expect(r.errors).toBe(100);
      expect(r.wrongResults).toBe(100);
      expect(r.succeeded).toBe(200);
      expect(Object.keys(r.errorMessages).join(" ")).toMatch(/revert/i);
    } finally {
      good.close();
      lean.close();
    }
  }, 60_000);

  it("refuses an answer to another request's id, and a non-200 status", async () => {
    expect(() => rpcResult('{"jsonrpc":"2.0","id":2,"result":"0x1"}', 1)).toThrow(/id/);
    expect(() => rpcResult('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"boom"}}', 1)).toThrow(/boom/);
    const conn = new LeanConnection(node.url.replace(/\/?$/, "/no-such-path"));
    try {
      await expect(conn.post(postBytes(conn.url, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'))).rejects.toThrow(
        /HTTP 404/,
      );
    } finally {
      conn.close();
    }
  });
});

describe("parseResponse", () => {
  const body = '{"jsonrpc":"2.0","id":1,"result":"0x2a"}';
  const byLength = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const chunked = Buffer.from(
    `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n${body.slice(0, 5)}\r\n` +
      `${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`,
  );

  for (const [name, bytes] of [
    ["content-length", byLength],
    ["chunked", chunked],
  ] as const) {
    it(`${name}: incomplete until the last byte, then the body and its end`, () => {
      for (let n = 0; n < bytes.length; n++) expect(parseResponse(bytes.subarray(0, n))).toBeNull();
      const next = Buffer.concat([bytes, Buffer.from("HTTP/1.1 200")]);
      expect(parseResponse(next)).toEqual({ answer: { status: 200, body, close: false }, end: bytes.length });
    });
  }
});
