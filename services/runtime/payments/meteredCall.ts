import { encodeSigned, VOUCHER_REQUEST_HEADER } from "../../client/payments.js";
import { CALL_TRACE_HEADER, callTraceOn, formatStamps, monoUs } from "../callTrace.js";
import { sha256Hex } from "../content/cid.js";
import { deadlineContext } from "../deadlineSignal.js";
import { type JobHandler, JobInputError } from "../handler.js";
import { type Charged, type Hold, type MeteredPayee, PaymentError, PaymentErrorCode } from "./meteredPayee.js";

/**
 * One metered `POST /v1/infer/<model>` call, apart from its transport: both the fastify route (meteredRoutes.ts)
 * and the worker's lean front (meteredFront.ts) read a request's head and body their own way and call these, so
 * they answer alike — `beginMetered` when the head is in, `answerMetered` with the body, `meteredError` for what
 * either throws.
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
/** Largest request body (an AZT1 container). */
export const BODY_LIMIT = 64 * 1024 * 1024;
/** Longest a metered run may take (its job context's signal aborts then). */
const RUN_TIMEOUT_MS = 60_000;

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

export interface MeteredRouteDeps {
  payee: MeteredPayee;
  handler: JobHandler;
  /** Wei per request for a model id (lowercase hex, no 0x), or null when the model is not offered. */
  priceOf(model: string): bigint | null;
  /** Requests by outcome and handler time, for /metrics (called after the answer is written). */
  onRequest?(outcome: string, ms: number): void;
  /** Answer plain calls on the worker's sockets before Node's HTTP server (meteredFront.ts); default true. */
  front?: boolean;
}

/** What a call's answer depends on in its head. */
export interface MeteredRequest {
  /** The model id: lowercase hex, no 0x. */
  model: string;
  receipt: string | undefined;
  /** A signed receipt-session open, if the request carries one. */
  session: string | undefined;
  accept: string | undefined;
}

/**
 * A metered request's state between its head and its answer: when its head arrived (`recv` in server-timing is the
 * body's upload and parse, up to the handler) and its receipt's hold, started then (null for a free model).
 */
export interface Paying {
  arrivedAt?: number;
  holding?: Promise<Hold> | null;
  /**
   * With `AZORA_CALL_TRACE=1`: the worker's stamps of the call (µs, monotonic clock), answered in `x-azora-trace` —
   * `head` (the request's head parsed), `holdCalled` / `holdDone` (the receipt's check: its part on the loop before
   * its first await returned, and its hold in), `bodyFirst` / `bodyLast` (its first and last body chunk read), `bodyNext` (the lean front only: the
   * body's first read after its head's — the loop's work between, the receipt's check, delays it), `body` (the
   * body whole), `handler`, `held` (the receipt's hold in), `commit0` / `commit1` (its journal row), `model0` /
   * `model1` (onnxruntime's run, where it ran), `ran` (the handler's result back), `reply` (the answer handed to
   * the transport to write); and `pooled` = 1, a flag rather than a time, when the model ran on an inference thread.
   */
  trace?: Record<string, number>;
  /**
   * Settles once the handler no longer reads the body (its run settled; set when the run starts): the body's buffer
   * may be reused then, and not before — the answer can come first (a commit that throws answers while it runs).
   */
  inputDone?: Promise<void>;
}

/** A call's answer: its status, headers (in order, before content-type / content-length) and body. */
export interface MeteredAnswer {
  status: number;
  headers: [string, string][];
  /** A JSON body (the route's response schema gives its fields' order), or the raw output. */
  body: object | Buffer;
}

/** The accounting of a free model's answer (price 0: no payer, nothing accepted). */
const FREE = { payer: "", price: "0", accepted: "0", receipts: 0, vouchered: "0", redeemed: "0" };

/** Lets a request's hold go if it is still open (after a commit it is closed, and this does nothing). */
export const releaseHold = (p: Paying): Promise<void> =>
  p.holding
    ? p.holding.then(
        (h) => h.release(),
        () => {},
      )
    : Promise.resolve();

/**
 * When a request's head arrives: the time (`recv`), and the receipt's check, which then runs while the body
 * uploads (its signature recovery, journal lookups and deposit reading overlap the upload instead of following it).
 */
export function beginMetered(d: MeteredRouteDeps, r: MeteredRequest, p: Paying): void {
  p.arrivedAt = performance.now();
  if (callTraceOn()) p.trace = { head: monoUs() };
  const price = d.priceOf(r.model);
  if (price === null || price === 0n) return;
  p.holding = d.payee.hold(r.receipt, price, r.session);
  p.holding.catch(() => {}); // seen here; awaited by the body's reader and the handler
  const trace = p.trace;
  if (trace) {
    trace.holdCalled = monoUs(); // the check's part on the loop before its first await
    p.holding.then(
      () => {
        trace.holdDone = monoUs();
      },
      () => {},
    );
  }
}

