import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HEAD_LIMITS, type HeadLimits, readRpcHead } from "../../../../rpc/transport/httpHead.js";

/**
 * The front's head reader (rpc/transport/httpHead.ts) on random bytes and on mutated valid heads: it
 * never throws, every proper prefix of a head it takes is "partial", and a head it takes is one Node's
 * HTTP server parses as the same request — `POST /`, HTTP/1.1, the body length it read, no upgrade.
 */

const LIMITS: HeadLimits = { ...DEFAULT_HEAD_LIMITS, bodyLimit: 4096 };

interface Seen {
  method?: string;
  url?: string;
  version?: string;
  bodyLength?: number;
  upgrade?: boolean;
  error?: string;
}

let server: Server;
let port: number;
let last: Seen = {};

/** What Node's HTTP server makes of `bytes` (one request, then the client ends its side). */
function nodeSees(bytes: Buffer): Promise<Seen> {
  last = {};
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.on("close", () => resolve(last));
    socket.on("connect", () => socket.end(bytes));
  });
}

const headerLine = fc.oneof(
  fc.constantFrom(
    "Host: x",
    "host:127.0.0.1:8545",
    "Content-Type: application/json",
    "connection: keep-alive",
    "Connection: Keep-Alive",
    "User-Agent: a/1",
    "Accept-Encoding: gzip, deflate",
    "X-Empty:",
    "Expect: 100-continue",
    "Transfer-Encoding: chunked",
    "Upgrade: websocket",
    "Connection: close",
    "Connection: Upgrade",
    "Content-Length: 3",
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.stringMatching(/^[ -~\t]{0,16}$/)).map(([n, v]) => `${n}: ${v}`),
);
const validHead = fc
  .record({
    before: fc.array(headerLine, { maxLength: 4 }),
    after: fc.array(headerLine, { maxLength: 3 }),
    length: fc.integer({ min: 0, max: 40 }),
    upper: fc.boolean(),
  })
  .map(({ before, after, length, upper }) => {
    const cl = `${upper ? "CONTENT-LENGTH" : "Content-Length"}: ${length}`;
    return `POST / HTTP/1.1\r\nHost: x\r\n${[...before, cl, ...after].join("\r\n")}\r\n\r\n`;
  });
const interestingByte = fc.oneof(
  fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0x80, 0xff, 0x2c, 0x30, 0x39, 0x41),
  fc.integer({ min: 0, max: 255 }),
);
const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom("insert", "delete", "replace"), byte: interestingByte });
const mutatedHead = fc.tuple(validHead, fc.array(mutation, { maxLength: 3 })).map(([head, mutations]) => {
  const bytes = [...Buffer.from(head, "latin1")];
  for (const m of mutations) {
    const at = m.at % (bytes.length + 1);
    if (m.op === "insert") bytes.splice(at, 0, m.byte);
    else if (m.op === "delete") bytes.splice(at, 1);
    else bytes[Math.min(at, bytes.length - 1)] = m.byte;
  }
  return Buffer.from(bytes);
});

describe("readRpcHead", () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      let bodyLength = 0;
      req.on("data", (c: Buffer) => {
        bodyLength += c.length;
      });
      req.on("end", () => {
        last = { method: req.method, url: req.url, version: req.httpVersion, bodyLength };
        res.end();
      });
    });
    server.on("upgrade", (_req, socket) => {
      last = { upgrade: true };
      socket.destroy();
    });
    server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      last = { ...last, error: err.code ?? "error" };
      socket.destroy();
    });
    server.on("checkContinue", (_req, res) => {
      last = { error: "expect" };
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, start) => {
        const buf = Buffer.from(bytes);
        const v = readRpcHead(buf, start % (buf.length + 1), LIMITS);
        expect(["partial", "other", "take"]).toContain(v.kind);
      }),
      { numRuns: 2000 },
    );
  });

  it("takes a mutated head only as Node parses it, and every prefix of it is partial", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedHead, async (head) => {
        const v = readRpcHead(head, 0, LIMITS);
        if (v.kind !== "take") return;
        for (let n = 0; n < v.bodyStart; n++) expect(readRpcHead(head.subarray(0, n), 0, LIMITS).kind).toBe("partial");
        const body = Buffer.alloc(v.bodyLength, 0x61);
        const seen = await nodeSees(Buffer.concat([head.subarray(0, v.bodyStart), body]));
        expect(seen).toEqual({ method: "POST", url: "/", version: "1.1", bodyLength: v.bodyLength });
      }),
      { numRuns: 600 },
    );
  });

  it("takes the blanks around a Content-Length's digits that Node takes", async () => {
    for (const value of ["\t1", " \t 1  ", "1 ", "1\t", "1 \t", "\t1\t"]) {
      const head = Buffer.from(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length:${value}\r\n\r\n`, "latin1");
      const v = readRpcHead(head, 0, LIMITS);
      const seen = await nodeSees(Buffer.concat([head, Buffer.from("a")]));
      if (v.kind === "take") expect(seen).toEqual({ method: "POST", url: "/", version: "1.1", bodyLength: 1 });
      else expect(seen.error).toBe("HPE_INVALID_CONTENT_LENGTH");
    }
  });

  it("reads the body bounds after a head with leading bytes", () => {
    const head = Buffer.from("xxPOST / HTTP/1.1\r\nHost: h\r\ncontent-length:  12 \r\n\r\n");
    expect(readRpcHead(head, 2, LIMITS)).toEqual({ kind: "take", bodyStart: head.length, bodyLength: 12 });
  });

  it("hands off what it does not take", () => {
    const other = (lines: string[]) =>
      expect(readRpcHead(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), 0, LIMITS).kind).toBe("other");
    other(["POST / HTTP/1.1", "Content-Length: 1"]); // no Host
    other(["POST / HTTP/1.1", "Host: a", "Host: b", "Content-Length: 1"]);
    other(["POST / HTTP/1.1", "Host: a"]); // no Content-Length
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Content-Length: 1"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 4097"]); // over the body limit
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: +1"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1\t"]); // llhttp: invalid character
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1 \t "]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Connection: close"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: 100-continue"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Transfer-Encoding: identity"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Upgrade: h2c"]);
    other(["POST / HTTP/1.0", "Host: a", "Content-Length: 1"]);
    other(["POST /x HTTP/1.1", "Host: a", "Content-Length: 1"]);
    other(["GET / HTTP/1.1", "Host: a"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "X: \u00e9"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "X : 1"]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", `X: ${"a".repeat(LIMITS.maxHeadBytes)}`]);
    other(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", ...Array(LIMITS.maxHeaders).fill("X: 1")]);
    expect(readRpcHead(Buffer.from(`POST / HTTP/1.1\r\nX: ${"a".repeat(LIMITS.maxHeadBytes)}`), 0, LIMITS).kind).toBe(
      "other",
    );
  });
});
