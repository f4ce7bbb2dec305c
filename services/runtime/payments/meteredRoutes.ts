import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { encodeSigned, receiptHeader, VOUCHER_REQUEST_HEADER } from "../../client/payments.js";
import { RECEIPT_SESSION_HEADER } from "../../client/receiptSession.js";
import { CALL_TRACE_HEADER, callTraceOn, formatStamps, monoUs } from "../callTrace.js";
import { sha256Hex } from "../content/cid.js";
import { deadlineContext } from "../deadlineSignal.js";
import { type JobHandler, JobInputError } from "../handler.js";
import { readAlignedBody } from "./alignedBody.js";
import { type Charged, type Hold, type MeteredPayee, PaymentError, PaymentErrorCode } from "./meteredPayee.js";

/**
 * Metered inference on the worker's HTTP port: `POST /v1/infer/<model>` runs the `ai/onnx` handler on the request
 * body (an AZT1 tensor container) and answers with the output and its result hash — sha256 of the output bytes,
 * the hash an on-chain `ai/onnx` job of the same model and input would commit, so a payer who doubts an answer
 * can post the same input as a job with replay verification. Each request pays by a signed receipt
 * (`x-azora-receipt`) against the payer's deposit in the market; vouchers go to `POST /v1/payments/vouchers`.
 */
export const METERED_KIND = "ai/onnx";

/** With `accept: application/octet-stream` the output is the body, and these headers carry the rest. */
export const RESULT_HASH_HEADER = "x-azora-result-hash";
export const PAYMENT_HEADER = "x-azora-payment";
/**
 * Where a call's time went on the worker (ms): `recv` (the body's upload and parse, from the request's head),
 * `pay` (what the receipt check, started at the head and run during the upload, still takes once the body is in,
 * plus its journal write, `commit`), `run` (queue + model, from its start), `model` (onnxruntime's own run inside `run`, where it ran:
 * `run` − `model` is the handler's decode, queue, thread hops and encode), `hash`.
 */
export const SERVER_TIMING_HEADER = "server-timing";
/** Longest a metered run may take (its job context's signal aborts then). */
const RUN_TIMEOUT_MS = 60_000;
/** Largest request body (an AZT1 container). */
const BODY_LIMIT = 64 * 1024 * 1024;

/** Error codes of the metered routes (the `code` of a 4xx body). */
export const MeteredCode = {
  PAYMENT_REQUIRED: PaymentErrorCode.PAYMENT_REQUIRED,
  BAD_VOUCHER: PaymentErrorCode.BAD_VOUCHER,
  MODEL_NOT_OFFERED: "METERED_MODEL_NOT_OFFERED",
  BAD_INPUT: "METERED_BAD_INPUT",
} as const;

const STATUS: Record<PaymentErrorCode, number> = {
  [PaymentErrorCode.PAYMENT_REQUIRED]: 402,
  [PaymentErrorCode.BAD_VOUCHER]: 400,
  [PaymentErrorCode.SESSION_UNKNOWN]: 402,
};

/** A request's signed receipt-session open, if it carries one. */
const sessionOpen = (req: { headers: Record<string, string | string[] | undefined> }) => {
  const h = req.headers[RECEIPT_SESSION_HEADER];
  return Array.isArray(h) ? h[0] : h;
};

export interface MeteredRouteDeps {
  payee: MeteredPayee;
  handler: JobHandler;
  /** Wei per request for a model id (lowercase hex, no 0x), or null when the model is not offered. */
  priceOf(model: string): bigint | null;
  /** Requests by outcome and handler time, for /metrics (called after the answer is written). */
  onRequest?(outcome: string, ms: number): void;
}

const Err = Type.Object({ code: Type.String(), message: Type.String() });
const Payment = Type.Object({
  payer: Type.String(),
  price: Type.String({ description: "wei charged for this request" }),
  accepted: Type.String({ description: "wei in this payer's accepted receipts, all time" }),
  receipts: Type.Integer(),
  vouchered: Type.String({ description: "the payer's latest voucher total (wei)" }),
  redeemed: Type.String({ description: "wei redeemed on chain so far" }),
});
const InferResponse = Type.Object({
  model: Type.String({ description: "0x + the model's sha256" }),
  kind: Type.String(),
  contentType: Type.String(),
  output: Type.String({ description: "the canonical output (AZT1 tensor container), base64" }),
  resultHash: Type.String({ description: "sha256 of the output: what an on-chain job would commit" }),
  payment: Payment,
});
export type InferResponseBody = Static<typeof InferResponse>;

