import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineMethod } from "../../../../rpc/types.js";
import { call, startTestServer, type TestServer } from "./helpers.js";
import { exchange, finalResponses, normalise } from "./rawHttp.js";

/**
 * The keep-alive JSON-RPC front (rpc/transport/httpFront.ts) against the server without it: the same
 * random sequences of raw requests — pipelined on one connection, written in random pieces down to
 * single bytes — must get the same response bytes (Date values aside) from both, and the same close.
 */

const BODY_LIMIT = 4096;
/**
 * Long enough that no head written in pieces (down to one byte a macrotask) takes it on a loaded machine — at load
 * 17 a head written byte by byte took ~0.3 s and one side timed it out — short enough for the timeout cases.
 */
const HEADERS_TIMEOUT_MS = 1500;

function head(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** A POST with a Content-Length body, in the shape the front answers when `extra` keeps it plain. */
function post(body: string, extra: string[] = [], target = "/", version = "HTTP/1.1"): string {
  return head([`POST ${target} ${version}`, "Host: x", ...extra, `Content-Length: ${Buffer.byteLength(body)}`]) + body;
}

function chunked(body: string): string {
  const n = Buffer.byteLength(body);
  const payload = n === 0 ? "0\r\n\r\n" : `${n.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  return head(["POST / HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"]) + payload;
}

const id = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null));
const callObj = fc.oneof(
  fc
    .record({ m: fc.constantFrom("eth_chainId", "eth_blockNumber", "test_big", "test_void"), id })
    .map((c) => call(c.m, [], c.id)),
  // A slow call before a fast one: answers must still come in request order.
  fc.tuple(fc.integer({ min: 0, max: 15 }), id).map(([ms, i]) => call("test_slow", [ms], i)),
  fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 70n }), id).map(([n, i]) => call("test_echo", [`0x${n.toString(16)}`], i)),
  fc.constantFrom(call("test_throw"), call("no_such_method"), { jsonrpc: "2.0", method: "eth_chainId" }),
);
const rpcBody = fc.oneof(
  callObj.map((c) => JSON.stringify(c)),
  fc.array(callObj, { maxLength: 4 }).map((b) => JSON.stringify(b)),
  fc.constantFrom("", "[]", "{", "null", "\u00e9\u{1f600}"),
  // Up to the body limit exactly (the envelope is 48 bytes); larger ones are `closingRequest`s.
  fc.integer({ min: BODY_LIMIT - 80, max: BODY_LIMIT - 48 }).map((n) => JSON.stringify(call("x", ["y".repeat(n)]))),
);
/** Header lines that leave a request on the front's path. */
const plainExtra = fc.subarray([
  "content-type: application/json",
  "Connection: keep-alive",
  "connection:\t Keep-Alive ",
  "User-Agent: t/1",
  "Accept: */*",
  "x-empty:",
  "Origin: http://example",
]);
/** Requests after which the connection stays open. */
const openRequest = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(rpcBody, plainExtra).map(([b, x]) => post(b, x)) },
  fc.tuple(rpcBody, plainExtra).map(([b, x]) => post(b, ["content-type: text/plain", ...x], "/?x=1")),
  rpcBody.map((b) => chunked(b)),
  rpcBody.map((b) => post(b, [], "/nope")),
  rpcBody.map((b) => post(b, ["Expect: 100-continue"])),
  fc.constantFrom(
    head(["GET / HTTP/1.1", "Host: x"]),
    head(["GET /nope HTTP/1.1", "Host: x"]),
    head(["OPTIONS / HTTP/1.1", "Host: x", "Access-Control-Request-Headers: x-a"]),
  ),
);
/** Requests after which a server closes the connection (the last of a sequence). */
const closingRequest = fc.oneof(
  rpcBody.map((b) => post(b, ["Connection: close"])),
  rpcBody.map((b) => post(b, [], "/", "HTTP/1.0")),
  fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT + 30 }).map((n) => post("z".repeat(n))),
  fc.constantFrom(
    `${head(["POST / HTTP/1.1", "Content-Length: 2"])}[]`,
    `${head(["POST / HTTP/1.1", "Host: x", "Content-Length: 2", "Content-Length: 3"])}[]`,
    `${head(["POST / HTTP/1.1", "Host: x", "Content-Length: 2", "Transfer-Encoding: chunked"])}0\r\n\r\n`,
    `${head(["POST / HTTP/1.1", "Host: x", "Content-Length: 2", " folded"])}[]`,
    "POST / HTTP/1.1\nHost: x\nContent-Length: 2\n\n[]",
    head(["POST / HTTP/1.1", "Host: x", "Content-Length: -1"]),
    `${head(["POST / HTTP/1.1", "Host: x", "Bad Header: 1", "Content-Length: 2"])}[]`,
    head(["GARBAGE"]),
    `${head(["POST / HTTP/9.9", "Host: x", "Content-Length: 2"])}[]`,
  ),
);
const sequence = fc.record({
  requests: fc.array(openRequest, { maxLength: 5 }),
  last: closingRequest,
  cuts: fc.oneof(fc.constant<number[]>([]), fc.array(fc.nat(), { maxLength: 12 })),
});

describe("JSON-RPC front: same bytes as Node's HTTP server", () => {
  let front: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    front = await startTestServer({ bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: HEADERS_TIMEOUT_MS });
    plain = await startTestServer({
      bodyLimitBytes: BODY_LIMIT,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      httpFront: false,
    });
  });
  afterAll(async () => {
    await Promise.all([front.close(), plain.close()]);
  });

  /** One connection to each server: `start` once connected, `onData` at each chunk; resolves with what each sent. */
  function onBoth(
    start: (socket: Socket) => void,
    onData: (socket: Socket, got: string, first: boolean) => void = () => {},
  ): Promise<string[]> {
    return Promise.all(
      [front, plain].map(
        (t) =>
          new Promise<string>((resolve) => {
            const socket = connect(t.addr.port, "127.0.0.1");
            let got = "";
            socket.on("data", (c: Buffer) => {
              const first = got.length === 0;
              got += c.toString("latin1");
              onData(socket, got, first);
            });
            socket.on("error", () => {});
            socket.on("close", () => resolve(normalise(got)));
            socket.on("connect", () => start(socket));
          }),
      ),
    );
  }

  async function both(bytes: Buffer, cuts: number[] = [], answers = 0, last?: Buffer): Promise<[string, string]> {
    return Promise.all([
      exchange(front.addr.port, bytes, cuts, answers, last),
      exchange(plain.addr.port, bytes, cuts, answers, last),
    ]);
  }

  it("random pipelined sequences, written whole or in random pieces", async () => {
    await fc.assert(
      fc.asyncProperty(sequence, async (s) => {
        // The closing request goes once the others are answered. Pipelined in one packet behind them, a malformed
        // one makes Node answer only its 400 (it parses the packet before answering anything), while the front
        // answers the requests before it first — as Node does when the malformed request comes in a later packet.
        const [a, b] = await both(Buffer.from(s.requests.join("")), s.cuts, s.requests.length, Buffer.from(s.last));
        expect(a).toBe(b);
      }),
      { numRuns: 250 },
    );
  });

  it("a sequence written one byte at a time", async () => {
    const bytes = Buffer.from(
      post(JSON.stringify(call("test_slow", [10]))) +
        post(JSON.stringify([call("eth_chainId", [], 2), call("test_void", [], 3)]), ["Connection: keep-alive"]) +
        post(JSON.stringify(call("eth_chainId")), ["Connection: close"]),
    );
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    const [a, b] = await both(bytes, cuts);
    expect(a).toBe(b);
    expect(a.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
  });

  it("200 pipelined requests in one write (past the 64 answers the front queues before it stops reading)", async () => {
    const requests = Array.from({ length: 200 }, (_, i) =>
      post(JSON.stringify(call(i % 7 === 0 ? "test_slow" : "test_echo", [i % 7 === 0 ? 1 : `0x${i.toString(16)}`], i))),
    );
    const [a, b] = await both(Buffer.from(requests.join("")), [], 200, Buffer.from(post("[]", ["Connection: close"])));
    expect(a).toBe(b);
    expect(finalResponses(a)).toBe(201);
  });

  it("answers pipelined requests in order when an earlier one is slower", async () => {
    const bytes = Buffer.from(
      post(JSON.stringify(call("test_slow", [30], 1))) +
        post(JSON.stringify(call("eth_chainId", [], 2))) +
        post(JSON.stringify(call("eth_chainId", [], 3)), ["Connection: close"]),
    );
    const [a, b] = await both(bytes);
    expect(a).toBe(b);
    expect([...a.matchAll(/"id":(\d)/g)].map((m) => m[1])).toEqual(["1", "2", "3"]);
  });

  it("a WebSocket upgrade after a JSON-RPC POST on the same connection", async () => {
    const upgrade = head([
      "GET / HTTP/1.1",
      "Host: x",
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
    ]);
    const text = JSON.stringify(call("eth_chainId", [], 7));
    const mask = [1, 2, 3, 4];
    const frame = Buffer.from([0x81, 0x80 | text.length, ...mask, ...Buffer.from(text).map((c, i) => c ^ mask[i % 4])]);
    // The client closes after the WebSocket answer: a close frame (code 1000).
    const close = Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0], 0xe8 ^ mask[1]]);
    const answers = await onBoth(
      (socket) => socket.write(post(JSON.stringify(call("eth_chainId")))),
      (socket, got, first) => {
        // The upgrade goes once the POST is answered (Node does not take an upgrade pipelined behind a request).
        if (first) socket.write(Buffer.concat([Buffer.from(upgrade), frame]));
        if (got.includes('"id":7')) socket.write(close);
      },
    );
    expect(answers[0]).toBe(answers[1]);
    expect(answers[0]).toContain("HTTP/1.1 200 OK");
    expect(answers[0]).toContain("HTTP/1.1 101 Switching Protocols");
    expect(answers[0]).toContain('{"jsonrpc":"2.0","id":7,"result":"0x539"}');
  });

  it("a head that never ends is timed out with a 408 like Node's", async () => {
    const [a, b] = await both(Buffer.from("POST / HTTP/1.1\r\nHost: x\r\nContent-Le"));
    expect(a).toBe(b);
    expect(a).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it("a connection that never sends is timed out like Node's", async () => {
    const [a, b] = await both(Buffer.alloc(0));
    expect(a).toBe(b);
  });

  it.each([
    ["a request cut short", `${post(JSON.stringify(call("eth_chainId")))}POST / HTTP/1.1\r\nHo`],
    ["requests in flight", post(JSON.stringify(call("test_slow", [1000]))) + post("[]")],
    // The FIN comes while the front still waits for the slow answer before handing the GET on.
    [
      "a GET behind a slow call",
      `${post(JSON.stringify(call("test_slow", [1000])))}${head(["GET / HTTP/1.1", "Host: x"])}`,
    ],
  ])("the client's FIN after %s", async (_name, bytes) => {
    const answers = await onBoth((socket) => socket.end(bytes));
    expect(answers[0]).toBe(answers[1]);
  });
});

describe("JSON-RPC front: shutdown", () => {
  it("close() ends idle front connections and answers the request in flight first", async () => {
    let arrived!: () => void;
    const called = new Promise<void>((r) => {
      arrived = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const t = await startTestServer({
      methods: {
        eth_chainId: defineMethod([], () => 1n),
        test_gate: defineMethod([], async () => {
          arrived();
          await gate;
          return 2n;
        }),
      },
    });
    /** Sends `bytes` and resolves once `answers` final responses came, with what the socket reads until it closes. */
    const exchangeUntilClose = (bytes: string, answers: number) =>
      new Promise<{ all: Promise<string> }>((resolve) => {
        const socket = connect(t.addr.port, "127.0.0.1");
        let got = "";
        const all = new Promise<string>((done) => socket.on("close", () => done(got)));
        socket.on("data", (c: Buffer) => {
          got += c.toString("latin1");
          if (finalResponses(got) === answers) resolve({ all });
        });
        socket.on("error", () => {});
        socket.on("connect", () => {
          socket.write(bytes);
          if (answers === 0) resolve({ all });
        });
      });
    const idle = await exchangeUntilClose(post(JSON.stringify(call("eth_chainId"))), 1);
    const busy = await exchangeUntilClose(post(JSON.stringify(call("test_gate"))), 0);
    await called;
    const closed = t.close();
    release();
    await closed;
    const [a, b] = await Promise.all([idle.all, busy.all]);
    expect(finalResponses(a)).toBe(1);
    expect(finalResponses(b)).toBe(1);
    expect(b).toContain('"result":"0x2"');
  });
});
