import { STATUS_CODES } from "node:http";
import type { FastifyInstance } from "fastify";
import { type FrontReply, installHttpFront } from "../../../rpc/transport/httpFront.js";
import { DEFAULT_HEAD_LIMITS, type HeadVerdict, headShape, readHead } from "../../../rpc/transport/httpHead.js";
import { RECEIPT_HEADER } from "../../client/payments.js";
import { RECEIPT_SESSION_HEADER } from "../../client/receiptSession.js";
import { monoUs } from "../callTrace.js";
import { BodyPool } from "./bodyPool.js";
import type { MeteredAnswer, MeteredRequest, MeteredRouteDeps, Paying } from "./meteredCall.js";
import { answerMetered, BODY_LIMIT, beginMetered, meteredError, releaseHold } from "./meteredCall.js";

/**
 * The worker's lean path for metered calls: plain `POST /v1/infer/<model>` requests (Content-Length body, an AZT1
 * content type, keep-alive) are read on the worker's own sockets before Node's HTTP server (rpc/transport/httpFront.ts)
 * and answered by the same `answerMetered` as the fastify route, with the headers fastify writes; any other request
 * hands the connection to Node and fastify. Why: Node's HTTP parser and request stream cost ~0.4 ms of server CPU
 * more than a plain socket reading the 459 KB body of a lone call (README, issue 8, "lone8io" / "lone8front").
 */
const SHAPE = headShape("POST /v1/infer/", {
  target: true,
  capture: ["content-type", "accept", RECEIPT_HEADER, RECEIPT_SESSION_HEADER],
});
const LIMITS = { ...DEFAULT_HEAD_LIMITS, bodyLimit: BODY_LIMIT };
/** The route's model parameter (its schema's pattern): anything else gets fastify's 400 or 404. */
const MODEL = /^(0x)?[0-9a-fA-F]{64}$/;
/** The content types the route's body parser takes, as sent; any other spelling is left to fastify. */
const TENSOR_TYPES = new Set(["application/octet-stream", "application/x-azora-tensors"]);
const OTHER: HeadVerdict = { kind: "other" };
const CLOSE: [string, string] = ["connection", "close"];
const JSON_TYPE = "content-type: application/json; charset=utf-8\r\n";
/**
 * The lean path's body buffers, kept between calls (bodyPool.ts): a few, up to 4 MiB each — a lone call's 459 KB
 * body then reads into pages already faulted in. Larger bodies, and bodies moved to a thread, are not kept.
 */
const BODIES = new BodyPool(4, 4 * 1024 * 1024);

/** The verdict on a head: "take" only for a metered call the route would take with a body. */
function readMeteredHead(buf: Buffer, start: number): HeadVerdict {
  const v = readHead(buf, start, LIMITS, SHAPE);
  if (v.kind !== "take") return v;
  const type = v.headers?.["content-type"];
  if (v.bodyLength === 0 || type === undefined || !TENSOR_TYPES.has(type) || !MODEL.test(v.target ?? "")) return OTHER;
  return v;
}

/** The bytes fastify writes for an answer: its headers, then content-type (JSON unless set) and content-length. */
export function meteredReply(a: MeteredAnswer): FrontReply {
  const body = Buffer.isBuffer(a.body) ? a.body : JSON.stringify(a.body);
  let head = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status]}\r\n`;
  let typed = false;
  for (const [name, value] of a.headers) {
    head += `${name}: ${value}\r\n`;
    if (name === "content-type") typed = true;
  }
  if (!typed) head += JSON_TYPE;
  head += `content-length: ${typeof body === "string" ? Buffer.byteLength(body) : body.length}\r\n`;
  return { head, body };
}

/** Puts the lean path in front of `app`'s HTTP server (before it listens). */
export function installMeteredFront(
  app: FastifyInstance,
  d: MeteredRouteDeps,
  recordRun: (outcome: string, ms: number) => void,
): void {
  let closing = false;
  const front = installHttpFront(app.server, {
    read: readMeteredHead,
    bodyBuffer: (length, first) => BODIES.take(length, first),
    ownReads: true,
    closing: () => closing,
    begin(head) {
      const h = head.headers ?? {};
      const r: MeteredRequest = {
        model: (head.target ?? "").toLowerCase().replace(/^0x/, ""),
        receipt: h[RECEIPT_HEADER],
        session: h[RECEIPT_SESSION_HEADER],
        accept: h.accept,
      };
      const p: Paying = {};
      beginMetered(d, r, p);
      const trace = p.trace;
      if (trace) trace.bodyFirst = trace.head; // the head's packet carries the body's first bytes
      return {
        // the first read after the head's: what ran on the loop before it (the receipt's check) held the body back
        bodyRead:
          trace &&
          (() => {
            trace.bodyNext ??= monoUs();
          }),
        async answer(body) {
          try {
            // null: the receipt was refused while the body uploaded (its 402 leaves at once, as fastify's)
            if (p.trace && body !== null) p.trace.bodyLast = p.trace.body = monoUs();
            const a = await answerMetered(d, r, p, body, recordRun);
            // The body's buffer goes back once the run is done with it, unless the answer is a view of it.
            if (body !== null && !(Buffer.isBuffer(a.body) && a.body.buffer === body.buffer)) giveBack(p, body);
            return meteredReply(a);
          } catch (e) {
            if (body !== null) giveBack(p, body);
            const a = await meteredError(e, p);
            // Answered before its body was in: fastify says `connection: close` then (its body is left unread).
            if (body === null)
              return { ...meteredReply({ status: a.status, headers: [CLOSE], body: a.body }), close: true };
            return meteredReply({ status: a.status, headers: [], body: a.body });
          } finally {
            void releaseHold(p); // a hold no answer committed is let go (after a commit this does nothing)
          }
        },
        abandon: () => void releaseHold(p),
        refused: p.holding ?? undefined,
      };
    },
  });
  if (front === undefined) return; // a per-socket request cap keeps Node's own path
  // As fastify's forceCloseConnections does to Node's connections: idle ones end at close, or all of them.
  app.addHook("preClose", (done) => {
    closing = true;
    if (app.initialConfig.forceCloseConnections === true) front.closeAll();
    else front.closeIdle();
    done();
  });
}

/** Returns a call's body buffer to the pool once its run settled (at once when no run started). */
function giveBack(p: Paying, body: Buffer): void {
  if (p.inputDone === undefined) BODIES.give(body);
  else void p.inputDone.then(() => BODIES.give(body));
}