/** A call's answer once its body is in; throws what `meteredError` answers. `recordRun` takes its outcome. */
export async function answerMetered(
  d: MeteredRouteDeps,
  r: MeteredRequest,
  p: Paying,
  body: unknown,
  recordRun: (outcome: string, ms: number) => void,
): Promise<MeteredAnswer> {
  const trace = p.trace;
  if (trace) trace.handler = monoUs();
  const model = r.model;
  const price = d.priceOf(model);
  if (price === null)
    return {
      status: 404,
      headers: [],
      body: { code: MeteredCode.MODEL_NOT_OFFERED, message: `model 0x${model} is not sold per request here` },
    };
  // Price 0 is the operator's choice to serve a model free: no receipt asked, no accounting kept.
  const t0 = performance.now();
  // The receipt was checked (signature, amount, nonce, deposit cover) and its nonce held in memory from the
  // request's head on; the model starts only once that hold is in, so unpaid or replayed work never runs. It
  // is journaled (one append to the receipt log, durable against kill -9; its SQLite rows a macrotask later)
  // while the model runs in its thread, or just before an inline run, and the answer leaves only after both
  // (see `MeteredPayee.hold`). `pay` in server-timing is what is left of the check when the body is in.
  // (A model priced after its request's head arrived has no hold yet: it is taken here.)
  const held = price === 0n ? null : await (p.holding ?? d.payee.hold(r.receipt, price, r.session));
  if (trace) trace.held = monoUs();
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
    let failed = false;
    // (its rejection is seen here too; still awaited below)
    p.inputDone = running.then(noop, () => {
      failed = true;
    });
    if (held !== null) {
      // handler.run reaches the inference thread only after a few microtasks (the model's session lookup is
      // awaited); a synchronous journal commit here would run first and delay the model by its length. One
      // macrotask later the job is posted (when its session is open), so the commit overlaps the model.
      await new Promise<void>((res) => setImmediate(res));
      // A run refused by then (its input's decode or checks, a few microtasks in) served nothing: its hold is let
      // go with the error's answer, uncharged. One that fails later (in onnxruntime, on its thread, or while its
      // model loads) is charged, as the commit overlaps the run (README, issue 8, pre8).
      if (failed) await running;
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
  const headers: [string, string][] = [];
  if (charged?.voucherRequest) headers.push([VOUCHER_REQUEST_HEADER, encodeSigned(charged.voucherRequest, "")]);
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
  headers.push([
    SERVER_TIMING_HEADER,
    `recv;dur=${ms(t0 - (p.arrivedAt ?? t0))}, pay;dur=${ms(started - t0 + paid - committing)}, commit;dur=${ms(paid - committing)}, run;dur=${ms(t2 - started)}, ${out.modelMs === undefined ? "" : `model;dur=${ms(out.modelMs)}, `}${out.inline === undefined ? "" : `inline;dur=${out.inline ? 1 : 0}, `}hash;dur=${ms(performance.now() - t2)}`,
  ]);
  if (trace) {
    if (out.inline === false) trace.pooled = 1; // a flag, not a time: the bench keeps such calls apart
    if (out.modelEndUs !== undefined && out.modelMs !== undefined) {
      trace.model0 = out.modelEndUs - out.modelMs * 1e3;
      trace.model1 = out.modelEndUs;
    }
    trace.reply = monoUs();
    headers.push([CALL_TRACE_HEADER, formatStamps(trace)]);
  }
  if (r.accept === "application/octet-stream") {
    // The output as raw bytes (no base64 round trip): hash and accounting in headers.
    headers.push(
      ["content-type", "application/octet-stream"],
      [RESULT_HASH_HEADER, resultHash],
      [PAYMENT_HEADER, JSON.stringify(payment)],
    );
    return { status: 200, headers, body: Buffer.from(out.bytes.buffer, out.bytes.byteOffset, out.bytes.byteLength) };
  }
  return {
    status: 200,
    headers,
    body: {
      model: `0x${model}`,
      kind: METERED_KIND,
      contentType: out.contentType,
      output: Buffer.from(out.bytes).toString("base64"),
      resultHash,
      payment,
    },
  };
}

/** The JSON error a call's failure is answered with, once its hold is let go (a client that retries finds it free). */
export async function meteredError(e: unknown, p: Paying): Promise<{ status: number; body: object }> {
  await releaseHold(p);
  if (e instanceof PaymentError) return { status: STATUS[e.code], body: { code: e.code, message: e.message } };
  if (e instanceof JobInputError)
    return { status: 400, body: { code: `${MeteredCode.BAD_INPUT}:${e.code}`, message: e.message } };
  const status = (e as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return { status, body: { code: "METERED_BAD_REQUEST", message: (e as Error).message } };
  return { status: 500, body: { code: "METERED_INTERNAL", message: "internal error" } };
}

function noop(): void {}
