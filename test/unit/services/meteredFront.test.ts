import { connect } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHandler, JobInputError } from "../../../services/runtime/handler.js";
import { type MeteredPayee, PaymentError, PaymentErrorCode } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";
import { exchange, finalResponses } from "../rpc/transport/rawHttp.js";

// The worker's lean path for metered calls (meteredFront.ts) against the fastify route alone: the same raw requests,
// on real sockets, get the same answers (Date and server-timing values aside) — a good call, each error, heads and
// bodies split over packets, pipelined and keep-alive calls, and the requests the front leaves to fastify.
const FREE = "aa".repeat(32);
const PAID = "bb".repeat(32);
const BODY = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);

async function start(front: boolean) {
  // Requests that reached fastify (the lean path's never do).
  let routed = 0;
  const payee = {
    payee: "0x0000000000000000000000000000000000000001",
    voucherEvery: 10,
    async hold(receipt: string | undefined) {
      // refused a little later, as a real payee's check (a body that came with its head is in by then)
      await new Promise((r) => setTimeout(r, 20));
      if (receipt !== "good") throw new PaymentError({ code: PaymentErrorCode.PAYMENT_REQUIRED, reason: "no" });
      const payer = "0x0000000000000000000000000000000000000002";
      const account = { accepted: 5n, receipts: 1, vouchered: 0n, redeemed: 0n };
      return { payer, release: () => {}, commit: () => ({ payer, account, voucherRequest: null }) };
    },
    summary: () => [],
    sessions: { publicKey: "0x" },
  } as unknown as MeteredPayee;
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    run: async (job: { input: Uint8Array }) => {
      if (job.input[0] === 0xee) throw new JobInputError("TENSOR_SHAPE", "not a tensor this model takes");
      // a slow call (0x51) shows pipelined answers keep their order
      if (job.input[0] === 0x51) await new Promise((r) => setTimeout(r, 30));
      return { bytes: Uint8Array.from(job.input).reverse(), contentType: "application/octet-stream" };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  const f: FastifyInstance = Fastify({ forceCloseConnections: true });
  f.addHook("onRequest", async () => {
    routed++;
  });
  await registerMeteredRoutes(f, {
    payee,
    handler,
    priceOf: (m) => (m === FREE ? 0n : m === PAID ? 5n : null),
    front,
  });
  await f.listen({ port: 0, host: "127.0.0.1" });
  return { f, port: (f.server.address() as { port: number }).port, routed: () => routed };
}

function call(model: string, extra: string[] = [], body: Buffer = BODY, type = "application/octet-stream"): Buffer {
  const head = [`POST /v1/infer/0x${model} HTTP/1.1`, "Host: x", `Content-Type: ${type}`, ...extra];
  head.push(`Content-Length: ${body.length}`, "", "");
  return Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), body]);
}

/** The response text without what varies between runs: Date and the server-timing durations. */
const same = (text: string) => text.replace(/\r\nserver-timing: [^\r]*/g, "\r\nserver-timing: -");

let lean: Awaited<ReturnType<typeof start>>;
let plain: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  [lean, plain] = await Promise.all([start(true), start(false)]);
});
afterAll(async () => {
  await Promise.all([lean.f.close(), plain.f.close()]);
});

/**
 * Sends `bytes` (cut at `cuts`) to both servers, then, once `answers` answers came, a `Connection: close` GET that
 * ends the exchange; returns both transcripts after checking they are equal, and how many requests each routed.
 */
