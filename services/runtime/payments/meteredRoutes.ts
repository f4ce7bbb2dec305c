import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { receiptHeader } from "../../client/payments.js";
import { RECEIPT_SESSION_HEADER } from "../../client/receiptSession.js";
import { monoUs } from "../callTrace.js";
import { readAlignedBody } from "./alignedBody.js";
import {
  answerMetered,
  BODY_LIMIT,
  beginMetered,
  type MeteredRequest,
  type MeteredRouteDeps,
  meteredError,
  type Paying,
  releaseHold,
} from "./meteredCall.js";
import { installMeteredFront } from "./meteredFront.js";

/**
 * Metered inference on the worker's HTTP port: `POST /v1/infer/<model>` runs the `ai/onnx` handler on the request
 * body (an AZT1 tensor container) and answers with the output and its result hash — sha256 of the output bytes,
 * the hash an on-chain `ai/onnx` job of the same model and input would commit, so a payer who doubts an answer
 * can post the same input as a job with replay verification. Each request pays by a signed receipt
 * (`x-azora-receipt`) against the payer's deposit in the market; vouchers go to `POST /v1/payments/vouchers`.
 */
export {
  METERED_KIND,
  MeteredCode,
  type MeteredRouteDeps,
  PAYMENT_HEADER,
  RESULT_HASH_HEADER,
  SERVER_TIMING_HEADER,
} from "./meteredCall.js";

/** A fastify request's head as a metered call reads it. */
const requestOf = (req: {
  params: unknown;
  headers: Record<string, string | string[] | undefined>;
}): MeteredRequest => {
  const session = req.headers[RECEIPT_SESSION_HEADER];
  const accept = req.headers.accept;
  return {
    model: (req.params as { model: string }).model.toLowerCase().replace(/^0x/, ""),
    receipt: receiptHeader(req.headers),
    session: Array.isArray(session) ? session[0] : session,
    accept: Array.isArray(accept) ? undefined : accept,
  };
};

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
      const a = await meteredError(e, req as Paying);
      return reply.status(a.status).send(a.body);
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
          beginMetered(d, requestOf(req), req as Paying);
          done();
        },
      },
      async (req, reply) => {
        const a = await answerMetered(d, requestOf(req), req as Paying, req.body, recordRun);
        reply.status(a.status as 200); // the schema lists each status the call answers
        for (const [name, value] of a.headers) reply.header(name, value);
        return a.body;
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
  if (d.front ?? true) installMeteredFront(app, d, recordRun);
}
