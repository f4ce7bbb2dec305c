/**
 * JSON-RPC 2.0 server: HTTP POST and WebSocket on one port (fastify 5 + @fastify/websocket), plus
 * `/health`, `/metrics` and extra GET routes. Request semantics live in `jsonrpc.ts`; this file
 * only moves strings, enforces limits (body/frame size, batch size, connections, per-connection
 * in-flight requests, WebSocket send buffer) and manages connection lifecycles.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import { type Logger, nullLogger } from "../runtime/lib/logger.js";
import { InternalError, InvalidRequestError, ParseError } from "./errors.js";
import { type DispatchOptions, errorResponse, handleRawBody, serializeMessage } from "./jsonrpc.js";
import { clientKeyOf, PerClientCounter } from "./quota.js";
import { type FrontAnswer, type HttpFront, installHttpFront, rpcBegin } from "./transport/httpFront.js";
import { DEFAULT_HEAD_LIMITS, readRpcHead } from "./transport/httpHead.js";
import type { CallContext, MethodTable, RPCMetrics, WSConnectionHandle } from "./types.js";

export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
export const DEFAULT_WS_MAX_CONNECTIONS = 1000;
/** WebSocket connections one client (remote address) may hold, so one client cannot take every slot. */
export const DEFAULT_WS_MAX_CONNECTIONS_PER_CLIENT = 100;
/** A connection whose unsent data exceeds this is closed (slow consumer). */
export const DEFAULT_WS_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Requests of one WebSocket connection being processed at once; beyond it the socket stops being read. */
export const DEFAULT_WS_MAX_INFLIGHT = 128;
/** Ping period; a connection that did not answer the previous ping is terminated. */
export const WS_PING_INTERVAL_MS = 30_000;
/** How long `close()` waits for WebSocket close handshakes before terminating sockets. */
export const WS_CLOSE_GRACE_MS = 2_000;

const WS_CLOSE_GOING_AWAY = 1001;
const WS_CLOSE_POLICY_VIOLATION = 1008;
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
const PARSE_ERROR_TEXT = JSON.stringify(errorResponse(null, new ParseError()));

export interface RPCServerRoutes {
  /** `GET /metrics` (404 when absent). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** `GET /health`: 200 when ok, else 503; `body` is sent as JSON (404 when absent). */
  health?: () => Promise<{ ok: boolean; body: unknown }>;
  /** Further GET routes answering JSON (e.g. `/status`). */
  extra?: Array<{ method: "GET"; url: string; handler: () => Promise<unknown> }>;
}

export interface RPCServerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  methods: MethodTable;
  logger?: Logger;
  /** HTTP body and WebSocket message limit (default 5 MiB). */
  bodyLimitBytes?: number;
  /** Max requests in one batch (default 1000). */
  batchLimit?: number;
  /** Cost units of one batch (default 5000; see `MethodDef.cost`). */
  batchMaxCost?: number;
  /** Bytes of one response or of one batch's responses (default 25,000,000). */
  maxResponseBytes?: number;
  /** Time one request or batch may take (default 10 s). */
  requestTimeoutMs?: number;
  /** Max simultaneous WebSocket connections (default 1000); more are refused with HTTP 503. */
  wsMaxConnections?: number;
  /** Max simultaneous WebSocket connections of one client address (default 100); more → HTTP 503. */
  wsMaxConnectionsPerClient?: number;
  /** Send-buffer bound per WebSocket connection (default 16 MiB). */
  wsMaxBufferedBytes?: number;
  metrics?: RPCMetrics;
  routes?: RPCServerRoutes;
  /**
   * Serve plain JSON-RPC POSTs straight from Node's HTTP server, past fastify (default true; off
   * only to compare the two paths in tests). See `httpFastPath`.
   */
  httpFastPath?: boolean;
  /**
   * Read plain JSON-RPC POSTs of keep-alive connections straight off the socket, before Node's HTTP server
   * (default true; needs `httpFastPath`). See `transport/httpFront.ts`.
   */
  httpFront?: boolean;
  /** Node's `headersTimeout` (default Node's, 60 s): a request head not complete by then gets a 408. */
  headersTimeoutMs?: number;
}