/**
 * A metered request's state between its hooks: when its head arrived (`recv` in server-timing is the body's upload
 * and parse, up to the handler) and its receipt's hold, started then (null for a free model).
 */
interface Paying {
  arrivedAt?: number;
  holding?: Promise<Hold> | null;
  /**
   * With `AZORA_CALL_TRACE=1`: the worker's stamps of the call (µs, monotonic clock), answered in `x-azora-trace` —
   * `head` (the request's head parsed), `holdCalled` / `holdDone` (the receipt's check: its part on the loop before
   * its first await returned, and its hold in), `bodyFirst` / `bodyLast` (its first and last body chunk read), `body` (the
   * body whole), `handler`, `held` (the receipt's hold in), `commit0` / `commit1` (its journal row), `model0` /
   * `model1` (onnxruntime's run, where it ran), `ran` (the handler's result back), `reply` (the answer handed to
   * fastify to write); and `pooled` = 1, a flag rather than a time, when the model ran on an inference thread.
   */
  trace?: Record<string, number>;
}

/** The model id of a request's path parameter: lowercase hex, no 0x. */
const modelOf = (req: { params: unknown }) => (req.params as { model: string }).model.toLowerCase().replace(/^0x/, "");

/** Lets a request's hold go if it is still open (after a commit it is closed, and this does nothing). */
const releaseHold = (req: Paying): Promise<void> =>
  req.holding
    ? req.holding.then(
        (h) => h.release(),
        () => {},
      )
    : Promise.resolve();

/** The accounting of a free model's answer (price 0: no payer, nothing accepted). */
const FREE = { payer: "", price: "0", accepted: "0", receipts: 0, vouchered: "0", redeemed: "0" };

