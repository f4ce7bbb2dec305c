import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { call, sleep, startTestServer, type TestServer, WSClient } from "./helpers.js";

describe("JSON-RPC over WebSocket (real server)", () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it("request/response on the same port as HTTP", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      expect(await c.request("test_add", ["0x2", "0x3"])).toEqual({ jsonrpc: "2.0", id: 1, result: "0x5" });
      expect(await c.request("test_echo", ["0x01"])).toMatchObject({
        error: { code: -32602, message: "invalid argument 0 (value): hex number with leading zero digits" },
      });
    } finally {
      await c.close();
    }
  });

  it("batches, notifications, malformed and binary frames", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      c.sendRaw(
        JSON.stringify([call("eth_chainId", [], 1), { jsonrpc: "2.0", method: "test_echo" }, call("x_y", [], 2)]),
      );
      expect(await c.next()).toEqual([
        { jsonrpc: "2.0", id: 1, result: "0x539" },
        { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "the method x_y does not exist/is not available" } },
      ]);
      c.sendRaw("[]");
      expect(await c.next()).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "empty batch" } });
      c.sendRaw("{oops");
      expect(await c.next()).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
      c.sendRaw(Buffer.from(JSON.stringify(call("eth_chainId"))), true);
      expect(await c.next()).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
      // A notification gets no answer: the next message is the answer to the following call.
      c.sendRaw(JSON.stringify({ jsonrpc: "2.0", method: "test_echo", params: ["0x1"] }));
      expect(await c.request("eth_blockNumber")).toMatchObject({ result: "0x2a" });
      expect(c.messages).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it("responses of concurrent requests may interleave but all arrive", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      const slow = c.request("test_slow", [100]);
      const fast = c.request("eth_chainId");
      const first = await Promise.race([slow.then(() => "slow"), fast.then(() => "fast")]);
      expect(first).toBe("fast");
      expect((await slow).result).toBe(100);
    } finally {
      await c.close();
    }
  });

  it("subscribe → notifications → unsubscribe → no more notifications", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      const sub = await c.request("eth_subscribe", ["ticks"]);
      const id: string = sub.result;
      expect(id).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$/);
      t.source.emit({ tick: 1n });
      t.source.emit({ tick: 2n });
      const n1 = await c.next((m) => m.method === "eth_subscription");
      const n2 = await c.next((m) => m.method === "eth_subscription");
      expect(n1).toEqual({
        jsonrpc: "2.0",
        method: "eth_subscription",
        params: { subscription: id, result: { tick: "0x1" } },
      });
      expect(n2.params.result).toEqual({ tick: "0x2" });

      expect((await c.request("eth_unsubscribe", [id])).result).toBe(true);
      expect((await c.request("eth_unsubscribe", [id])).result).toBe(false);
      t.source.emit({ tick: 3n });
      // Same socket, in order: a notification sent before this answer would already be queued.
      await c.request("eth_chainId");
      expect(c.notifications(id)).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it("unknown subscription kind → -32602, nothing registered", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      const before = t.source.live.size;
      const r = await c.request("eth_subscribe", ["syncing2"]);
      expect(r.error).toEqual({ code: -32602, message: 'no "syncing2" subscription in eth namespace' });
      expect(t.source.live.size).toBe(before);
    } finally {
      await c.close();
    }
  });

  it("the subscription id reaches the client before any notification (synchronous push)", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    try {
      c.sendRaw(JSON.stringify(call("eth_subscribe", ["immediate", { x: 1 }], 77)));
      const first = await c.next();
      expect(first.id).toBe(77);
      const n = await c.next();
      expect(n).toEqual({
        jsonrpc: "2.0",
        method: "eth_subscription",
        params: { subscription: first.result, result: { immediate: true, params: [{ x: 1 }] } },
      });
    } finally {
      await c.close();
    }
  });

  it("a subscription id of another connection cannot be cancelled", async () => {
    const a = await WSClient.connect(t.addr.wsUrl);
    const b = await WSClient.connect(t.addr.wsUrl);
    try {
      const id = (await a.request("eth_subscribe", ["ticks"])).result;
      expect((await b.request("eth_unsubscribe", [id])).result).toBe(false);
      t.source.emit("still-there");
      expect((await a.next((m) => m.method === "eth_subscription")).params.result).toBe("still-there");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("closing the socket disposes every subscription of that connection", async () => {
    const c = await WSClient.connect(t.addr.wsUrl);
    const disposedBefore = t.source.disposed;
    const liveBefore = t.source.live.size;
    await c.request("eth_subscribe", ["ticks"]);
    await c.request("eth_subscribe", ["newHeads"]);
    await c.request("eth_subscribe", ["ticks"]);
    expect(t.source.live.size).toBe(liveBefore + 3);
    c.ws.terminate();
    await c.closed;
    for (let i = 0; i < 50 && t.source.disposed < disposedBefore + 3; i++) await sleep(10);
    expect(t.source.disposed).toBe(disposedBefore + 3);
    expect(t.source.live.size).toBe(liveBefore);
  });

  it("a message over the size limit closes the connection with 1009", async () => {
    const small = await startTestServer({ bodyLimitBytes: 1024 });
    try {
      const c = await WSClient.connect(small.addr.wsUrl);
      c.sendRaw(JSON.stringify(call("test_echo", ["0x1".padEnd(2000, "0")])));
      expect((await c.closed).code).toBe(1009);
    } finally {
      await small.close();
    }
  });

  it("refuses connections beyond wsMaxConnections and frees the slot on close", async () => {
    const s = await startTestServer({ wsMaxConnections: 1 });
    try {
      const a = await WSClient.connect(s.addr.wsUrl);
      await expect(WSClient.connect(s.addr.wsUrl)).rejects.toThrow(/503/);
      // HTTP is unaffected.
      const r = await fetch(s.addr.url, { method: "POST", body: JSON.stringify(call("eth_chainId")) });
      expect(((await r.json()) as { result: string }).result).toBe("0x539");
      await a.close();
      let b: WSClient | undefined;
      for (let i = 0; i < 50 && b === undefined; i++) {
        b = await WSClient.connect(s.addr.wsUrl).catch(() => undefined);
        if (b === undefined) await sleep(10);
      }
      expect(b).toBeDefined();
      expect((await b?.request("eth_chainId"))?.result).toBe("0x539");
      await b?.close();
    } finally {
      await s.close();
    }
  });

  it("a slow consumer is cut off: its subscription stops and the connection closes with 1008", async () => {
    const s = await startTestServer({ wsMaxBufferedBytes: 256 * 1024 });
    try {
      const c = await WSClient.connect(s.addr.wsUrl);
      await c.request("eth_subscribe", ["flood"]);
      c.ws.pause(); // stop reading: the server's send buffer grows
      for (let i = 0; i < 500 && s.source.disposed === 0; i++) await sleep(10);
      expect(s.source.disposed).toBe(1);
      expect(s.logger.entries.some((e) => e.level === "warn" && e.msg.includes("slow"))).toBe(true);
      c.ws.resume();
      const closed = await c.closed;
      expect(closed.code).toBe(1008);
      expect(closed.reason).toBe("send buffer limit exceeded");
    } finally {
      await s.close();
    }
  });

  it("close() closes WebSocket clients with 1001 and disposes their subscriptions", async () => {
    const s = await startTestServer();
    const c = await WSClient.connect(s.addr.wsUrl);
    await c.request("eth_subscribe", ["ticks"]);
    await s.close();
    expect((await c.closed).code).toBe(1001);
    expect(s.source.disposed).toBe(1);
    await expect(WSClient.connect(s.addr.wsUrl)).rejects.toThrow();
  });

  it("close() terminates clients that never finish the close handshake", async () => {
    const s = await startTestServer();
    const ws = new WebSocket(s.addr.wsUrl);
    await new Promise((r) => ws.once("open", r));
    ws.pause(); // never reads the close frame
    const closed = new Promise((r) => ws.once("close", r));
    const started = performance.now();
    await s.close();
    expect(performance.now() - started).toBeLessThan(5000);
    ws.resume();
    await closed;
  });
});
