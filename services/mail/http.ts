/**
 * The JSON API + WebSocket for web mail: list, read and delete the signed-in user's messages (Maildir), send as
 * that user (through the delivery engine's queue), and a WebSocket that announces new mail. Every route but
 * /health, /metrics and /openapi.json needs an Azora Auth access token whose `email` is one of our mailboxes.
 */
import { timingSafeEqual } from "node:crypto";

import type { EventEmitter } from "node:events";
import { readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import swagger from "@fastify/swagger";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { simpleParser } from "mailparser";
import { Counter, Gauge, type Registry } from "prom-client";
import type { WebSocket } from "ws";
import type { Logger } from "../../runtime/lib/logger.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import type { MailAuth } from "./authClient.js";
import { httpStatusOf, MailError, MailErrorCode } from "./errors.js";
import { headerFields, type Mailboxes, type NewMail } from "./mailboxes.js";
import { listMaildir } from "./maildir.js";
import type { DeliveryEngine } from "./outbound.js";
import type { DeliveryReport, OutboundMessage } from "./ports.js";
import type { MailQueue } from "./queue.js";
import { renderTemplate } from "./template.js";

export interface MailHttpDeps {
  auth: MailAuth;
  mailboxes: Mailboxes;
  engine: DeliveryEngine;
  queue: MailQueue;
  events: EventEmitter;
  log: Logger;
  version: string;
  maxMessageBytes: number;
  /** Bearer tokens that may use POST /v1/deliver (the paid-mail workers' `MailSender` over HTTP). */
  deliverTokens: readonly string[];
}

const FOLDERS = { INBOX: "", Junk: ".Junk" } as const;
type Folder = keyof typeof FOLDERS;
/** Maildir unique names (the part before ":2,flags"); no path separators. */
const ID = "^[A-Za-z0-9._,=\\\\-]{1,255}$";

const errorSchema = {
  type: "object",
  properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } } },
};

export function mailMetrics(register: Registry, queue: MailQueue) {
  const queued = new Gauge({
    name: "azora_mail_queue_recipients",
    help: "Outbound recipients by state",
    labelNames: ["status"] as const,
    registers: [register],
    collect() {
      for (const [status, n] of Object.entries(queue.counts())) this.set({ status }, n);
    },
  });
  return {
    queued,
    outbound: new Counter({
      name: "azora_mail_outbound_total",
      help: "Final outcomes of outbound recipients (delivered, bounced, failed)",
      labelNames: ["status"] as const,
      registers: [register],
    }),
    inbound: new Counter({
      name: "azora_mail_inbound_total",
      help: "Messages received by the MX, by verdict (accept, junk, reject)",
      labelNames: ["action"] as const,
      registers: [register],
    }),
    stored: new Counter({
      name: "azora_mail_stored_total",
      help: "Messages stored in mailboxes",
      registers: [register],
    }),
  };
}