export async function registerMeteredRoutes(app: FastifyInstance, d: MeteredRouteDeps): Promise<void> {
  // A run's outcome reaches /metrics after the answer is written (the handler's return sends it in the same
  // microtask chain; an immediate runs after), not on the call's path — and whether or not the client stayed.
  const recordRun = (outcome: string, ms: number) => {
    if (d.onRequest !== undefined) setImmediate(d.onRequest, outcome, ms);
  };
  await app.register(async (scope) => {
    // The body in one buffer with the first tensor's data 8-byte aligned: decoded in place, moved to the
    // inference thread without a copy (alignedBody.ts).
    scope.addContentTypeParser(
      ["application/octet-stream", "application/x-azora-tensors"],
      { bodyLimit: BODY_LIMIT },
      (req, payload, done) => {
        // A receipt refused while the body is still arriving answers 402 at once, without buffering the rest.
        const holding = (req as Paying).holding;
        const trace = (req as Paying).trace;
        if (trace) {
          payload.on("data", () => {
            trace.bodyLast = monoUs();
            trace.bodyFirst ??= trace.bodyLast;
          });
        }
        const stop = new AbortController();
        holding?.catch((e: unknown) => stop.abort(e));
        readAlignedBody(payload as unknown as typeof req.raw, BODY_LIMIT, stop.signal).then(
          (b) => {
            if (trace) trace.body = monoUs();
            done(null, b);
          },
          (e: Error) => done(e, undefined),
        );
      },
    );
    // A hold that no answer committed (the body failed or was aborted, the request was refused before its handler)
    // is let go, so its receipt can pay for a retry. The error handler lets it go before it answers (a client
    // that retries on the error finds it free); the other two are backstops.
    scope.addHook("onRequestAbort", (req, done) => {
      void releaseHold(req as Paying);
      done();
    });
    scope.addHook("onResponse", (req, _reply, done) => {
      void releaseHold(req as Paying);
      done();
    });
    scope.setErrorHandler(async (e, req, reply) => {
      await releaseHold(req as Paying);
      if (e instanceof PaymentError) return reply.status(STATUS[e.code]).send({ code: e.code, message: e.message });
      if (e instanceof JobInputError)
        return reply.status(400).send({ code: `${MeteredCode.BAD_INPUT}:${e.code}`, message: e.message });
      const status = (e as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500)
        return reply.status(status).send({ code: "METERED_BAD_REQUEST", message: (e as Error).message });
      return reply.status(500).send({ code: "METERED_INTERNAL", message: "internal error" });
    });

    scope.post(
      "/v1/infer/:model",
      {
        schema: {
          summary:
            "Run an ai/onnx model on an AZT1 tensor container (body, application/octet-stream), paid by a receipt in x-azora-receipt; with accept: application/octet-stream the output is the raw body and x-azora-result-hash / x-azora-payment (JSON) carry the hash and accounting",
          tags: ["metered"],
          params: Type.Object({ model: Type.String({ pattern: "^(0x)?[0-9a-fA-F]{64}$" }) }),
          response: { 200: InferResponse, 400: Err, 402: Err, 404: Err },
        },
        // When the request's head arrives: the time (`recv`), and the receipt's check, which then runs while the
        // body uploads (its signature recovery, journal lookups and deposit reading overlap the upload instead of
        // following it). A callback hook, not an async one: the body's reading must start in the same tick.
        onRequest: (req, _reply, done) => {
          const r = req as Paying;
          r.arrivedAt = performance.now();
          if (callTraceOn()) r.trace = { head: monoUs() };
          const price = d.priceOf(modelOf(req));
          if (price !== null && price > 0n) {
            r.holding = d.payee.hold(receiptHeader(req.headers), price, sessionOpen(req));
            r.holding.catch(() => {}); // seen here; awaited by the body parser and the handler
            const trace = r.trace;
            if (trace) {
              trace.holdCalled = monoUs(); // the check's part on the loop before its first await
              r.holding.then(
                () => {
                  trace.holdDone = monoUs();
                },
                () => {},
              );
            }
          }
          done();
        },
      },
      async (req, reply) => {
        const trace = (req as Paying).trace;
        if (trace) trace.handler = monoUs();
        const model = modelOf(req);
        const price = d.priceOf(model);
        if (price === null)
          return reply
            .status(404)
            .send({ code: MeteredCode.MODEL_NOT_OFFERED, message: `model 0x${model} is not sold per request here` });
        // Price 0 is the operator's choice to serve a model free: no receipt asked, no accounting kept.
        const t0 = performance.now();
        // The receipt was checked (signature, amount, nonce, deposit cover) and its nonce held in memory from the
        // request's head on; the model starts only once that hold is in, so unpaid or replayed work never runs. It
        // is journaled (one append to the receipt log, durable against kill -9; its SQLite rows a macrotask later)
        // while the model runs in its thread, or just before an inline run, and the answer leaves only after both
        // (see `MeteredPayee.hold`). `pay` in server-timing is what is left of the check when the body is in.
        // (A model priced after its request's head arrived has no hold yet: it is taken here.)
        const held =
          price === 0n
            ? null
            : await ((req as Paying).holding ?? d.payee.hold(receiptHeader(req.headers), price, sessionOpen(req)));
        if (trace) trace.held = monoUs();
        const body = req.body;
        if (!Buffer.isBuffer(body)) {
          held?.release();
          throw new JobInputError("BODY", "send the AZT1 container as application/octet-stream");
        }
        const started = performance.now();
        let out: Awaited<ReturnType<JobHandler["run"]>>;
        let charged: Charged | null = null;
        let paid = started;
        let committing = started;
        try {
          const input = new Uint8Array(body.buffer, body.byteOffset, body.byteLength); // a view: no copy
          // inputDisposable: nothing reads the body after this, so its buffer may move to an inference thread
          const running = d.handler.run(
            { id: 0n, kind: METERED_KIND, spec: { model: `0x${model}` }, input, inputDisposable: true },
            deadlineContext(RUN_TIMEOUT_MS), // its signal made only if the handler reads it
          );
          if (held !== null) {
            // handler.run reaches the inference thread only after a few microtasks (the model's session lookup is
            // awaited); a synchronous journal commit here would run first and delay the model by its length. One
            // macrotask later the job is posted (when its session is open), so the commit overlaps the model.
            running.catch(() => {}); // seen here; still awaited below
            await new Promise<void>((r) => setImmediate(r));
            committing = performance.now();
            if (trace) trace.commit0 = monoUs();
            charged = held.commit(); // if it throws, the answer is not sent: nothing was paid for it
            paid = performance.now();
            if (trace) trace.commit1 = monoUs();
          }
          out = await running;
          if (trace) trace.ran = monoUs();
          recordRun("ok", performance.now() - started);
        } catch (e) {
          recordRun(e instanceof JobInputError ? "bad_input" : "error", performance.now() - started);
          throw e;
        }
        if (charged?.voucherRequest) reply.header(VOUCHER_REQUEST_HEADER, encodeSigned(charged.voucherRequest, ""));
        const a = charged?.account;
        const payment =
          charged === null || a === undefined
            ? FREE
            : {
                payer: charged.payer,
                price: price.toString(),
                accepted: a.accepted.toString(),
                receipts: a.receipts,
                vouchered: a.vouchered.toString(),
                redeemed: a.redeemed.toString(),
              };
        const t2 = performance.now();
        const resultHash = out.sha256 ?? sha256Hex(out.bytes); // hashed in the inference thread when it ran there
        const ms = (x: number) => x.toFixed(2);
        reply.header(
          SERVER_TIMING_HEADER,
          `recv;dur=${ms(t0 - ((req as { arrivedAt?: number }).arrivedAt ?? t0))}, pay;dur=${ms(started - t0 + paid - committing)}, commit;dur=${ms(paid - committing)}, run;dur=${ms(t2 - started)}, ${out.modelMs === undefined ? "" : `model;dur=${ms(out.modelMs)}, `}${out.inline === undefined ? "" : `inline;dur=${out.inline ? 1 : 0}, `}hash;dur=${ms(performance.now() - t2)}`,
        );
        if (trace) {
          if (out.inline === false) trace.pooled = 1; // a flag, not a time: the bench keeps such calls apart
          if (out.modelEndUs !== undefined && out.modelMs !== undefined) {
            trace.model0 = out.modelEndUs - out.modelMs * 1e3;
            trace.model1 = out.modelEndUs;
          }
          trace.reply = monoUs();
          reply.header(CALL_TRACE_HEADER, formatStamps(trace));
        }
        if (req.headers.accept === "application/octet-stream") {
          // The output as raw bytes (no base64 round trip): hash and accounting in headers.
          reply
            .header("content-type", "application/octet-stream")
            .header(RESULT_HASH_HEADER, resultHash)
            .header(PAYMENT_HEADER, JSON.stringify(payment));
          return reply.send(Buffer.from(out.bytes.buffer, out.bytes.byteOffset, out.bytes.byteLength));
        }
        return {
          model: `0x${model}`,
          kind: METERED_KIND,
          contentType: out.contentType,
          output: Buffer.from(out.bytes).toString("base64"),
          resultHash,
          payment,
        };
      },
    );

    scope.post(
      "/v1/payments/vouchers",
      {
        schema: {
          summary: "Hand in a signed voucher (base64url JSON, as asked for in x-azora-voucher-request)",
          tags: ["metered"],
          body: Type.Object({ voucher: Type.String({ maxLength: 4096 }) }),
          response: { 200: Type.Object({ payer: Type.String(), valueAggregate: Type.String() }), 400: Err },
        },
      },
      async (req) => {
        const r = d.payee.acceptVoucher((req.body as { voucher: string }).voucher);
        return { payer: r.payer, valueAggregate: r.valueAggregate.toString() };
      },
    );

    scope.get(
      "/v1/payments",
      {
        schema: {
          summary: "Metered payments: the payee and each payer's receipts, vouchers and redemptions",
          tags: ["metered"],
          response: { 200: Type.Record(Type.String(), Type.Unknown()) },
        },
      },
      async () => ({
        payee: d.payee.payee,
        voucherEvery: d.payee.voucherEvery,
        // session-keyed receipts (services/client/receiptSession.ts): the payee's compressed public key
        receiptSessions: { version: 1, publicKey: d.payee.sessions.publicKey },
        payers: d.payee.summary(),
      }),
    );
  });
}