export interface RPCServerAddress {
  host: string;
  port: number;
  /** `http://host:port` (unspecified addresses are replaced by loopback). */
  url: string;
  wsUrl: string;
}

export interface RPCServer {
  listen(): Promise<RPCServerAddress>;
  /** Stops accepting, closes WebSocket connections (1001, then terminate after 2 s), drains HTTP. Idempotent. */
  close(): Promise<void>;
}

/** The server side of one WebSocket connection. */
class WSConnection implements WSConnectionHandle {
  /** Socket-level close (after the close handshake or termination). */
  readonly closed: Promise<void>;
  /** Answered the last ping. */
  alive = true;
  inflight = 0;
  private open = true;
  private readonly closeFns = new Set<() => void>();

  constructor(
    readonly id: number,
    private readonly socket: WebSocket,
    readonly remoteAddress: string | undefined,
    private readonly maxBufferedBytes: number,
    private readonly logger: Logger,
  ) {
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.markClosed();
        resolve();
      });
    });
    socket.on("pong", () => {
      this.alive = true;
    });
  }

  isOpen(): boolean {
    return this.open && this.socket.readyState === this.socket.OPEN;
  }

  send(message: unknown): boolean {
    let text: string;
    try {
      text = serializeMessage(message);
    } catch (e) {
      this.logger.error("Cannot serialise WebSocket message", { connection: this.id }, e);
      return false;
    }
    return this.sendText(text);
  }

  sendText(text: string): boolean {
    if (!this.isOpen()) return false;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.logger.warn("Closing slow WebSocket connection", {
        connection: this.id,
        remoteAddress: this.remoteAddress,
        bufferedBytes: this.socket.bufferedAmount,
      });
      this.close(WS_CLOSE_POLICY_VIOLATION, "send buffer limit exceeded");
      return false;
    }
    this.socket.send(text);
    return true;
  }

  onClose(fn: () => void): () => void {
    if (!this.open) {
      fn();
      return () => {};
    }
    this.closeFns.add(fn);
    return () => this.closeFns.delete(fn);
  }

  close(code = 1000, reason = ""): void {
    this.markClosed();
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.markClosed();
    this.socket.terminate();
  }

  ping(): void {
    this.alive = false;
    this.socket.ping();
  }

  pause(): void {
    if (!this.socket.isPaused) this.socket.pause();
  }

  resume(): void {
    if (this.socket.isPaused) this.socket.resume();
  }

  /** Stops sends and runs the close callbacks (subscription disposal) exactly once. */
  private markClosed(): void {
    if (!this.open) return;
    this.open = false;
    for (const fn of this.closeFns) {
      try {
        fn();
      } catch (e) {
        this.logger.error("WebSocket close callback failed", { connection: this.id }, e);
      }
    }
    this.closeFns.clear();
  }
}

function rawDataToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function urlHost(address: string, family: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "[::1]";
  return family === "IPv6" ? `[${address}]` : address;
}

