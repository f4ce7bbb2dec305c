/**
 * A keep-alive JSON-RPC front on the RPC port's sockets, before Node's HTTP server. Each accepted
 * connection is read here: while its requests are plain JSON-RPC POSTs (`readRpcHead`), they are
 * answered here — pipelined ones in order, heads and bodies split over packets or packed into one —
 * with the bytes Node's HTTP server writes for the fast path's `writeHead` + `end` (status line,
 * the same headers in the same order, Date, `Connection: keep-alive`, `Keep-Alive: timeout=N`). At
 * the first request that is anything else, once the answers before it are written, the connection is
 * given to Node's HTTP server with the bytes not consumed, so WebSocket upgrades, GETs, chunked or
 * oversized bodies, HTTP/1.0, `Connection: close`, `Expect`, malformed requests and shutdown keep
 * Node's and fastify's behaviour exactly. Why: Node's HTTP machinery (parser, IncomingMessage and
 * ServerResponse streams) is most of a small request's server CPU (README, issue 14, "front14").
 */
import type { Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import { type HeadLimits, readRpcHead } from "./httpHead.js";

/** What the front answers a JSON-RPC body with: 200 with a body, 204 without, or 500 with a body. */
export interface FrontAnswer {
  status: 200 | 204 | 500;
  body?: string;
}

export interface HttpFrontOptions {
  limits: HeadLimits;
  /** Node's HTTP server the connections are handed to; its settings give the timeouts. */
  httpServer: HttpServer;
  /** Node's own `connection` listener of `httpServer` (the front took its place). */
  nodeConnectionListener: (socket: Socket) => void;
  answer(body: string, remoteAddress: string | undefined): Promise<FrontAnswer>;
  /** The server is shutting down: requests from now on go to Node (and fastify's 503). */
  closing(): boolean;
}

export interface HttpFront {
  /** The `connection` listener to install on `httpServer`. */
  accept(socket: Socket): void;
  /** Ends every connection with no request in flight; the others end after their answers. */
  closeIdle(): void;
  /** Destroys every connection still read by the front. */
  closeAll(): void;
}

/** Answers queued on one connection beyond which the front stops reading it. */
const MAX_QUEUED_ANSWERS = 64;
/** Bytes buffered while a hand-off waits for earlier answers beyond which the socket is paused. */
const MAX_HELD_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const CONTENT_HEAD = "content-type: application/json; charset=utf-8\r\ncontent-length: ";
const CORS = "access-control-allow-origin: *\r\n";

/** Node's `Date` header value, made at most once a second as Node's own cache does. */
let dateSecond = -1;
let dateText = "";
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** The response bytes Node writes for the fast path's `writeHead(status, headers)` + `end(body)`. */
export function responseBytes(answer: FrontAnswer, keepAlive: string): string {
  const tail = `Date: ${httpDate()}\r\n${keepAlive}\r\n\r\n`;
  if (answer.status === 204) return `HTTP/1.1 204 No Content\r\n${CORS}${tail}`;
  const body = answer.body ?? "";
  const status = answer.status === 200 ? "200 OK" : "500 Internal Server Error";
  return `HTTP/1.1 ${status}\r\n${CONTENT_HEAD}${Buffer.byteLength(body)}\r\n${CORS}${tail}${body}`;
}

function requestTimeoutError(): Error {
  return Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
}

function invalidEofError(): Error {
  return Object.assign(new Error("Parse Error: Invalid EOF state"), { code: "HPE_INVALID_EOF_STATE" });
}

export function createHttpFront(opts: HttpFrontOptions): HttpFront {
  const { httpServer, limits } = opts;
  const live = new Set<FrontConnection>();

  class FrontConnection {
    private buf: Buffer = EMPTY;
    /** Answers not yet written, in request order. */
    private queued = 0;
    private tail: Promise<void> = Promise.resolve();
    /** "front" while requests are answered here, "handing" while earlier answers are written before the hand-off. */
    private state: "front" | "handing" | "gone" = "front";
    private paused = false;
    private headTimer: NodeJS.Timeout | undefined;
    private readonly keepAlive =
      `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(httpServer.keepAliveTimeout / 1000)}`;

    constructor(private readonly socket: Socket) {
      socket.on("data", this.onData);
      socket.on("end", this.onEnd);
      socket.on("error", this.onError);
      socket.on("timeout", this.onTimeout);
      socket.on("close", this.onClose);
      socket.on("drain", this.onDrain);
      // Node starts a connection's header clock when it accepts it: a connection that sends nothing is timed out too.
      this.armHeadTimer();
    }

    get idle(): boolean {
      return this.queued === 0 && this.buf.length === 0 && this.state === "front";
    }

    destroy(): void {
      this.socket.destroy();
    }

    private readonly onData = (chunk: Buffer): void => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      if (this.state === "front") this.serve();
      this.settle();
    };

    /** Answers the complete JSON-RPC requests at the start of the buffer; stops at a partial or other one. */
    private serve(): void {
      while (this.buf.length > 0 && this.queued < MAX_QUEUED_ANSWERS) {
        const head = readRpcHead(this.buf, 0, limits);
        if (head.kind === "other" || (head.kind === "rpc" && opts.closing())) {
          this.state = "handing";
          this.clearHeadTimer();
          return;
        }
        if (head.kind === "partial") {
          this.armHeadTimer();
          return;
        }
        this.clearHeadTimer();
        const end = head.bodyStart + head.bodyLength;
        if (this.buf.length < end) {
          // A body on its way is not timed (fastify's requestTimeout is 0).
          this.socket.setTimeout(0);
          return;
        }
        const body = this.buf.toString("utf8", head.bodyStart, end);
        this.buf = end === this.buf.length ? EMPTY : this.buf.subarray(end);
        this.dispatch(body);
      }
    }

    private dispatch(body: string): void {
      // A request in flight is not timed (Node: server.timeout 0, requestTimeout 0 under fastify).
      if (this.queued++ === 0) this.socket.setTimeout(0);
      const answer = opts.answer(body, this.socket.remoteAddress);
      this.tail = this.tail.then(async () => {
        const result = await answer;
        // Handed on early (the peer ended its side) or closed: Node would not write this answer either.
        if (this.state === "gone" || this.socket.destroyed) return;
        this.socket.write(responseBytes(result, this.keepAlive));
        this.queued--;
        if (this.state === "front") this.serve();
        if (this.queued === 0 && this.state === "front" && this.buf.length === 0) {
          if (opts.closing()) this.socket.end();
          else this.socket.setTimeout(httpServer.keepAliveTimeout);
        }
        this.settle();
      });
    }

    /** After each event: hands the connection on or closes it once its answers are written, else adjusts reading. */
    private settle(): void {
      if (this.state === "gone") return;
      if (this.queued === 0 && this.state === "handing") this.finishHandOff();
      else this.updateFlow();
    }

    /** Reads on while answers are few and written out (as Node's HTTP server pauses a pipelining client). */
    private updateFlow(): void {
      const hold =
        this.queued >= MAX_QUEUED_ANSWERS ||
        this.socket.writableNeedDrain ||
        (this.state === "handing" && this.buf.length > MAX_HELD_BYTES);
      if (hold === this.paused) return;
      this.paused = hold;
      if (hold) this.socket.pause();
      else this.socket.resume();
    }

    private readonly onDrain = (): void => {
      this.settle();
    };

    /** Gives the connection, with the bytes not consumed, to Node's HTTP server: as if it had just been accepted. */
    private finishHandOff(): void {
      this.detach();
      const rest = this.buf;
      this.buf = EMPTY;
      if (rest.length > 0) this.socket.unshift(rest);
      opts.nodeConnectionListener(this.socket);
      if (this.paused) this.socket.resume();
    }

    /**
     * The peer ended its side. Node's HTTP server (no half-open HTTP) then drops the requests it has not answered and
     * ends the connection, or answers a request cut short with fastify's 400: the same here. (With a hand-off
     * waiting, the connection is ended: Node would drop the request to hand on too, or 400 it if it is cut short.)
     */
    private readonly onEnd = (): void => {
      if (this.state === "gone") return;
      const cutShort = this.state === "front" && this.buf.length > 0;
      this.detach();
      if (cutShort) httpServer.emit("clientError", invalidEofError(), this.socket);
      else this.socket.end();
    };

    private readonly onTimeout = (): void => {
      this.socket.destroy();
    };

    private readonly onError = (): void => {
      this.socket.destroy();
    };

    private readonly onClose = (): void => {
      this.clearHeadTimer();
      live.delete(this);
    };

    private armHeadTimer(): void {
      if (this.headTimer !== undefined) return;
      this.headTimer = setTimeout(() => {
        this.headTimer = undefined;
        // What Node's connection check does to a head that took longer than headersTimeout: fastify's clientError
        // handler answers 408 and destroys the socket.
        this.detach();
        httpServer.emit("clientError", requestTimeoutError(), this.socket);
      }, httpServer.headersTimeout);
      this.headTimer.unref();
    }

    private clearHeadTimer(): void {
      if (this.headTimer === undefined) return;
      clearTimeout(this.headTimer);
      this.headTimer = undefined;
    }

    /** Stops reading the socket here (it is handed on, or timed out). */
    private detach(): void {
      this.state = "gone";
      this.clearHeadTimer();
      live.delete(this);
      const s = this.socket;
      s.removeListener("data", this.onData);
      s.removeListener("end", this.onEnd);
      s.removeListener("timeout", this.onTimeout);
      s.removeListener("close", this.onClose);
      s.removeListener("drain", this.onDrain);
      s.setTimeout(0);
      // Keep an error listener until Node's own is on: an error in between must not crash the process.
      s.removeListener("error", this.onError);
      s.on("error", noop);
    }
  }

  return {
    accept(socket: Socket): void {
      live.add(new FrontConnection(socket));
    },
    closeIdle(): void {
      for (const c of live) if (c.idle) c.destroy();
    },
    closeAll(): void {
      for (const c of live) c.destroy();
    },
  };
}

function noop(): void {}
