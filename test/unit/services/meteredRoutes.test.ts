import { createHash } from "node:crypto";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { RECEIPT_HEADER } from "../../../services/client/payments.js";
import { CALL_TRACE_ENV, CALL_TRACE_HEADER, parseStamps } from "../../../services/runtime/callTrace.js";
import { type JobHandler, JobInputError } from "../../../services/runtime/handler.js";
import { type MeteredPayee, PaymentError, PaymentErrorCode } from "../../../services/runtime/payments/meteredPayee.js";
import { RESULT_HASH_HEADER, registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";

// The metered route's wiring with stand-ins for the payee and the handler (the payee's rules are tested on a real
// chain in test/search/paidQueries.test.ts and test/e2e/meteredInference.e2e.test.ts): a model priced 0 is served
// without a receipt and without touching the payee; a priced one is refused without a receipt; bytes in, bytes out.
const FREE = "aa".repeat(32);
const PAID = "bb".repeat(32);

async function app() {
  const charged: (string | undefined)[] = [];
  const holds = { released: 0, committed: 0 };
  const payee = {
    payee: "0x0000000000000000000000000000000000000001",
    voucherEvery: 10,
    async hold(header: string | undefined, _price: bigint) {
      charged.push(header);
      if (header === undefined)
        throw new PaymentError({ code: PaymentErrorCode.PAYMENT_REQUIRED, reason: "send a receipt" });
      const payer = "0x0000000000000000000000000000000000000002";
      let open = true; // as the real payee's: a hold is let go or committed once
      return {
        payer,
        release: () => {
          if (open) holds.released++;
          open = false;
        },
        commit: () => {
          open = false;
          holds.committed++;
          return { payer, account: { accepted: 1n, receipts: 1, vouchered: 0n, redeemed: 0n }, voucherRequest: null };
        },
      };
    },
    summary: () => [],
  } as unknown as MeteredPayee;
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    // echoes the input reversed: shows the route hands the body's bytes to the handler unchanged
    run: async (job: { input: Uint8Array }, ctx: { signal: AbortSignal }) => {
      if (job.input[0] === 0xee) throw new JobInputError("TENSOR_SHAPE", "not a tensor this model takes");
      // a handler that reads its signal gets a live one (made on the read: deadlineSignal.ts)
      if (job.input[0] === 0xab && !(ctx.signal instanceof AbortSignal && !ctx.signal.aborted))
        throw new Error("no live signal");
      // 0x70 / 0x71: as the ai/onnx kind reports a run on an inference thread / inline
      const inline = job.input[0] === 0x70 ? false : job.input[0] === 0x71 ? true : undefined;
      return { bytes: Uint8Array.from(job.input).reverse(), contentType: "application/octet-stream", inline };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  const f = Fastify();
  const requests: string[] = [];
  await registerMeteredRoutes(f, {
    payee,
    handler,
    priceOf: (m) => (m === FREE ? 0n : m === PAID ? 5n : null),
    onRequest: (outcome) => requests.push(outcome),
  });
  return { f, charged, holds, requests };
}

const post = (f: Awaited<ReturnType<typeof app>>["f"], model: string, headers: Record<string, string> = {}) =>
  f.inject({
    method: "POST",
    url: `/v1/infer/0x${model}`,
    headers: { "content-type": "application/octet-stream", accept: "application/octet-stream", ...headers },
    payload: Buffer.from([1, 2, 3]),
  });

describe("metered routes", () => {
  it("a model priced 0 is served with no receipt and no charge; a priced one needs a receipt", async () => {
    const { f, charged } = await app();
    const free = await post(f, FREE);
    expect(free.statusCode).toBe(200);
    expect([...free.rawPayload]).toEqual([3, 2, 1]);
    expect(free.headers[RESULT_HASH_HEADER]).toBe(
      `0x${createHash("sha256")
        .update(Uint8Array.of(3, 2, 1))
        .digest("hex")}`,
    );
    expect(charged).toEqual([]);
    const bare = await post(f, PAID);
    expect(bare.statusCode).toBe(402);
    expect(bare.json()).toMatchObject({ code: "PAYMENT_REQUIRED" });
    const ok = await post(f, PAID, { [RECEIPT_HEADER]: "r" });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.headers["x-azora-payment"] as string)).toMatchObject({ price: "5", receipts: 1 });
    expect(charged).toEqual([undefined, "r"]);
    expect((await post(f, "cc".repeat(32))).statusCode).toBe(404);
    await f.close();
  });

  it("records each run's outcome for /metrics once answered, a bad input's too; a handler reading its signal gets one", async () => {
    const { f, requests } = await app();
    try {
      const body = (b: number[]) =>
        f.inject({
          method: "POST",
          url: `/v1/infer/0x${FREE}`,
          headers: { "content-type": "application/octet-stream" },
          payload: Buffer.from(b),
        });
      expect((await body([1, 2])).statusCode).toBe(200);
      expect((await body([0xab, 1])).statusCode).toBe(200);
      const bad = await body([0xee, 1]);
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: "METERED_BAD_INPUT:TENSOR_SHAPE" });
      await new Promise((r) => setImmediate(r)); // recorded once each answer is written
      expect(requests).toEqual(["ok", "ok", "bad_input"]);
    } finally {
      await f.close();
    }
  });

  it("flags a traced call whose model ran on an inference thread (pooled=1), not an inline one", async () => {
    const { f } = await app();
    process.env[CALL_TRACE_ENV] = "1";
    try {
      const traced = async (first: number) => {
        const r = await f.inject({
          method: "POST",
          url: `/v1/infer/0x${PAID}`,
          headers: { "content-type": "application/octet-stream", [RECEIPT_HEADER]: "r" },
          payload: Buffer.from([first, 1]),
        });
        expect(r.statusCode).toBe(200);
        return parseStamps(r.headers[CALL_TRACE_HEADER] as string);
      };
      expect((await traced(0x70)).pooled).toBe(1);
      expect((await traced(0x71)).pooled).toBeUndefined();
      expect((await traced(1)).pooled).toBeUndefined(); // a handler that does not say
    } finally {
      delete process.env[CALL_TRACE_ENV];
      await f.close();
    }
  });

  it("answers its stamps of the call in order with AZORA_CALL_TRACE=1, and no trace header without it", async () => {
    const { f } = await app();
    try {
      expect((await post(f, PAID, { [RECEIPT_HEADER]: "r" })).headers[CALL_TRACE_HEADER]).toBeUndefined();
      process.env[CALL_TRACE_ENV] = "1";
      const t = parseStamps((await post(f, PAID, { [RECEIPT_HEADER]: "r" })).headers[CALL_TRACE_HEADER] as string);
      const order = ["head", "bodyFirst", "bodyLast", "body", "handler", "held", "commit0", "commit1", "ran", "reply"];
      const check = ["head", "holdCalled", "holdDone", "held"]; // the receipt's check, beside the body's reading
      // the stand-in handler reports no model stamps
      expect(Object.keys(t).sort()).toEqual([...order, "holdCalled", "holdDone"].sort());
      for (const seq of [order, check])
        for (let i = 1; i < seq.length; i++) expect(t[seq[i]], seq[i]).toBeGreaterThanOrEqual(t[seq[i - 1]]);
    } finally {
      delete process.env[CALL_TRACE_ENV];
      await f.close();
    }
  });

  it("journals a receipt only once its run has an output: a run that fails lets the hold go uncharged", async () => {
    const { f, holds } = await app();
    const bad = await f.inject({
      method: "POST",
      url: `/v1/infer/0x${PAID}`,
      headers: { "content-type": "application/octet-stream", [RECEIPT_HEADER]: "r" },
      payload: Buffer.from([0xee, 1]), // the stand-in's input error, a few microtasks into its run
    });
    expect(bad.statusCode).toBe(400);
    expect(holds).toEqual({ released: 1, committed: 0 });
    expect((await post(f, PAID, { [RECEIPT_HEADER]: "r" })).statusCode).toBe(200);
    expect(holds).toEqual({ released: 1, committed: 1 });
    await f.close();
  });

  it("a body longer than the limit, or shorter than its content-length, is a 4xx with a code and runs nothing", async () => {
    const { f, charged, holds } = await app();
    const send = (model: string, contentLength: number) =>
      f.inject({
        method: "POST",
        url: `/v1/infer/0x${model}`,
        headers: {
          "content-type": "application/octet-stream",
          accept: "application/octet-stream",
          "content-length": String(contentLength),
          [RECEIPT_HEADER]: "r",
        },
        payload: Buffer.from([1, 2, 3]),
      });
    const over = await send(FREE, 64 * 1024 * 1024 + 1);
    expect(over.statusCode).toBe(413);
    expect(over.json()).toMatchObject({ code: "METERED_BAD_REQUEST" });
    for (const model of [FREE, PAID]) {
      const short = await send(model, 10);
      expect(short.statusCode).toBe(400);
      expect(short.json()).toMatchObject({ code: "METERED_BAD_REQUEST", message: /shorter than its content-length/ });
    }
    // the receipt's hold starts with the request's head (the 413 was a free model: none), and a body that fails
    // lets it go unpaid
    expect(charged).toEqual(["r"]);
    expect(holds).toEqual({ released: 1, committed: 0 });
    await f.close();
  });
});
