/**
 * The push service: WebSocket delivery to signed-in clients (`/v1/ws`), publishing and replay over HTTP, Web
 * Push registration, `/health`, Prometheus `/metrics` and the OpenAPI description (`/openapi.json`) generated
 * from the route schemas. Wiring only: the rules live in `hub.ts`, `channels.ts`, `webPush.ts`, `follower.ts`.
 */
import { timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import swagger from "@fastify/swagger";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Registry } from "prom-client";
import type { WebSocket } from "ws";
import type { Logger } from "../../runtime/lib/logger.js";
import { wsURLOf } from "../runtime/config.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import { assertCanRead, defaultChannels, type Identity, parseChannel } from "./channels.js";
import type { PushConfig } from "./config.js";
import { closeCode, httpStatus, PushError, PushErrorCode } from "./errors.js";
import { type ChainFollower, createChainFollower } from "./follower.js";
import { Hub, type Subscriber } from "./hub.js";
import { createPushMetrics } from "./metrics.js";
import { openPushStore, type PushStore, type StoredMessage } from "./store.js";
import { bearerOf, createTokenVerifier, type TokenVerifier } from "./tokens.js";
import { type BrowserSubscription, createWebPushSender, type WebPushSender } from "./webPush.js";

export interface PushService {
  url: string;
  app: FastifyInstance;
  hub: Hub;
  store: PushStore;
  webPush: WebPushSender | null;
  follower: ChainFollower | null;
  close(): Promise<void>;
}

export interface PushServiceDeps {
  log: Logger;
  version: string;
  now?: () => number;
  /** Replaces the JWKS verifier (tests of pure wiring only). */
  verifyToken?: TokenVerifier;
}

const MAX_CLIENT_FRAME = 16 * 1024;

const messageJSON = (m: StoredMessage) =>
  `{"type":"message","channel":${JSON.stringify(m.channel)},"cursor":${m.seq},"at":${m.at},"data":${m.data}}`;

const errorSchema = {
  type: "object",
  properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } } },
};