export async function buildMailApp(
  d: MailHttpDeps,
  register: Registry,
): Promise<{ app: FastifyInstance; metrics: ReturnType<typeof mailMetrics> }> {
  collectProcessMetrics(register, "azora_mail_process_");
  const metrics = mailMetrics(register, d.queue);
  d.events.on("final", (r: DeliveryReport) => metrics.outbound.inc({ status: r.status }));
  d.events.on("mail", () => metrics.stored.inc());

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: d.maxMessageBytes + 64 * 1024 });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora Mail",
        description:
          "Web mail over the signed-in user's mailbox: list, read, delete, send; a WebSocket announces new mail. Access tokens come from Azora Auth; their `email` is the mailbox.",
        version: d.version,
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof MailError)
      return reply.code(httpStatusOf(err.code)).send({ error: { code: err.code, message: err.message } });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) d.log.error("mail request failed", {}, err);
    return reply.code(status).send({ error: { code: "MAIL_BAD_REQUEST", message: (err as Error).message } });
  });

  const mailboxOf = new WeakMap<FastifyRequest, string>();
  const authenticate = async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    const query = (req.query as { access_token?: string } | undefined)?.access_token;
    const token = header?.startsWith("Bearer ") ? header.slice(7) : query;
    if (token === undefined) throw new MailError({ code: MailErrorCode.UNAUTHENTICATED, reason: "no bearer token" });
    const { email } = await d.auth.verify(token);
    if (!d.mailboxes.has(email)) throw new MailError({ code: MailErrorCode.NOT_FOUND, what: `mailbox ${email}` });
    mailboxOf.set(req, email);
  };
  const me = (req: FastifyRequest) => mailboxOf.get(req) as string;
  const dirOf = (mailbox: string, folder: Folder) => join(d.mailboxes.maildir(mailbox), FOLDERS[folder]);
  const find = (mailbox: string, folder: Folder, id: string) => {
    const dir = dirOf(mailbox, folder);
    const f = listMaildir(dir).find((x) => x.name.split(":")[0] === id);
    if (f === undefined) throw new MailError({ code: MailErrorCode.NOT_FOUND, what: `message ${id}` });
    return join(dir, f.folder, f.name);
  };
  const folderQuery = {
    type: "object",
    properties: { folder: { type: "string", enum: Object.keys(FOLDERS), default: "INBOX" } },
  };
  const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", pattern: ID } } };
  const secured = { preValidation: authenticate };

  app.get("/health", { schema: { summary: "Liveness", tags: ["operations"] } }, async () => ({ status: "ok" }));
  app.get("/metrics", { schema: { summary: "Prometheus metrics", tags: ["operations"] } }, async (_req, reply) =>
    reply.type(register.contentType).send(await register.metrics()),
  );
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/v1/messages",
    {
      ...secured,
      schema: {
        summary: "List the mailbox's messages, oldest first",
        tags: ["mailbox"],
        security: [{ bearer: [] }],
        querystring: folderQuery,
        response: { 401: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const folder = (req.query as { folder: Folder }).folder;
      const dir = dirOf(me(req), folder);
      return {
        messages: listMaildir(dir).map((f) => {
          const raw = readFileSync(join(dir, f.folder, f.name));
          const h = headerFields(raw);
          return {
            id: f.name.split(":")[0],
            folder,
            seen: /:2,[A-Z]*S/.test(f.name),
            from: h.from ?? "",
            to: h.to ?? "",
            subject: h.subject ?? "",
            date: h.date ?? "",
            size: raw.length,
          };
        }),
      };
    },
  );

  app.get(
    "/v1/messages/:id",
    {
      ...secured,
      schema: {
        summary: "Read one message (parsed; the authentication results as the MX recorded them)",
        tags: ["mailbox"],
        security: [{ bearer: [] }],
        params: idParams,
        querystring: folderQuery,
        response: { 401: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const raw = readFileSync(find(me(req), (req.query as { folder: Folder }).folder, id));
      const m = await simpleParser(raw);
      return {
        id,
        messageId: m.messageId ?? null,
        from: m.from?.text ?? "",
        to: Array.isArray(m.to) ? m.to.map((a) => a.text).join(", ") : (m.to?.text ?? ""),
        subject: m.subject ?? "",
        date: m.date?.toISOString() ?? null,
        text: m.text ?? null,
        html: m.html === false ? null : m.html,
        authenticationResults: headerFields(raw)["authentication-results"] ?? null,
      };
    },
  );

  app.delete(
    "/v1/messages/:id",
    {
      ...secured,
      schema: {
        summary: "Delete one message",
        tags: ["mailbox"],
        security: [{ bearer: [] }],
        params: idParams,
        querystring: folderQuery,
        response: { 401: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      unlinkSync(find(me(req), (req.query as { folder: Folder }).folder, id));
      return { deleted: true };
    },
  );

  app.post(
    "/v1/send",
    {
      ...secured,
      schema: {
        summary: "Send as the signed-in mailbox (queued; the outcome per recipient comes from GET /v1/outbox/:id)",
        tags: ["sending"],
        security: [{ bearer: [] }],
        body: {
          type: "object",
          required: ["to", "subject"],
          additionalProperties: false,
          properties: {
            to: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", maxLength: 254 } },
            subject: { type: "string", maxLength: 998 },
            text: { type: "string" },
            html: { type: "string" },
            headers: { type: "object", additionalProperties: { type: "string", maxLength: 998 } },
            vars: {
              type: "object",
              additionalProperties: { type: ["string", "number"] },
              description: "template variables: {{name}} in subject, text and html (HTML-escaped in html)",
            },
          },
        },
        response: {
          202: { type: "object", properties: { messageId: { type: "string" } } },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const { vars, ...body } = req.body as {
        to: string[];
        subject: string;
        text?: string;
        html?: string;
        headers?: Record<string, string>;
        vars?: Record<string, string | number>;
      };
      const content = vars === undefined ? body : { ...body, ...renderTemplate(body, vars) };
      const c = await d.engine.compose({ ...content, from: me(req) });
      d.engine.submitRaw({ ...c, recipients: body.to });
      return reply.code(202).send({ messageId: c.messageId });
    },
  );

  // The `MailSender` port over HTTP, for paid-mail workers: the same engine as the web-mail API, but the caller is
  // a worker with a deliver token (any sender of our domains) and the answer waits for the final outcomes.
  const deliverTokens = d.deliverTokens.map((t) => Buffer.from(t));
  const authenticateWorker = async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    const token = header?.startsWith("Bearer ") ? Buffer.from(header.slice(7)) : undefined;
    if (token === undefined || !deliverTokens.some((t) => t.length === token.length && timingSafeEqual(t, token)))
      throw new MailError({ code: MailErrorCode.UNAUTHENTICATED, reason: "not a deliver token of this service" });
  };
  app.post(
    "/v1/deliver",
    {
      preValidation: authenticateWorker,
      schema: {
        summary:
          "Queue a message (idempotent by messageId) and wait up to waitMs for every recipient's final outcome: 200 with the reports, or 202 while some are still queued (post the same message again to keep waiting)",
        tags: ["sending"],
        security: [{ bearer: [] }],
        body: {
          type: "object",
          required: ["from", "to", "subject", "messageId"],
          additionalProperties: false,
          properties: {
            from: { type: "string", maxLength: 320 },
            to: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", maxLength: 254 } },
            subject: { type: "string", maxLength: 998 },
            text: { type: "string" },
            html: { type: "string" },
            headers: { type: "object", additionalProperties: { type: "string", maxLength: 998 } },
            messageId: { type: "string", minLength: 3, maxLength: 250 },
            waitMs: { type: "integer", minimum: 0, maximum: 60_000, default: 25_000 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              messageId: { type: "string" },
              reports: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    recipient: { type: "string" },
                    messageId: { type: "string" },
                    status: { type: "string", enum: ["delivered", "bounced", "failed"] },
                    smtpReply: { type: "string" },
                    mx: { type: "string" },
                    at: { type: "number" },
                  },
                },
              },
            },
          },
          202: { type: "object", properties: { messageId: { type: "string" }, pending: { type: "boolean" } } },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const { waitMs, ...message } = req.body as OutboundMessage & { waitMs: number };
      const outcome = d.engine.deliver(message);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(resolve, waitMs, null);
      });
      try {
        const reports = await Promise.race([outcome, timeout]);
        if (reports !== null) return { messageId: reports[0]?.messageId ?? message.messageId, reports };
        outcome.catch(() => {}); // still queued: the next post of the same message waits again
        return reply.code(202).send({ messageId: message.messageId, pending: true });
      } finally {
        clearTimeout(timer);
      }
    },
  );

  app.get(
    "/v1/outbox/:id",
    {
      ...secured,
      schema: {
        summary: "Delivery state of a message this mailbox sent, per recipient",
        tags: ["sending"],
        security: [{ bearer: [] }],
        params: { type: "object", required: ["id"], properties: { id: { type: "string", maxLength: 300 } } },
        response: { 401: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const id = (req.params as { id: string }).id;
      const msg = d.queue.message(id);
      if (msg === undefined || msg.envelopeFrom !== me(req))
        throw new MailError({ code: MailErrorCode.NOT_FOUND, what: `sent message ${id}` });
      return { messageId: id, recipients: d.queue.recipients(id) };
    },
  );

  const sockets = new Set<WebSocket>();
  app.get(
    "/v1/ws",
    {
      websocket: true,
      ...secured,
      schema: {
        summary: "New-mail notifications for the signed-in mailbox",
        description:
          'Token in `Authorization: Bearer` or `?access_token=`. Frames: `{"type":"mail", id, folder, from, subject, bounce?}`.',
        tags: ["mailbox"],
        querystring: { type: "object", properties: { access_token: { type: "string" } } },
        security: [{ bearer: [] }],
      },
    },
    (socket: WebSocket, req: FastifyRequest) => {
      const mailbox = me(req);
      sockets.add(socket);
      const onMail = (m: NewMail) => {
        if (m.mailbox !== mailbox) return;
        socket.send(
          JSON.stringify({
            type: "mail",
            id: m.id,
            folder: m.folder,
            from: m.from,
            subject: m.subject,
            ...(m.dsn === undefined ? {} : { bounce: m.dsn.recipients }),
          }),
        );
      };
      d.events.on("mail", onMail);
      socket.on("close", () => {
        d.events.off("mail", onMail);
        sockets.delete(socket);
      });
      socket.send(JSON.stringify({ type: "ready", mailbox }));
    },
  );
  app.addHook("onClose", async () => {
    for (const s of sockets) s.close(1001, "server closing");
  });
  return { app, metrics };
}
