/**
 * A keep-alive front on a port's sockets, before Node's HTTP server. Each accepted connection is read
 * here: while its requests are of the one shape the front takes (its `read`: `readRpcHead` for
 * JSON-RPC POSTs on the RPC port, the worker's metered `POST /v1/infer/<model>` in
 * services/runtime/payments/meteredFront.ts), they are answered here — pipelined ones in order, heads
 * and bodies split over packets or packed into one — with the bytes Node's HTTP server writes for the
 * same `writeHead` + `end` (status line, the same headers in the same order, Date,
 * `Connection: keep-alive`, `Keep-Alive: timeout=N`). At the first request that is anything else, once
 * the answers before it are written, the connection is given to Node's HTTP server with the bytes not
 * consumed, so WebSocket upgrades, GETs, chunked or oversized bodies, HTTP/1.0, `Connection: close`,
 * `Expect`, malformed requests and shutdown keep Node's and fastify's behaviour exactly. Why: Node's HTTP
 * machinery (parser, IncomingMessage and ServerResponse streams) is most of a small request's server CPU
 * (README, issue 14, "front14") and ~0.4 ms of a 459 KB metered upload's (issue 8, "lone8front").
 */
import type { Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import type { HeadVerdict, Taken } from "./httpHead.js";
import { ownReads } from "./ownReads.js";

/** What the JSON-RPC front answers a body with: 200 with a body, 204 without, or 500 with a body. */
export interface FrontAnswer {
  status: 200 | 204 | 500;
  body?: string;
}

/**
 * A front's answer: `head` is the status line and the headers before Date (each line CRLF-ended); the front adds
 * Date, the keep-alive headers and the blank line, and writes it with `body` in one write.
 */
export interface FrontReply {
  head: string;
  body?: string | Buffer;
  /** The head says `connection: close`: no keep-alive headers, and the connection ends once it is written. */
  close?: boolean;
}

/** A request whose head was taken. */
export interface FrontCall {
  /**
   * Called once: with its body when it is whole, or with null when `refused` rejected before (the request is then
   * answered at once, and the rest of its body is read and dropped). Must not reject.
   */
  answer(body: Buffer | null): Promise<FrontReply>;
  /** The connection ended before its body was whole: what the head started (a receipt's hold) is let go. */
  abandon(): void;
  /** A check started at the head whose failure answers the request without waiting for its body. */
  refused?: Promise<unknown>;
  /**
   * Called at each read of the body's bytes after its head's read (not for the bytes that came with the head): the
   * call trace stamps the first, to tell the loop's work after the head (a receipt's check) from the body's reads.
   */
  bodyRead?(): void;
}

export interface HttpFrontOptions {
  /** Node's HTTP server the connections are handed to; its settings give the timeouts. */
  httpServer: HttpServer;
  /** Node's own `connection` listener of `httpServer` (the front took its place). */
  nodeConnectionListener: (socket: Socket) => void;
  /** The verdict on the head starting at `start` (pure; "take" for the requests the front answers). */
  read(buf: Buffer, start: number): HeadVerdict;
  /** Starts a taken request when its head is read (its body may still be on its way). */
  begin(head: Taken, remoteAddress: string | undefined): FrontCall;
  /**
   * The buffer a taken request's body is read into, given the body's first bytes (as many as are in): without it,
   * a body that came whole with its head is a view of the connection's buffer.
   */
  bodyBuffer?(length: number, first: Buffer): Buffer;
  /**
   * Read the sockets into kept buffers (rpc/transport/ownReads.ts) instead of a fresh one per read: heads into one
   * scratch buffer, a taken body's rest straight into its own buffer (one read for a body already queued, no copy).
   * Needs `bodyBuffer` (a body is never a view of the scratch). Ignored, with a warning, on an unchecked Node.
   */
  ownReads?: boolean;
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
/**
 * What own-read sockets read heads (and a body's first bytes) into, shared: each read is handled before the next
 * (libuv calls back per read), and bytes kept past it are copied out. Small, as the body's rest skips it.
 */
const SCRATCH_BYTES = 16 * 1024;
let scratch: Buffer | undefined;
const CONTENT_HEAD = "content-type: application/json; charset=utf-8\r\ncontent-length: ";
const CORS = "access-control-allow-origin: *\r\n";

/** Node's `Date` header value, made at most once a second as Node's own cache does. */
let dateSecond = -1;
let dateText = "";
export function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** The reply for the JSON-RPC fast path's `writeHead(status, headers)` + `end(body)`. */
function rpcReply(answer: FrontAnswer): FrontReply {
  if (answer.status === 204) return { head: `HTTP/1.1 204 No Content\r\n${CORS}` };
  const body = answer.body ?? "";
  const status = answer.status === 200 ? "200 OK" : "500 Internal Server Error";
  return { head: `HTTP/1.1 ${status}\r\n${CONTENT_HEAD}${Buffer.byteLength(body)}\r\n${CORS}`, body };
}

/** The JSON-RPC front's `begin`: each body is answered as text by `answer`. */
export function rpcBegin(
  answer: (body: string, remoteAddress: string | undefined) => Promise<FrontAnswer>,
): HttpFrontOptions["begin"] {
  return (_head, remoteAddress) => ({
    answer: async (body) => rpcReply(await answer(body?.toString("utf8") ?? "", remoteAddress)),
    abandon: noop,
  });
}

function requestTimeoutError(): Error {
  return Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
}

function invalidEofError(): Error {
  return Object.assign(new Error("Parse Error: Invalid EOF state"), { code: "HPE_INVALID_EOF_STATE" });
}

/**
 * Puts a front in place of `httpServer`'s own `connection` listener (before it listens), which then gets each
 * connection at its first request the front does not take. Undefined, leaving Node alone, when the server caps
 * requests per socket: the front writes Node's keep-alive headers with no request count.
 */
export function installHttpFront(
  httpServer: HttpServer,
  opts: Omit<HttpFrontOptions, "httpServer" | "nodeConnectionListener">,
): HttpFront | undefined {
  const [nodeListener] = httpServer.listeners("connection") as ((socket: Socket) => void)[];
  if (nodeListener === undefined || (httpServer.maxRequestsPerSocket ?? 0) > 0) return undefined;
  const front = createHttpFront({
    ...opts,
    httpServer,
    nodeConnectionListener: (socket) => nodeListener.call(httpServer, socket),
  });
  httpServer.removeListener("connection", nodeListener);
  httpServer.on("connection", front.accept);
  return front;
}

function createHttpFront(opts: HttpFrontOptions): HttpFront {
  const { httpServer } = opts;
  const live = new Set<FrontConnection>();

  class FrontConnection {
    private buf: Buffer = EMPTY;
    /** A taken request whose body is being read into its own buffer. */
    private pending: { call: FrontCall; body: Buffer; got: number; answered: boolean } | null = null;
    /** Answers not yet written, in request order. */
    private queued = 0;
    private tail: Promise<void> = Promise.resolve();
    /** "front" while requests are answered here, "handing" while earlier answers are written before the hand-off. */
    private state: "front" | "handing" | "gone" = "front";
    private paused = false;
    private headTimer: NodeJS.Timeout | undefined;
    private readonly keepAlive =
      `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(httpServer.keepAliveTimeout / 1000)}`;

    /** With own reads: the body view the socket reads into next, or null for the scratch buffer. */
    private into: Buffer | null = null;

    constructor(private readonly socket: Socket) {
      const own =
        opts.ownReads === true &&
        opts.bodyBuffer !== undefined &&
        ownReads(socket, { first: scratchBuffer(), callback: this.onRead, next: this.nextBuffer });
      if (!own) socket.on("data", this.onData);
      socket.on("end", this.onEnd);
      socket.on("error", this.onError);
      socket.on("timeout", this.onTimeout);
      socket.on("close", this.onClose);
      socket.on("drain", this.onDrain);
      // Node starts a connection's header clock when it accepts it: a connection that sends nothing is timed out too.
      this.armHeadTimer();
    }

    get idle(): boolean {
      return this.queued === 0 && this.buf.length === 0 && this.pending === null && this.state === "front";
    }

    destroy(): void {
      this.socket.destroy();
    }

    private readonly onData = (data: Buffer): void => {
      this.pending?.call.bodyRead?.();
      const chunk = this.pending === null ? data : this.fill(data);
      if (chunk.length > 0) this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      if (this.state === "front" && this.pending === null) this.serve();
      // An own read's scratch buffer is read into again: what is kept of it (a partial head, bytes held for a
      // hand-off or past a body) is copied out first.
      if (this.buf.buffer === scratch?.buffer) this.buf = Buffer.from(this.buf);
      this.settle();
    };

    /** An own read of `n` bytes into `buf`: the scratch buffer or the body's rest (`into`). */
    private readonly onRead = (n: number, buf: Buffer): boolean => {
      // Handed on: Node's reads (while its parser does not consume the handle) go to the stream, as 'data' would.
      if (this.state === "gone") return this.socket.push(Buffer.from(buf.subarray(0, n)));
      const p = this.pending;
      if (p !== null && buf === this.into) {
        p.call.bodyRead?.();
        p.got += n;
        if (p.got === p.body.length) {
          this.pending = null;
          if (!p.answered) this.dispatch(p.call, p.body);
        }
        this.settle();
        return true;
      }
      this.onData(buf.subarray(0, n));
      return true;
    };

    /** The next own read's buffer: the rest of a body being read (never past its end), else the scratch buffer. */
    private readonly nextBuffer = (): Buffer => {
      const p = this.pending;
      this.into = p !== null && this.state === "front" ? p.body.subarray(p.got) : null;
      return this.into ?? scratchBuffer();
    };

    /** Copies a chunk into the body being read; dispatches it once whole. Returns the bytes past it. */
    private fill(chunk: Buffer): Buffer {
      const p = this.pending as NonNullable<typeof this.pending>;
      const n = Math.min(chunk.length, p.body.length - p.got);
      if (!p.answered) chunk.copy(p.body, p.got, 0, n); // an answered request's body is dropped
      p.got += n;
      if (p.got === p.body.length) {
        this.pending = null;
        if (!p.answered) this.dispatch(p.call, p.body);
      }
      return n === chunk.length ? EMPTY : chunk.subarray(n);
    }

    /** Answers the complete taken requests at the start of the buffer; stops at a partial or other one. */
    private serve(): void {
      while (this.buf.length > 0 && this.queued < MAX_QUEUED_ANSWERS) {
        const head = opts.read(this.buf, 0);
        if (head.kind === "other" || (head.kind === "take" && opts.closing())) {
          this.state = "handing";
          this.clearHeadTimer();
          return;
        }
        if (head.kind === "partial") {
          this.armHeadTimer();
          return;
        }
        this.clearHeadTimer();
        const call = opts.begin(head, this.socket.remoteAddress);
        const end = head.bodyStart + head.bodyLength;
        if (this.buf.length >= end && opts.bodyBuffer === undefined) {
          const body = this.buf.subarray(head.bodyStart, end);
          this.buf = end === this.buf.length ? EMPTY : this.buf.subarray(end);
          this.dispatch(call, body);
          continue;
        }
        // The body goes into its own buffer as it comes (one copy, not a concatenation per chunk).
        const first = this.buf.subarray(head.bodyStart, Math.min(end, this.buf.length));
        const body = opts.bodyBuffer?.(head.bodyLength, first) ?? Buffer.allocUnsafe(head.bodyLength);
        const rest = end >= this.buf.length ? EMPTY : this.buf.subarray(end);
        this.buf = EMPTY;
        const pending = { call, body, got: 0, answered: false };
        this.pending = pending;
        this.fill(first); // all of `first` goes in: it ends at the body's end
        this.buf = rest;
        if (this.pending !== null) {
          call.refused?.catch(() => {
            if (this.pending !== pending || this.state !== "front") return;
            pending.answered = true;
            this.dispatch(call, null);
            this.settle();
          });
          // A body on its way is not timed (fastify's requestTimeout is 0).
          this.socket.setTimeout(0);
          return;
        }
      }
    }

    private dispatch(call: FrontCall, body: Buffer | null): void {
      // A request in flight is not timed (Node: server.timeout 0, requestTimeout 0 under fastify).
      if (this.queued++ === 0) this.socket.setTimeout(0);
      const reply = call.answer(body);
      this.tail = this.tail.then(async () => {
        const r = await reply;
        // Handed on early (the peer ended its side) or closed: Node would not write this answer either.
        if (this.state === "gone" || this.socket.destroyed) return;
        const head = `${r.head}Date: ${httpDate()}\r\n${r.close ? "" : `${this.keepAlive}\r\n`}\r\n`;
        if (typeof r.body === "object") this.socket.write(Buffer.concat([Buffer.from(head, "latin1"), r.body]));
        else this.socket.write(r.body === undefined ? head : head + r.body);
        if (r.close) {
          // As Node after a response with `connection: close`: nothing more is read or answered.
          this.detach();
          this.socket.destroySoon();
          return;
        }
        this.queued--;
        if (this.state === "front") this.serve();
        if (this.idle) {
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
      const cutShort = this.state === "front" && (this.buf.length > 0 || this.pending !== null);
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
      this.abandon();
      live.delete(this);
    };

    /** A body that will not come whole: its call is told, to let go of what it started at the head. */
    private abandon(): void {
      if (this.pending === null) return;
      if (!this.pending.answered) this.pending.call.abandon();
      this.pending = null;
    }

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
      this.abandon();
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

function scratchBuffer(): Buffer {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  return scratch;
}

function noop(): void {}