async function both(bytes: Buffer, answers: number, cuts: number[] = []) {
  const end = Buffer.from("GET /v1/payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const before = [lean.routed(), plain.routed()];
  const [a, b] = await Promise.all([
    exchange(lean.port, bytes, cuts, answers, end),
    exchange(plain.port, bytes, cuts, answers, end),
  ]);
  expect(same(a)).toBe(same(b));
  expect(finalResponses(a)).toBe(answers + 1);
  return { text: a, leanRouted: lean.routed() - before[0], plainRouted: plain.routed() - before[1] };
}

describe("metered lean path (meteredFront.ts) against fastify's route", () => {
  it("answers a good call like fastify, raw bytes or JSON, without fastify", async () => {
    const raw = await both(call(FREE, ["Accept: application/octet-stream"]), 1);
    expect(raw.text).toContain("HTTP/1.1 200 OK");
    expect(raw.text).toContain("content-type: application/octet-stream");
    expect(raw.text).toContain(Buffer.from(BODY).reverse().toString("latin1"));
    expect(raw.leanRouted).toBe(1); // only the closing GET
    expect(raw.plainRouted).toBe(2);
    const json = await both(call(PAID, ["X-Azora-Receipt: good"]), 1);
    expect(json.text).toContain('"payment":{"payer":"0x0000000000000000000000000000000000000002","price":"5"');
    expect(json.leanRouted).toBe(1);
  });

  it("answers each error like fastify: no receipt, a bad receipt, a model not offered, a bad tensor", async () => {
    const cases: [Buffer, string][] = [
      [call(PAID), "402 Payment Required"],
      [call(PAID, ["X-Azora-Receipt: bad"]), "402 Payment Required"],
      [call("cc".repeat(32)), "404 Not Found"],
      [call(FREE, [], Buffer.from([0xee, 1, 2])), "400 Bad Request"],
    ];
    for (const [bytes, status] of cases) {
      const r = await both(bytes, 1);
      expect(r.text).toContain(`HTTP/1.1 ${status}`);
      expect(r.leanRouted).toBe(1);
    }
  });

  it("takes heads and bodies split over packets", async () => {
    const bytes = call(FREE, ["Accept: application/octet-stream"]);
    for (const cuts of [[1], [20, 40], [bytes.length - BODY.length - 2], [bytes.length - 5, bytes.length - 1]]) {
      const r = await both(bytes, 1, cuts);
      expect(r.text).toContain("HTTP/1.1 200 OK");
      expect(r.leanRouted).toBe(1);
    }
  });

  it("answers pipelined calls in order, then keeps the connection for the next", async () => {
    const slow = Buffer.from(BODY);
    slow[0] = 0x51;
    const bytes = Buffer.concat([call(FREE, [], slow), call(PAID, ["X-Azora-Receipt: good"]), call(FREE)]);
    const r = await both(bytes, 3);
    const outputs = [...r.text.matchAll(/"output":"([^"]*)"/g)].map((m) => m[1]);
    expect(outputs).toEqual([slow, BODY, BODY].map((b) => Buffer.from(b).reverse().toString("base64")));
    expect(r.leanRouted).toBe(1);
  });

  it("reads large bodies straight into their buffers, split anywhere or pipelined, with its own reads", async () => {
    // 300 KB: past the 16 KiB scratch a head is read into, so the body's rest is read into its own buffer
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    const bytes = call(FREE, ["Accept: application/octet-stream"], big);
    const head = bytes.length - big.length;
    for (const cuts of [[], [head - 3], [head + 1], [head + 20_000, head + 20_001], [bytes.length - 1]]) {
      const r = await both(bytes, 1, cuts);
      expect(r.text).toContain(Buffer.from(big).reverse().toString("latin1"));
      expect(r.leanRouted).toBe(1);
    }
    const second = Buffer.from(big.subarray(0, 40_000)).reverse();
    const piped = Buffer.concat([bytes, call(FREE, [], second), call(FREE)]);
    const r = await both(piped, 3, [head + 16_000, bytes.length + 100]);
    expect(r.leanRouted).toBe(1);
    // the front's sockets are read through its callback: no 'data' listener (Node's own path has one)
    const listeners: number[] = [];
    const count = (s: { listenerCount(e: string): number }) => listeners.push(s.listenerCount("data"));
    lean.f.server.once("connection", count);
    plain.f.server.once("connection", count);
    await both(call(FREE), 1);
    expect(listeners.sort()).toEqual([0, 1]);
  });

  it("hands an upgrade on after a taken call: the bytes after it still reach Node's socket", async () => {
    // After a hand-off, Node's parser reads the socket, until an upgrade gives it back to the stream: own reads then
    // reach the stream as 'data' (an echo here), as Node's reads would.
    const echo = (_req: unknown, socket: import("node:net").Socket, head: Buffer): void => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
      if (head.length > 0) socket.write(head);
      socket.on("data", (d: Buffer) => socket.write(d));
      socket.on("end", () => socket.end());
    };
    const upgrade = Buffer.from("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    const run = (port: number) =>
      new Promise<string>((resolve) => {
        const c = connect(port, "127.0.0.1", () => c.write(call(FREE)));
        let got = "";
        let asked = false;
        let sent = false;
        c.on("data", (d: Buffer) => {
          got += d.toString("latin1");
          if (!asked && finalResponses(got) === 1) {
            asked = true; // the call answered: now the upgrade, on the same connection
            c.write(upgrade);
          }
          if (!sent && got.includes("101 Switching")) {
            sent = true;
            setTimeout(() => c.write("ping after the upgrade"), 20);
          }
          if (got.includes("ping after the upgrade")) c.end();
        });
        c.on("error", () => {});
        c.on("close", () => resolve(got));
      });
    lean.f.server.on("upgrade", echo);
    plain.f.server.on("upgrade", echo);
    try {
      const [a, b] = await Promise.all([run(lean.port), run(plain.port)]);
      expect(same(a).replace(/Date: [^\r]*/g, "")).toBe(same(b).replace(/Date: [^\r]*/g, ""));
      expect(a).toMatch(/HTTP\/1\.1 200 OK[\s\S]*101 Switching Protocols[\s\S]*ping after the upgrade$/);
    } finally {
      lean.f.server.off("upgrade", echo);
      plain.f.server.off("upgrade", echo);
    }
  });

  it("answers a receipt refused while the body uploads at once, and closes, like fastify", async () => {
    const bytes = call(PAID, ["X-Azora-Receipt: bad"], Buffer.alloc(4096, 1));
    const half = bytes.subarray(0, bytes.length - 2048);
    const [a, b] = await Promise.all([exchange(lean.port, half), exchange(plain.port, half)]);
    expect(same(a)).toBe(same(b));
    expect(a).toMatch(/^HTTP\/1\.1 402 Payment Required\r\nconnection: close\r\n/);
  });

  it("leaves to fastify, with its answers: other content types, Expect, chunked, oversized, malformed, GET", async () => {
    const chunked = Buffer.from(
      `POST /v1/infer/0x${FREE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n${BODY.length.toString(16)}\r\n${BODY.toString("latin1")}\r\n0\r\n\r\n`,
      "latin1",
    );
    const cases: [Buffer, number][] = [
      [call(FREE, [], BODY, "text/plain"), 1],
      [call(FREE, [], BODY, "Application/Octet-Stream"), 1],
      [call(FREE, ["Expect: 100-continue"]), 1],
      [chunked, 1],
      [call(FREE, [], Buffer.alloc(0)), 1],
      [call("ab"), 1],
      [Buffer.from("GET /v1/payments HTTP/1.1\r\nHost: x\r\n\r\n"), 1],
    ];
    for (const [bytes, answers] of cases) {
      const r = await both(bytes, answers);
      expect(r.leanRouted).toBe(answers + 1);
    }
    // oversized (past the 64 MiB body limit) and malformed: fastify's and Node's answers, the connection closed
    const big = Buffer.from(
      `POST /v1/infer/0x${FREE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n`,
    );
    for (const bytes of [big, Buffer.from(`POST /v1/infer/0x${FREE} HTTP/1.1\r\nHost x\r\n\r\n`)]) {
      const [a, b] = await Promise.all([exchange(lean.port, bytes), exchange(plain.port, bytes)]);
      expect(same(a)).toBe(same(b));
      expect(a).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
  });
});
