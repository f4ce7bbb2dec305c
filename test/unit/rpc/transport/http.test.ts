import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRPCServer } from "../../../../rpc/server.js";
import { call, post, REVERT_BOOM, startTestServer, type TestServer } from "./helpers.js";

describe("JSON-RPC over HTTP (real server)", () => {
  let t: TestServer;
  let url: string;
  const observed: { method: string; ok: boolean }[] = [];

  beforeAll(async () => {
    t = await startTestServer({
      metrics: { observe: (method, _s, ok) => observed.push({ method, ok }) },
      routes: {
        health: async () => ({ ok: true, body: { height: 7n, syncing: false } }),
        metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "rpc_requests_total 3\n" }),
        extra: [{ method: "GET", url: "/status", handler: async () => ({ chainId: 1337n }) }],
      },
    });
    url = t.addr.url;
  });
  afterAll(async () => {
    await t.close();
  });

  it("reports its address", () => {
    expect(t.addr.host).toBe("127.0.0.1");
    expect(t.addr.port).toBeGreaterThan(0);
    expect(t.addr.url).toBe(`http://127.0.0.1:${t.addr.port}`);
    expect(t.addr.wsUrl).toBe(`ws://127.0.0.1:${t.addr.port}`);
  });

  it("answers a single call", async () => {
    const r = await post(url, call("test_add", ["0x2", "0x3"], 7));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ jsonrpc: "2.0", id: 7, result: "0x5" });
  });

  it("malformed JSON → -32700 with id null", async () => {
    const r = await post(url, '{"jsonrpc":"2.0","id":1,"method":');
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}');
  });

  it("empty body → -32700", async () => {
    const r = await post(url, "", {});
    expect(r.json.error.code).toBe(-32700);
  });

  it("accepts missing, other and malformed content-types", async () => {
    for (const contentType of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "garbage",
      "application/json; charset=utf-8",
    ]) {
      const r = await post(url, call("eth_chainId"), { "content-type": contentType });
      expect(r.json, contentType).toEqual({ jsonrpc: "2.0", id: 1, result: "0x539" });
    }
    const status = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${url}/`, { method: "POST" }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end(JSON.stringify(call("eth_chainId")));
    });
    expect(JSON.parse(status).result).toBe("0x539");
  });

  it("[] → a single -32600 empty batch object", async () => {
    const r = await post(url, "[]");
    expect(r.json).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "empty batch" } });
  });

  it("mixed batch: each item answered independently, in order, notifications omitted", async () => {
    const r = await post(url, [
      call("test_echo", ["0x1"], 1),
      { jsonrpc: "1.0", id: 2, method: "test_echo", params: ["0x1"] },
      { jsonrpc: "2.0", method: "test_echo", params: ["0x9"] },
      5,
      call("nope_nothing", [], 3),
      { jsonrpc: "2.0", id: { bad: true }, method: "test_echo" },
      call("test_add", ["0x1", "0x01"], "x"),
      call("test_slow", [30], 4),
      call("test_echo", ["0xff"], null),
    ]);
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      { jsonrpc: "2.0", id: 1, result: "0x1" },
      { jsonrpc: "2.0", id: 2, error: { code: -32600, message: "invalid request" } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } },
      {
        jsonrpc: "2.0",
        id: 3,
        error: { code: -32601, message: "the method nope_nothing does not exist/is not available" },
      },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } },
      {
        jsonrpc: "2.0",
        id: "x",
        error: { code: -32602, message: "invalid argument 1 (b): hex number with leading zero digits" },
      },
      { jsonrpc: "2.0", id: 4, result: 30 },
      { jsonrpc: "2.0", id: null, result: "0xff" },
    ]);
  });

  it("batch items run concurrently", async () => {
    const started = performance.now();
    const r = await post(
      url,
      Array.from({ length: 20 }, (_, i) => call("test_slow", [100], i)),
    );
    expect(r.json.map((x: { id: number }) => x.id)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("1,000 items are fine; 1,001 → a single -32600 batch too large", async () => {
    const ok = await post(
      url,
      Array.from({ length: 1000 }, (_, i) => call("test_echo", ["0x1"], i)),
    );
    expect(ok.json).toHaveLength(1000);
    const r = await post(
      url,
      Array.from({ length: 1001 }, (_, i) => call("test_echo", ["0x1"], i)),
    );
    expect(r.json).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "batch too large" } });
  });

  it("body over the limit → 413 with a JSON-RPC error (content-length and chunked)", async () => {
    const expected =
      '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"request body too large (limit 5242880 bytes)"}}';
    const big = JSON.stringify(call("test_echo", ["0x1".padEnd(5 * 1024 * 1024 + 10, "0")]));
    const r = await post(url, big);
    expect(r.status).toBe(413);
    expect(r.text).toBe(expected);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");

    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.text()).toBe(expected);

    // The server is still healthy afterwards.
    expect((await post(url, call("eth_chainId"))).json.result).toBe("0x539");
  });

  it("unknown method → -32601", async () => {
    const r = await post(url, call("eth_doesNotExist"));
    expect(r.json.error).toEqual({
      code: -32601,
      message: "the method eth_doesNotExist does not exist/is not available",
    });
  });

  it("does not resolve Object.prototype members as methods", async () => {
    for (const m of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      expect((await post(url, call(m))).json.error.code).toBe(-32601);
    }
  });

  it("param errors: wrong type names the param, missing required, too many, leading zero, non-array", async () => {
    const bad = await post(url, call("test_address", [`0x${"ab".repeat(19)}`]));
    expect(bad.json.error).toEqual({
      code: -32602,
      message: "invalid argument 0 (address): hex string has length 38, want 40 for common.Address",
    });
    const missing = await post(url, call("test_add", ["0x1"]));
    expect(missing.json.error).toEqual({ code: -32602, message: "missing value for required argument 1" });
    const tooMany = await post(url, call("test_echo", ["0x1", "0x2"]));
    expect(tooMany.json.error).toEqual({ code: -32602, message: "too many arguments, want at most 1" });
    const leading = await post(url, call("test_echo", ["0x01"]));
    expect(leading.json.error).toEqual({
      code: -32602,
      message: "invalid argument 0 (value): hex number with leading zero digits",
    });
    const byName = await post(url, { jsonrpc: "2.0", id: 1, method: "test_echo", params: { value: "0x1" } });
    expect(byName.json.error).toEqual({ code: -32602, message: "non-array args" });
    const none = await post(url, call("test_echo"));
    expect(none.json.error).toEqual({ code: -32602, message: "missing value for required argument 0" });
  });

  it("params may be omitted or []", async () => {
    expect((await post(url, call("eth_chainId"))).json.result).toBe("0x539");
    expect((await post(url, call("eth_chainId", []))).json.result).toBe("0x539");
    const addr = `0x${"AB".repeat(20)}`;
    expect((await post(url, call("test_address", [addr]))).json.result).toEqual({
      address: addr.toLowerCase(),
      block: null,
    });
  });

  it("notification-only request or batch → 204 with empty body", async () => {
    const single = await post(url, { jsonrpc: "2.0", method: "test_echo", params: ["0x1"] });
    expect(single.status).toBe(204);
    expect(single.text).toBe("");
    const batch = await post(url, [
      { jsonrpc: "2.0", method: "test_echo", params: ["0x1"] },
      { jsonrpc: "2.0", method: "test_throw" },
    ]);
    expect(batch.status).toBe(204);
    expect(batch.text).toBe("");
  });

  it("serialises bigint and bytes to hex", async () => {
    const r = await post(url, call("test_big"));
    expect(r.json.result).toEqual({
      big: `0x1${"0".repeat(50)}`,
      zero: "0x0",
      bytes: "0xdeadbeef",
      buffer: "0x0102",
      list: ["0x1", "0x", null],
    });
    expect((await post(url, call("test_void"))).json).toEqual({ jsonrpc: "2.0", id: 1, result: null });
  });

  it("ExecutionRevertedError → code 3 with the revert data", async () => {
    const r = await post(url, call("test_revert"));
    expect(r.json.error).toEqual({ code: 3, message: "execution reverted: boom", data: REVERT_BOOM });
  });

  it("unknown exception → -32603 internal error, logged with the method, not leaked", async () => {
    const r = await post(url, call("test_throw"));
    expect(r.json.error).toEqual({ code: -32603, message: "internal error" });
    expect(r.text).not.toContain("secret");
    const logged = t.logger.entries.find((e) => e.level === "error" && e.ctx?.method === "test_throw");
    expect(logged).toBeDefined();
    expect(String(logged?.err)).toContain("secret");
  });

  it("logs each call at debug and reports metrics (known methods only)", async () => {
    await post(url, call("test_echo", ["0x3"]));
    await post(url, call("no_such_method"));
    expect(t.logger.entries.some((e) => e.level === "debug" && e.ctx?.method === "test_echo")).toBe(true);
    expect(observed).toContainEqual({ method: "test_echo", ok: true });
    expect(observed).toContainEqual({ method: "test_throw", ok: false });
    expect(observed.some((o) => o.method === "no_such_method")).toBe(false);
  });

  it("eth_subscribe over HTTP → -32601 notifications not supported", async () => {
    const r = await post(url, call("eth_subscribe", ["ticks"]));
    expect(r.json.error).toEqual({ code: -32601, message: "notifications not supported" });
  });

  it("invalid envelopes → -32600", async () => {
    expect((await post(url, "5")).json).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "invalid request" },
    });
    expect((await post(url, { id: 9, method: "eth_chainId" })).json.id).toBe(9);
    expect((await post(url, { jsonrpc: "2.0", id: 9, method: 5 })).json.error.code).toBe(-32600);
    expect((await post(url, { jsonrpc: "2.0", id: [1], method: "eth_chainId" })).json).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "invalid request" },
    });
    expect((await post(url, { jsonrpc: "2.0", id: true, method: "eth_chainId" })).json.id).toBeNull();
  });

  it("CORS: answers preflight and tags responses", async () => {
    const pre = await fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: "https://dapp.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect(pre.headers.get("access-control-allow-headers")).toBe("content-type");
    const r = await post(url, call("eth_chainId"), { origin: "https://dapp.example" });
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("/health, /metrics and extra routes", async () => {
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ height: "0x7", syncing: false });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(await metrics.text()).toBe("rpc_requests_total 3\n");
    const status = await fetch(`${url}/status`);
    expect(await status.json()).toEqual({ chainId: "0x539" });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(url)).status).toBe(200);
  });
});

describe("HTTP server options", () => {
  it("/health and /metrics are 404 without callbacks; unhealthy → 503; failing route → 500", async () => {
    const bare = await startTestServer();
    try {
      expect((await fetch(`${bare.addr.url}/health`)).status).toBe(404);
      expect((await fetch(`${bare.addr.url}/metrics`)).status).toBe(404);
    } finally {
      await bare.close();
    }
    const sick = await startTestServer({
      routes: {
        health: async () => ({ ok: false, body: { reason: "syncing" } }),
        metrics: async () => {
          throw new Error("registry broke");
        },
      },
    });
    try {
      const h = await fetch(`${sick.addr.url}/health`);
      expect(h.status).toBe(503);
      expect(await h.json()).toEqual({ reason: "syncing" });
      const m = await fetch(`${sick.addr.url}/metrics`);
      expect(m.status).toBe(500);
      expect(await m.text()).not.toContain("registry broke");
      expect(sick.logger.entries.some((e) => e.level === "error" && e.ctx?.url === "/metrics")).toBe(true);
    } finally {
      await sick.close();
    }
  });

  it("honours bodyLimitBytes and batchLimit", async () => {
    const t = await startTestServer({ bodyLimitBytes: 1024, batchLimit: 3 });
    try {
      const r = await post(t.addr.url, call("test_echo", ["0x1".padEnd(2000, "0")]));
      expect(r.status).toBe(413);
      expect(r.json.error.message).toBe("request body too large (limit 1024 bytes)");
      const batch = await post(
        t.addr.url,
        Array.from({ length: 4 }, (_, i) => call("eth_chainId", [], i)),
      );
      expect(batch.json.error.message).toBe("batch too large");
    } finally {
      await t.close();
    }
  });

  it("listen on 0.0.0.0 reports a loopback url; close is idempotent", async () => {
    const server = createRPCServer({ host: "0.0.0.0", port: 0, methods: {} });
    const addr = await server.listen();
    expect(addr.host).toBe("0.0.0.0");
    expect(addr.url).toBe(`http://127.0.0.1:${addr.port}`);
    await Promise.all([server.close(), server.close()]);
  });
});