export function createRPCServer(opts: RPCServerOptions): RPCServer {
  const logger = opts.logger ?? nullLogger;
  const methods = opts.methods;
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const wsMaxConnections = opts.wsMaxConnections ?? DEFAULT_WS_MAX_CONNECTIONS;
  const wsMaxBufferedBytes = opts.wsMaxBufferedBytes ?? DEFAULT_WS_MAX_BUFFERED_BYTES;
  const dispatchOpts: DispatchOptions = {
    batchLimit: opts.batchLimit,
    batchMaxCost: opts.batchMaxCost,
    maxResponseBytes: opts.maxResponseBytes,
    requestTimeoutMs: opts.requestTimeoutMs,
    logger,
    metrics: opts.metrics,
  };
  const wsPerClient = new PerClientCounter(opts.wsMaxConnectionsPerClient ?? DEFAULT_WS_MAX_CONNECTIONS_PER_CLIENT);
  const connections = new Set<WSConnection>();
  let wsSlots = 0;
  let nextConnectionId = 1;
  let closing = false;
  let closePromise: Promise<void> | undefined;
  let pingTimer: NodeJS.Timeout | undefined;

  /**
   * The hot shape of JSON-RPC over HTTP — `POST /` with a Content-Length within the body limit — is
   * read and answered here, on Node's HTTP server, without fastify's routing, hooks, body parser and
   * reply: 20–27 % less node CPU per small request (README, issue 14). It answers what
   * the fastify route below answers (status, body, content-type, CORS header; checked on random
   * requests by test/unit/rpc/transport/httpFastPath.test.ts). Everything else — other routes and
   * methods, chunked or oversized bodies, WebSocket upgrades, requests during shutdown — goes to
   * fastify as before.
   */
  const fastPath = opts.httpFastPath ?? true;

  /** A JSON-RPC body's answer over HTTP; never rejects (a failure is a 500 with an internal error). */
  async function answerBody(body: string, remoteAddress: string | undefined): Promise<FrontAnswer> {
    try {
      const out = await handleRawBody(body, methods, { transport: "http", remoteAddress }, dispatchOpts);
      return out === undefined ? { status: 204 } : { status: 200, body: out };
    } catch (e) {
      logger.error("HTTP request failed", { method: "POST", url: "/" }, e);
      return { status: 500, body: JSON.stringify(errorResponse(null, new InternalError())) };
    }
  }

  function httpFastPath(req: IncomingMessage, res: ServerResponse): boolean {
    if (!fastPath || closing || req.method !== "POST" || req.url !== "/") return false;
    const lengthHeader = req.headers["content-length"];
    if (lengthHeader === undefined || req.headers["transfer-encoding"] !== undefined) return false;
    const length = Number(lengthHeader);
    if (!Number.isSafeInteger(length) || length < 0 || length > bodyLimit) return false;
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      // Node's parser reads exactly Content-Length bytes; a shorter body is an aborted request.
      if (received !== length) {
        res.destroy();
        return;
      }
      const body = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks, received).toString("utf8");
      void answerBody(body, req.socket.remoteAddress).then((answer) => {
        if (answer.status === 204) {
          res.writeHead(204, { "access-control-allow-origin": "*" });
          res.end();
          return;
        }
        const text = answer.body ?? "";
        res.writeHead(answer.status, {
          "content-type": JSON_CONTENT_TYPE,
          "content-length": Buffer.byteLength(text),
          "access-control-allow-origin": "*",
        });
        res.end(text);
      });
    });
    return true;
  }

  let front: HttpFront | undefined;

  const app = Fastify({
    logger: false,
    bodyLimit,
    forceCloseConnections: "idle",
    // Node's HTTP server with fastify's own settings, which tries the fast path first.
    serverFactory: (handler, factoryOpts) => {
      // fastify passes its resolved options (defaults filled in), which it would apply to its own server.
      const o = factoryOpts as {
        keepAliveTimeout?: number;
        requestTimeout?: number;
        connectionTimeout?: number;
        maxRequestsPerSocket?: number;
      };
      // A shorter header timeout is checked as often as it lasts (Node checks every 30 s by default).
      const checking =
        opts.headersTimeoutMs === undefined ? {} : { connectionsCheckingInterval: opts.headersTimeoutMs };
      const server = createServer(checking, (req, res) => {
        if (!httpFastPath(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
      server.requestTimeout = o.requestTimeout ?? 0;
      server.setTimeout(o.connectionTimeout ?? 0);
      if (o.maxRequestsPerSocket !== undefined && o.maxRequestsPerSocket > 0) {
        server.maxRequestsPerSocket = o.maxRequestsPerSocket;
      }
      if (opts.headersTimeoutMs !== undefined) server.headersTimeout = opts.headersTimeoutMs;
      if (fastPath && (opts.httpFront ?? true)) {
        // The front reads each connection first and gives it to Node's own listener at the first other request.
        const limits = { ...DEFAULT_HEAD_LIMITS, bodyLimit };
        front = installHttpFront(server, {
          read: (buf, start) => readRpcHead(buf, start, limits),
          begin: rpcBegin(answerBody),
          closing: () => closing,
        });
      }
      return server;
    },
  });

  // Read every POST body as a raw string and parse it ourselves, so a malformed body is a -32700
  // answer (not fastify's 400) whatever the content-type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit }, (_req, body, done) => done(null, body));

  app.addHook("onRequest", (request, _reply, done) => {
    // A syntactically invalid content-type would get fastify's 415 before reaching the parser.
    if (request.method === "POST") request.raw.headers["content-type"] = "application/json";
    done();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    reply.header("access-control-allow-origin", "*");
    done(null, payload);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status =
      typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    let rpcError: InvalidRequestError | InternalError;
    if (status === 413) {
      rpcError = new InvalidRequestError(`request body too large (limit ${bodyLimit} bytes)`);
    } else if (status < 500) {
      rpcError = new InvalidRequestError(err.message);
    } else {
      logger.error("HTTP request failed", { method: request.method, url: request.url }, err);
      rpcError = new InternalError();
    }
    reply
      .code(status)
      .type(JSON_CONTENT_TYPE)
      .send(JSON.stringify(errorResponse(null, rpcError)));
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).type(JSON_CONTENT_TYPE).send('{"error":"not found"}');
  });

  app.register(fastifyWebsocket, {
    options: { maxPayload: bodyLimit },
    errorHandler: (error, socket) => {
      logger.debug("WebSocket error", { message: error.message });
      socket.terminate();
    },
  });

  function onWSConnection(socket: WebSocket, request: FastifyRequest): void {
    const conn = new WSConnection(nextConnectionId++, socket, request.ip, wsMaxBufferedBytes, logger);
    connections.add(conn);
    logger.debug("WebSocket connected", { connection: conn.id, remoteAddress: conn.remoteAddress });
    void conn.closed.then(() => {
      connections.delete(conn);
      logger.debug("WebSocket disconnected", { connection: conn.id });
    });
    if (closing) conn.close(WS_CLOSE_GOING_AWAY, "server shutting down");

    socket.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        conn.sendText(PARSE_ERROR_TEXT);
        return;
      }
      const text = rawDataToString(data);
      conn.inflight++;
      if (conn.inflight >= DEFAULT_WS_MAX_INFLIGHT) conn.pause();
      const afterResponse: (() => void)[] = [];
      const ctx: CallContext = {
        transport: "ws",
        connection: conn,
        remoteAddress: conn.remoteAddress,
        afterResponse: (fn) => afterResponse.push(fn),
      };
      handleRawBody(text, methods, ctx, dispatchOpts)
        .then((out) => {
          if (out !== undefined) conn.sendText(out);
          for (const fn of afterResponse) fn();
        })
        .catch((e: unknown) => logger.error("WebSocket message handling failed", { connection: conn.id }, e))
        .finally(() => {
          conn.inflight--;
          if (conn.inflight < DEFAULT_WS_MAX_INFLIGHT) conn.resume();
        });
    });
  }

  /** Admission of WebSocket upgrades; the slot is held until the TCP socket closes. */
  function admitWS(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (!request.ws) {
      done();
      return;
    }
    if (closing || wsSlots >= wsMaxConnections) {
      reply.code(503).type(JSON_CONTENT_TYPE).send('{"error":"too many connections"}');
      return;
    }
    const client = clientKeyOf(request.ip);
    if (!wsPerClient.tryAcquire(client)) {
      reply.code(503).type(JSON_CONTENT_TYPE).send('{"error":"too many connections from this address"}');
      return;
    }
    wsSlots++;
    request.raw.socket.once("close", () => {
      wsSlots--;
      wsPerClient.release(client);
    });
    done();
  }

  app.register(async (instance) => {
    instance.route({
      method: "GET",
      url: "/",
      onRequest: admitWS,
      // Plain GET / answers 200 (load-balancer probes), as geth does.
      handler: (_request, reply) => {
        reply.code(200).send();
      },
      wsHandler: onWSConnection,
    });

    instance.post("/", async (request, reply) => {
      const body = typeof request.body === "string" ? request.body : "";
      const out = await handleRawBody(body, methods, { transport: "http", remoteAddress: request.ip }, dispatchOpts);
      if (out === undefined) return reply.code(204).send();
      return reply.code(200).type(JSON_CONTENT_TYPE).send(out);
    });

    // CORS preflight: browser dApps / wallets call the node from a page.
    instance.options("*", (request, reply) => {
      const requested = request.headers["access-control-request-headers"];
      reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST, OPTIONS")
        .header("access-control-allow-headers", typeof requested === "string" ? requested : "content-type")
        .header("access-control-max-age", "86400")
        .send();
    });

    const routes = opts.routes ?? {};
    const jsonGet = (url: string, fn: (reply: FastifyReply) => Promise<void>): void => {
      instance.get(url, async (_request, reply) => {
        try {
          await fn(reply);
        } catch (e) {
          logger.error("Route handler failed", { url }, e);
          reply.code(500).type(JSON_CONTENT_TYPE).send('{"error":"internal error"}');
        }
      });
    };
    const health = routes.health;
    if (health !== undefined) {
      jsonGet("/health", async (reply) => {
        const h = await health();
        reply
          .code(h.ok ? 200 : 503)
          .type(JSON_CONTENT_TYPE)
          .send(serializeMessage(h.body));
      });
    }
    const metrics = routes.metrics;
    if (metrics !== undefined) {
      jsonGet("/metrics", async (reply) => {
        const m = await metrics();
        reply.code(200).type(m.contentType).send(m.body);
      });
    }
    for (const route of routes.extra ?? []) {
      jsonGet(route.url, async (reply) => {
        const result = await route.handler();
        reply.code(200).type(JSON_CONTENT_TYPE).send(serializeMessage(result));
      });
    }
  });

  async function listen(): Promise<RPCServerAddress> {
    await app.listen({ host: opts.host, port: opts.port });
    const addr = app.server.address() as AddressInfo;
    const hostPort = `${urlHost(addr.address, addr.family)}:${addr.port}`;
    pingTimer = setInterval(() => {
      for (const conn of connections) {
        if (!conn.alive) conn.terminate();
        else if (conn.isOpen()) conn.ping();
      }
    }, WS_PING_INTERVAL_MS);
    pingTimer.unref();
    logger.info("RPC server listening", { url: `http://${hostPort}` });
    return { host: addr.address, port: addr.port, url: `http://${hostPort}`, wsUrl: `ws://${hostPort}` };
  }

  async function doClose(): Promise<void> {
    closing = true;
    if (pingTimer !== undefined) clearInterval(pingTimer);
    const open = [...connections];
    for (const conn of open) conn.close(WS_CLOSE_GOING_AWAY, "server shutting down");
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      graceTimer = setTimeout(resolve, WS_CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.all(open.map((c) => c.closed)), grace]);
    clearTimeout(graceTimer);
    for (const conn of connections) conn.terminate();
    await Promise.all([...connections].map((c) => c.closed));
    // Shutdown is bounded: HTTP requests still open after the grace period (a client that keeps a request
    // going, or a connection stuck mid-request) are cut rather than holding the node's exit forever.
    front?.closeIdle();
    const cut = setTimeout(() => {
      app.server.closeAllConnections();
      front?.closeAll();
    }, WS_CLOSE_GRACE_MS);
    try {
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  }

  return {
    listen,
    close(): Promise<void> {
      closePromise ??= doClose();
      return closePromise;
    },
  };
}
