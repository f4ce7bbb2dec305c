import { Agent, request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestServer, type TestServer } from "./helpers.js";

/**
 * The HTTP fast path (rpc/server.ts `httpFastPath`) against the fastify route it bypasses: the same
 * random requests to a server with the fast path and to one without must get the same status, body
 * and headers (all but Date).
 */

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const BODY_LIMIT = 4096;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function send(port: number, method: string, path: string, body: string | undefined, headers: Record<string, string>) {
  return new Promise<Raw>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode ?? 0, headers: rest, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const id = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null));
const quantity = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map((n) => `0x${n.toString(16)}`),
  fc.string({ maxLength: 6 }),
  fc.integer(),
);
const callObj = fc.oneof(
  fc
    .record({ method: fc.constantFrom("eth_chainId", "eth_blockNumber", "net_version", "test_big", "test_void"), id })
    .map((c) => call(c.method, [], c.id)),
  fc.tuple(quantity, quantity, id).map(([a, b, i]) => call("test_add", [a, b], i)),
  fc.tuple(quantity, id).map(([a, i]) => call("test_echo", [a], i)),
  fc
    .tuple(
      fc.oneof(
        fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`),
        fc.string({ maxLength: 5 }),
      ),
      id,
    )
    .map(([a, i]) => call("test_address", [a, "latest"], i)),
  fc.constantFrom(call("test_throw"), call("test_revert"), call("no_such_method"), call("eth_subscribe", ["newHeads"])),
  // Notifications (no id), invalid envelopes.
  fc.constantFrom(
    { jsonrpc: "2.0", method: "eth_chainId" },
    { jsonrpc: "1.0", id: 1, method: "eth_chainId" },
    { id: 1, method: "eth_chainId" },
    { jsonrpc: "2.0", id: {}, method: "eth_chainId" },
    { jsonrpc: "2.0", id: 1, method: 5 },
  ),
);
const body = fc.oneof(
  callObj.map((c) => JSON.stringify(c)),
  fc.array(callObj, { maxLength: 5 }).map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "[]", "{}", "null", "1", '"x"', '{"jsonrpc":"2.0","id":1,"method":', "[1,2]", "\u00e9\u{1f600}"),
  fc
    .integer({ min: BODY_LIMIT - 2, max: BODY_LIMIT + 2 })
    .map((n) => JSON.stringify(call("test_echo", ["x".repeat(n)]))),
);
const request = fc.record({
  method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "OPTIONS"),
  path: fc.constantFrom("/", "/", "/", "/?x=1", "/health", "/nope"),
  contentType: fc.constantFrom("application/json", "text/plain", "garbage", undefined),
  chunked: fc.boolean(),
  body,
});

describe("JSON-RPC over HTTP: fast path and fastify route answer alike", () => {
  let fast: TestServer;
  let slow: TestServer;

  beforeAll(async () => {
    fast = await startTestServer({ bodyLimitBytes: BODY_LIMIT });
    slow = await startTestServer({ bodyLimitBytes: BODY_LIMIT, httpFastPath: false });
  });
  afterAll(async () => {
    agent.destroy();
    await Promise.all([fast.close(), slow.close()]);
  });

  it("same status, body and headers on random requests", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers["content-type"] = r.contentType;
        if (r.chunked) headers["transfer-encoding"] = "chunked";
        else if (r.method !== "GET") headers["content-length"] = String(Buffer.byteLength(r.body));
        const b = r.method === "GET" ? undefined : r.body;
        const [a, s] = await Promise.all([
          send(fast.addr.port, r.method, r.path, b, headers),
          send(slow.addr.port, r.method, r.path, b, headers),
        ]);
        expect(a).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it("answers a plain JSON-RPC POST (the shape the fast path takes)", async () => {
    const r = await send(fast.addr.port, "POST", "/", JSON.stringify(call("eth_chainId")), {
      "content-type": "application/json",
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe('{"jsonrpc":"2.0","id":1,"result":"0x539"}');
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
  });
});
