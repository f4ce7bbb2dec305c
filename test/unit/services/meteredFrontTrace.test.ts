import { connect } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResponse } from "../../../bench/leanRpc.js";
import { CALL_TRACE_ENV, CALL_TRACE_HEADER, monoUs, parseStamps } from "../../../services/runtime/callTrace.js";
import type { JobHandler } from "../../../services/runtime/handler.js";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";

// The lean front's `bodyNext` stamp (issue 8, up8): the body's first read after its head's, so the bench can tell the
// loop's work after the head (a paid call's receipt check) from the body's reads. The client here sends the head
// alone, waits until the stand-in payee's check has run on the worker, and only then sends the body: a `bodyNext`
// before that moment would be a stamp of no read of the body.
const PAID = "bb".repeat(32);
const SIZE = 300_000;

/** Resolved by the stand-in payee's check, on the worker's loop while it handles the head. */
let checked: () => void = () => {};

let f: FastifyInstance;
let port: number;
beforeAll(async () => {
  process.env[CALL_TRACE_ENV] = "1";
  const payer = "0x0000000000000000000000000000000000000002";
  const account = { accepted: 5n, receipts: 1, vouchered: 0n, redeemed: 0n };
  const payee = {
    payee: "0x0000000000000000000000000000000000000001",
    voucherEvery: 10,
    hold(): Promise<unknown> {
      checked();
      return Promise.resolve({ payer, release: () => {}, commit: () => ({ payer, account, voucherRequest: null }) });
    },
  } as unknown as MeteredPayee;
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    run: async (job: { input: Uint8Array }) => ({
      bytes: Uint8Array.of(job.input[0], job.input[job.input.length - 1]),
      contentType: "application/octet-stream",
    }),
    agrees: () => true,
  } as unknown as JobHandler;
  f = Fastify({ forceCloseConnections: true });
  await registerMeteredRoutes(f, { payee, handler, priceOf: () => 5n });
  await f.listen({ port: 0, host: "127.0.0.1" });
  port = (f.server.address() as { port: number }).port;
});
afterAll(async () => {
  delete process.env[CALL_TRACE_ENV];
  await f.close();
});

describe("metered front trace (meteredFront.ts)", () => {
  it("stamps the body's first read after its head's read: after the check, not at the head", async () => {
    const socket = connect(port, "127.0.0.1");
    await new Promise((ok) => socket.once("connect", ok));
    try {
      let got = Buffer.alloc(0);
      const answer = new Promise<{ status: number; head: string }>((ok) => {
        socket.on("data", (d: Buffer) => {
          got = Buffer.concat([got, d]);
          const r = parseResponse(got);
          if (r !== null) ok({ status: r.answer.status, head: got.toString("latin1", 0, got.indexOf("\r\n\r\n")) });
        });
      });
      const body = Buffer.alloc(SIZE, 7);
      body[0] = 1;
      const checkedNow = new Promise<void>((ok) => (checked = ok));
      socket.write(
        `POST /v1/infer/0x${PAID} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
          `Accept: application/octet-stream\r\nX-Azora-Receipt: r\r\nContent-Length: ${SIZE}\r\n\r\n`,
      );
      await checkedNow;
      const sentAt = monoUs(); // no byte of the body was on its way before this
      socket.write(body);
      const a = await answer;
      expect(a.status).toBe(200);
      const trace = new RegExp(`\\r\\n${CALL_TRACE_HEADER}: *([^\\r]*)`, "i").exec(a.head)?.[1];
      const t = parseStamps(trace);
      for (const k of ["head", "holdCalled", "bodyNext", "bodyLast"]) expect(t[k], k).toBeDefined();
      expect(t.head).toBeLessThanOrEqual(t.holdCalled);
      expect(t.holdCalled).toBeLessThanOrEqual(sentAt);
      expect(t.bodyNext).toBeGreaterThanOrEqual(sentAt);
      expect(t.bodyLast).toBeGreaterThanOrEqual(t.bodyNext);
    } finally {
      socket.destroy();
    }
  });
});