export async function startPushService(cfg: PushConfig, deps: PushServiceDeps): Promise<PushService> {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const verify =
    deps.verifyToken ??
    createTokenVerifier({
      jwksUrl: cfg.auth.jwksUrl,
      jwksFile: cfg.auth.jwksFile,
      issuer: cfg.auth.issuer,
      audience: cfg.auth.audience,
    });
  const store = openPushStore(join(cfg.dataDir, "push.sqlite"));
  const register = new Registry();
  collectProcessMetrics(register, "azora_push_process_");
  const metrics = createPushMetrics(register);

  const webPush = cfg.webPush.enabled
    ? createWebPushSender({
        store,
        subject: cfg.webPush.subject,
        ttlSec: cfg.webPush.ttlSec,
        now,
        log,
        onResult: (o) => metrics.webPush.inc({ outcome: o }),
      })
    : null;
  const hub = new Hub({
    store,
    now,
    maxChannelsPerSubscriber: cfg.limits.maxChannelsPerConnection,
    maxReplay: cfg.limits.maxReplay,
    maxMessageBytes: cfg.limits.maxMessageBytes,
    onDelivered: (_m, n) => metrics.deliveries.inc(n),
    onUndelivered: (m) => webPush?.notify(m),
  });
  const publish = (channel: string, data: unknown, source: "http" | "chain", dedupeKey?: string) => {
    const end = metrics.fanoutSeconds.startTimer();
    const out = hub.publish(channel, data, dedupeKey);
    end();
    if (out.message !== null) metrics.published.inc({ kind: parseChannel(channel).kind, source });
    return out;
  };

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: cfg.limits.maxMessageBytes + 4096 });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora Push",
        description:
          "Notifications for signed-in clients: WebSocket delivery with acknowledgements and replay since a cursor, publishing, Web Push. Access tokens come from Azora Auth (JWT, verified against its JWKS).",
        version: deps.version,
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_CLIENT_FRAME } });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof PushError)
      return reply.code(httpStatus(err.code)).send({ error: { code: err.code, message: err.message } });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error("push request failed", {}, err);
    return reply.code(status).send({
      error: { code: status === 413 ? PushErrorCode.TOO_LARGE : "PUSH_BAD_REQUEST", message: (err as Error).message },
    });
  });

  async function identify(req: FastifyRequest): Promise<Identity> {
    const token = bearerOf(req.headers, req.query);
    if (token === undefined) throw new PushError({ code: PushErrorCode.UNAUTHENTICATED, reason: "no bearer token" });
    return verify(token);
  }
  const identities = new WeakMap<FastifyRequest, Identity>();
  const authenticate = async (req: FastifyRequest) => {
    identities.set(req, await identify(req));
  };
  const who = (req: FastifyRequest) => identities.get(req) as Identity;

  const publishTokens = cfg.publishTokens.map((t) => Buffer.from(t));
  const authorizePublisher = async (req: FastifyRequest) => {
    const token = bearerOf(req.headers, undefined);
    const given = Buffer.from(token ?? "");
    if (!publishTokens.some((t) => t.length === given.length && timingSafeEqual(t, given)))
      throw new PushError({
        code: PushErrorCode.UNAUTHENTICATED,
        reason: "publishing needs one of the service's publish tokens",
      });
  };

  // ---- WebSocket --------------------------------------------------------------------------------------
  const perIdentity = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  app.get(
    "/v1/ws",
    {
      websocket: true,
      preValidation: authenticate,
      schema: {
        summary: "WebSocket delivery (see README, Azora Push: protocol)",
        description:
          "Token in `Authorization: Bearer` or `?access_token=`. The connection starts subscribed to the identity's own channels, replayed since `since` or since its last acknowledgement.",
        tags: ["delivery"],
        querystring: {
          type: "object",
          properties: { access_token: { type: "string" }, since: { type: "integer", minimum: 0 } },
        },
        security: [{ bearer: [] }],
      },
    },
    (socket: WebSocket, req: FastifyRequest) => {
      const id = who(req);
      const count = (perIdentity.get(id.sub) ?? 0) + 1;
      if (count > cfg.limits.maxConnectionsPerIdentity) {
        const e = new PushError({
          code: PushErrorCode.LIMIT,
          what: "connections for one identity",
          limit: cfg.limits.maxConnectionsPerIdentity,
        });
        socket.close(closeCode(e.code), e.message.slice(0, 120));
        return;
      }
      perIdentity.set(id.sub, count);
      sockets.add(socket);
      metrics.connections.inc();
      const send = (text: string) => socket.send(text);
      const subscriber: Subscriber = {
        who: id,
        deliver(m) {
          if (socket.bufferedAmount > cfg.limits.maxBufferedBytes) return false;
          send(messageJSON(m));
          return true;
        },
        evict(reason) {
          metrics.evictions.inc();
          socket.close(4008, reason.slice(0, 120));
        },
      };
      const sendReplay = (messages: StoredMessage[], more: boolean, channels: string[], type: string) => {
        for (const m of messages) send(messageJSON(m));
        metrics.deliveries.inc(messages.length);
        send(JSON.stringify({ type, channels, cursor: messages.at(-1)?.seq ?? null, more }));
      };
      const fail = (e: unknown) => {
        if (e instanceof PushError) send(JSON.stringify({ type: "error", code: e.code, message: e.message }));
        else {
          log.error("push frame failed", { sub: id.sub }, e);
          send(JSON.stringify({ type: "error", code: "PUSH_INTERNAL", message: "internal error" }));
        }
      };

      const since = (req.query as { since?: number }).since;
      const mine = defaultChannels(id);
      send(JSON.stringify({ type: "welcome", sub: id.sub, channels: mine, cursor: store.head() }));
      try {
        const r = hub.subscribe(subscriber, mine, since);
        sendReplay(r.messages, r.more, mine, "replayed");
      } catch (e) {
        fail(e);
      }

      socket.on("message", (raw: Buffer, isBinary: boolean) => {
        try {
          if (isBinary)
            throw new PushError({
              code: PushErrorCode.BAD_FRAME,
              reason: "binary frames are not part of the protocol",
            });
          let frame: { type?: unknown; channels?: unknown; since?: unknown; cursor?: unknown };
          try {
            frame = JSON.parse(raw.toString("utf8"));
          } catch {
            throw new PushError({ code: PushErrorCode.BAD_FRAME, reason: "not JSON" });
          }
          const channels = () => {
            if (
              !Array.isArray(frame.channels) ||
              frame.channels.length === 0 ||
              !frame.channels.every((c) => typeof c === "string")
            )
              throw new PushError({
                code: PushErrorCode.BAD_FRAME,
                reason: "channels must be a non-empty array of names",
              });
            return frame.channels as string[];
          };
          switch (frame.type) {
            case "subscribe": {
              const names = channels();
              if (frame.since !== undefined && (!Number.isSafeInteger(frame.since) || (frame.since as number) < 0))
                throw new PushError({ code: PushErrorCode.BAD_FRAME, reason: "since must be a non-negative integer" });
              const r = hub.subscribe(subscriber, names, frame.since as number | undefined);
              sendReplay(
                r.messages,
                r.more,
                names.map((n) => parseChannel(n).name),
                "subscribed",
              );
              return;
            }
            case "unsubscribe":
              hub.unsubscribe(subscriber, channels());
              send(JSON.stringify({ type: "unsubscribed", channels: frame.channels }));
              return;
            case "ack":
              hub.ack(subscriber, frame.cursor as number);
              metrics.acks.inc();
              return;
            case "ping":
              send('{"type":"pong"}');
              return;
            default:
              throw new PushError({
                code: PushErrorCode.BAD_FRAME,
                reason: "type must be subscribe, unsubscribe, ack or ping",
              });
          }
        } catch (e) {
          fail(e);
        }
      });
      socket.on("close", () => {
        hub.remove(subscriber);
        sockets.delete(socket);
        metrics.connections.dec();
        const left = (perIdentity.get(id.sub) ?? 1) - 1;
        if (left === 0) perIdentity.delete(id.sub);
        else perIdentity.set(id.sub, left);
      });
    },
  );

  // ---- HTTP -------------------------------------------------------------------------------------------
  const messageSchema = {
    type: "object",
    properties: { channel: { type: "string" }, cursor: { type: "integer" }, at: { type: "integer" }, data: {} },
  };
  app.post(
    "/v1/publish",
    {
      preValidation: authorizePublisher,
      schema: {
        summary: "Publish a message to a channel (publishers only)",
        tags: ["publishing"],
        security: [{ bearer: [] }],
        body: {
          type: "object",
          required: ["channel", "data"],
          additionalProperties: false,
          properties: {
            channel: { type: "string", maxLength: 200, description: "user:<sub>, wallet:0x<address> or topic:<name>" },
            data: { description: "any JSON value" },
            dedupeKey: {
              type: "string",
              maxLength: 200,
              description: "a repeat with the same key is stored and sent once",
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              cursor: { type: "integer", nullable: true },
              delivered: { type: "integer" },
              duplicate: { type: "boolean" },
            },
          },
          400: errorSchema,
          401: errorSchema,
          413: errorSchema,
        },
      },
    },
    async (req) => {
      const body = req.body as { channel: string; data: unknown; dedupeKey?: string };
      const r = publish(body.channel, body.data, "http", body.dedupeKey);
      return { cursor: r.message?.seq ?? null, delivered: r.delivered, duplicate: r.message === null };
    },
  );

  app.get(
    "/v1/messages",
    {
      preValidation: authenticate,
      schema: {
        summary: "Messages since a cursor (for clients that poll instead of holding a WebSocket)",
        tags: ["delivery"],
        security: [{ bearer: [] }],
        querystring: {
          type: "object",
          properties: {
            channels: { type: "string", description: "comma-separated; default: the identity's own channels" },
            since: { type: "integer", minimum: 0, default: 0 },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { messages: { type: "array", items: messageSchema }, more: { type: "boolean" } },
          },
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (req) => {
      const q = req.query as { channels?: string; since: number; limit: number };
      const id = who(req);
      const names = q.channels === undefined ? defaultChannels(id) : q.channels.split(",");
      const channels = names.map(parseChannel);
      for (const c of channels) assertCanRead(id, c);
      const rows = store.since(
        channels.map((c) => c.name),
        q.since,
        q.limit + 1,
      );
      const more = rows.length > q.limit;
      return {
        messages: rows
          .slice(0, q.limit)
          .map((m) => ({ channel: m.channel, cursor: m.seq, at: m.at, data: JSON.parse(m.data) })),
        more,
      };
    },
  );

  app.get(
    "/v1/webpush/key",
    {
      schema: {
        summary: "The VAPID public key browsers subscribe with (applicationServerKey)",
        tags: ["web push"],
        response: { 200: { type: "object", properties: { publicKey: { type: "string" } } }, 404: errorSchema },
      },
    },
    async (_req, reply: FastifyReply) => {
      if (webPush === null)
        return reply.code(404).send({ error: { code: "PUSH_WEBPUSH_OFF", message: "Web Push is disabled" } });
      return { publicKey: webPush.publicKey };
    },
  );

  const subscriptionBody = {
    type: "object",
    required: ["endpoint", "keys"],
    properties: {
      endpoint: { type: "string", maxLength: 2048 },
      keys: {
        type: "object",
        required: ["p256dh", "auth"],
        properties: { p256dh: { type: "string", maxLength: 200 }, auth: { type: "string", maxLength: 100 } },
      },
    },
  };
  app.post(
    "/v1/webpush/subscriptions",
    {
      preValidation: authenticate,
      schema: {
        summary: "Register a browser's push subscription for the identity's own channels",
        tags: ["web push"],
        security: [{ bearer: [] }],
        body: subscriptionBody,
        response: {
          201: { type: "object", properties: { channels: { type: "array", items: { type: "string" } } } },
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      if (webPush === null)
        return reply.code(404).send({ error: { code: "PUSH_WEBPUSH_OFF", message: "Web Push is disabled" } });
      const channels = defaultChannels(who(req));
      webPush.register(channels, req.body as BrowserSubscription);
      return reply.code(201).send({ channels });
    },
  );
  app.delete(
    "/v1/webpush/subscriptions",
    {
      preValidation: authenticate,
      schema: {
        summary: "Remove a browser's push subscription",
        tags: ["web push"],
        security: [{ bearer: [] }],
        body: { type: "object", required: ["endpoint"], properties: { endpoint: { type: "string", maxLength: 2048 } } },
        response: { 200: { type: "object", properties: { removed: { type: "integer" } } }, 401: errorSchema },
      },
    },
    async (req) => ({
      removed: webPush?.unregister(defaultChannels(who(req)), (req.body as { endpoint: string }).endpoint) ?? 0,
    }),
  );

  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness, open connections, newest cursor, chain progress",
        tags: ["operations"],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              connections: { type: "integer" },
              cursor: { type: "integer" },
              chainNext: { type: "integer", nullable: true },
            },
          },
        },
      },
    },
    async () => ({ status: "ok", connections: sockets.size, cursor: store.head(), chainNext: follower?.next ?? null }),
  );
  app.get("/metrics", { schema: { summary: "Prometheus metrics", tags: ["operations"] } }, async (_req, reply) => {
    reply.header("content-type", register.contentType);
    return register.metrics();
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const follower =
    cfg.chain.rpcUrl === undefined
      ? null
      : createChainFollower({
          rpcUrl: cfg.chain.rpcUrl,
          wsUrl: cfg.chain.wsUrl ?? wsURLOf(cfg.chain.rpcUrl),
          fromBlock: cfg.chain.fromBlock,
          rangeBlocks: cfg.chain.rangeBlocks,
          pollMs: cfg.chain.pollMs,
          publish: (channel, data, dedupeKey) => publish(channel, data, "chain", dedupeKey),
          store,
          log: log.child({ module: "chain" }),
          onBlock: (n) => metrics.chainBlock.set(n),
        });

  const prune = () => {
    const n = store.prune(cfg.retention.perChannel, now() - cfg.retention.maxAgeMs);
    if (n > 0) log.info("retention dropped old messages", { messages: n });
  };
  prune();
  const pruneTimer = setInterval(prune, cfg.retention.pruneEveryMs);
  pruneTimer.unref();

  await app.listen({ host: cfg.http.host, port: cfg.http.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : cfg.http.port;
  const url = `http://${cfg.http.host.includes(":") ? `[${cfg.http.host}]` : cfg.http.host}:${port}`;
  await follower?.start();
  log.info("push service listening", { url, webPush: webPush !== null, chain: cfg.chain.rpcUrl ?? null });

  return {
    url,
    app,
    hub,
    store,
    webPush,
    follower,
    async close() {
      clearInterval(pruneTimer);
      await follower?.close();
      for (const s of sockets) s.close(1001, "server shutting down");
      await app.close();
      await webPush?.idle();
      store.close();
    },
  };
}
