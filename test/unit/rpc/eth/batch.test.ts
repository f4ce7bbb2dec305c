import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devWallet, post, startInProcessNode, type TestNode, UNUSED_ADDRESS } from "./helpers.js";

/** The JSON-RPC envelope against the real node: parse errors, batches, notifications, ids. */
describe("JSON-RPC envelope: malformed bodies, batches, notifications", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("malformed JSON → -32700 with id null", async () => {
    for (const body of ['{"jsonrpc":"2.0","id":1,"method":"eth_chainId"', "not json", "", '[{"jsonrpc":"2.0",]']) {
      const r = await post(node.url, body);
      expect(r.status).toBe(200);
      expect(r.json, body).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    }
  });

  it("empty batch → one -32600 error object (not an array)", async () => {
    const r = await post(node.url, "[]");
    expect(r.json).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "empty batch" } });
  });

  it("invalid request objects → -32600", async () => {
    const cases: unknown[] = [
      { id: 1, method: "eth_chainId" }, // no jsonrpc
      { jsonrpc: "1.0", id: 1, method: "eth_chainId" },
      { jsonrpc: "2.0", id: 1, method: 42 },
      { jsonrpc: "2.0", id: 1 },
    ];
    for (const c of cases) {
      expect((await post(node.url, c)).json, JSON.stringify(c)).toEqual({
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32600, message: "invalid request" },
      });
    }
    // An invalid id cannot be echoed.
    expect((await post(node.url, { jsonrpc: "2.0", id: { x: 1 }, method: "eth_chainId" })).json).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "invalid request" },
    });
    for (const body of ["1", '"eth_chainId"', "null"]) {
      expect((await post(node.url, body)).json).toEqual({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: "invalid request" },
      });
    }
  });

  it("ids are echoed exactly: numbers, strings, null", async () => {
    for (const id of [0, 7, -1, 1.5, "abc", "", null]) {
      expect((await post(node.url, { jsonrpc: "2.0", id, method: "eth_chainId", params: [] })).json).toEqual({
        jsonrpc: "2.0",
        id,
        result: "0x415a",
      });
    }
  });

  it("a mixed batch: results, errors and notifications in one request, answers in request order", async () => {
    const a = devWallet(node.url, 0).address;
    const r = await post(node.url, [
      { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
      { jsonrpc: "2.0", id: "two", method: "eth_nope", params: [] },
      { jsonrpc: "2.0", method: "eth_blockNumber", params: [] }, // notification: no answer
      { jsonrpc: "2.0", id: 3, method: "eth_getBalance", params: ["0x12", "latest"] },
      { id: 4, method: "eth_chainId" },
      42,
      { jsonrpc: "2.0", id: 5, method: "eth_getBalance", params: [UNUSED_ADDRESS, "latest"] },
      { jsonrpc: "2.0", id: 6, method: "eth_getTransactionCount", params: [a, "earliest"] },
      { jsonrpc: "2.0", id: 7, method: "eth_getBalance", params: [a, "0xffffffff"] },
      { jsonrpc: "2.0", method: "eth_nope" }, // a failing notification: no answer either
    ]);
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      { jsonrpc: "2.0", id: 1, result: "0x415a" },
      {
        jsonrpc: "2.0",
        id: "two",
        error: { code: -32601, message: "the method eth_nope does not exist/is not available" },
      },
      {
        jsonrpc: "2.0",
        id: 3,
        error: {
          code: -32602,
          message: "invalid argument 0 (address): hex string has length 2, want 40 for common.Address",
        },
      },
      { jsonrpc: "2.0", id: 4, error: { code: -32600, message: "invalid request" } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } },
      { jsonrpc: "2.0", id: 5, result: "0x0" },
      { jsonrpc: "2.0", id: 6, result: "0x0" },
      { jsonrpc: "2.0", id: 7, error: { code: -32000, message: "header not found" } },
    ]);
  });

  it("notifications get no answer: a single one or a batch of them → HTTP 204, empty body", async () => {
    const single = await post(node.url, { jsonrpc: "2.0", method: "eth_chainId", params: [] });
    expect(single.status).toBe(204);
    expect(single.text).toBe("");
    const batch = await post(node.url, [
      { jsonrpc: "2.0", method: "eth_chainId" },
      { jsonrpc: "2.0", method: "eth_getBalance", params: ["bad"] },
    ]);
    expect(batch.status).toBe(204);
    expect(batch.text).toBe("");
  });

  it("a batch larger than the limit (1000) is refused as a whole", async () => {
    const calls = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId" }));
    expect((await post(node.url, calls)).json).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "batch too large" },
    });
    const ok = await post(node.url, calls.slice(0, 1000));
    expect(ok.json).toHaveLength(1000);
    expect(ok.json[999]).toEqual({ jsonrpc: "2.0", id: 999, result: "0x415a" });
  });
});
