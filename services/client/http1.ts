import { createHash, type Hash, hash } from "node:crypto";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { connect as tlsConnect } from "node:tls";
import { callTraceOn, monoUs } from "../runtime/callTrace.js";

/**
 * A small HTTP/1.1 client for one origin, made for the metered inference call: a POST whose body is already in
 * memory goes out with its head in one write (one writev, no chunked encoding), and the answer is parsed straight
 * off the socket and hashed (sha256): in one shot once whole when it has a content-length (`crypto.hash`, ~12 µs
 * for 2 KB after an idle wait, against ~25 µs for a `createHash` object, which fetches the digest anew each call on
 * Node 20's OpenSSL 3), else as its bytes arrive. Keep-alive connections are pooled and reused one request
 * at a time; a connection the server closes or answers with `connection: close` is dropped.
 *
 * Why not node:http: for a lone call on this 2-core VM its client costs ~0.4–0.5 ms more than a plain socket
 * (measured against the same node:http server, 10 ms idle between request and answer): ~0.15–0.2 ms to build the
 * ClientRequest and reach the socket, the rest in the response stream's events (bench/transportFloor.ts and
 * README, issue 8).
 *
 * Why not undici (the field's client, already installed): measured against it (commit e56fdcc: a `Pool` per origin,
 * `pipelining: 1`, the body as one Buffer, the answer hashed as it streams; both `request()` and `dispatch()` with a
 * handler), interleaved in the same runs on this VM, a lone 460 KB call cost 0.2–0.45 ms more p50 and 0.2–0.45 ms
 * more client CPU with undici in every run (transportFloor.js, 5 runs; the services bench, 3 runs: client CPU per
 * lone metered call 0.65–0.82 ms here against 1.10–1.29 ms) — over the 0.1 ms a library's upkeep was worth. The
 * cost is undici's per-request machinery (dispatch queue and resume loop, the llhttp wasm parser and its header
 * object, timeout timers, nextTick hops), ~0.25 ms CPU per call in a profile with no single hot spot to fix. Re-run
 * that A/B before growing this file. What it leaves out: request bodies of unknown length, 1xx other than skipped, upgrades, and any
 * retry — a POST that fails is reported, not sent twice (a receipt pays once).
 */
export interface Http1Response {
  status: number;
  /** Lowercase names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** sha256 of the body, hex. */
  sha256: string;
  /** ms from the call: request written to the kernel, response head parsed, last byte hashed. */
  timing: { sent: number; head: number; end: number };
  /**
   * With `AZORA_CALL_TRACE=1` (callTrace.ts): the client's stamps on the machine's monotonic clock (µs) — `start`
   * (the call), `write` (its first write), `sent` (the last byte handed to the kernel), `first` (the answer's first
   * byte read), `end` (its last byte hashed).
   */
  trace?: Record<string, number>;
}

export class HttpProtocolError extends Error {
  constructor(message: string) {
    super(`HTTP: ${message}`);
  }
}

/** Longest response head accepted (status line and headers). */
const MAX_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");
const UNSAFE_HEADER = /[\r\n\0]/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;
const DIGITS = /^\d+$/;

type Pending = {
  resolve: (r: Http1Response) => void;
  reject: (e: Error) => void;
  t0: number;
  timing: Http1Response["timing"];
  onSent?: () => void;
  trace?: Record<string, number>;
};

/** One connection: a parser for the answer to the request in flight on it. */
class Connection {
  private pending: Pending | null = null;
  private buf: Buffer | null = null; // head bytes not yet parsed
  private res: {
    status: number;
    headers: Record<string, string>;
    /** content-length, or -1 for chunked, or -2 for "until close" */
    length: number;
    body: Buffer | null;
    parts: Buffer[];
    got: number;
    /** The running hash of a body without a content-length (a sized one is hashed whole at its end). */
    hash: Hash | null;
    chunkLeft: number; // chunked: bytes left in the current chunk (-1: reading a size line)
    close: boolean;
  } | null = null;
  closed = false;
  /** The request is still being written (the server may answer early, e.g. a 413 from the head alone). */
  private writing = false;

  constructor(
    readonly socket: Socket,
    private readonly onIdle: (c: Connection) => void,
    private readonly onGone: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      try {
        this.feed(d);
      } catch (e) {
        this.fail(e as Error);
      }
    });
    socket.on("error", (e) => this.fail(e));
    socket.on("close", () => this.fail(new HttpProtocolError("connection closed before the answer was complete")));
    socket.on("end", () => {
      if (this.res?.length === -2) this.complete();
      socket.destroy();
    });
  }

  send(head: Buffer, body: Uint8Array, p: Pending): void {
    this.pending = p;
    if (p.trace) p.trace.write = monoUs();
    this.socket.ref();
    this.socket.cork();
    this.socket.write(head);
    this.writing = true;
    this.socket.write(body, () => {
      this.writing = false;
      p.timing.sent = performance.now() - p.t0;
      if (p.trace) p.trace.sent = monoUs();
      p.onSent?.();
    });
    this.socket.uncork();
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = null;
    this.res = null;
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.onGone(this);
    }
    p?.reject(e);
  }

  private feed(d: Buffer): void {
    if (this.pending === null) throw new HttpProtocolError("bytes from the server with no request in flight");
    const trace = this.pending.trace;
    if (trace && trace.first === undefined) trace.first = monoUs();
    let data = d;
    while (data.length > 0) {
      if (this.res === null) {
        const all = this.buf === null ? data : Buffer.concat([this.buf, data]);
        const end = all.indexOf(CRLFCRLF);
        if (end < 0) {
          if (all.length > MAX_HEAD) throw new HttpProtocolError("response head too long");
          this.buf = all;
          return;
        }
        this.buf = null;
        const res = this.parseHead(all.toString("latin1", 0, end));
        data = all.subarray(end + 4);
        if (res === null) continue; // a 1xx answer: the real one follows
        if (res.length === 0) {
          this.complete(data);
          return;
        }
        continue;
      }
      data = this.res.length === -1 ? this.chunked(data) : this.plain(data);
    }
  }

  private parseHead(head: string): Connection["res"] {
    // Scanned with indexOf rather than split into lines: no array of line strings per answer.
    let at = head.indexOf("\r\n");
    if (at < 0) at = head.length;
    const statusLine = head.slice(0, at);
    const m = STATUS_LINE.exec(statusLine);
    if (!m) throw new HttpProtocolError(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    while (at < head.length) {
      const start = at + 2;
      at = head.indexOf("\r\n", start);
      if (at < 0) at = head.length;
      const c = head.indexOf(":", start);
      if (c <= start || c >= at)
        throw new HttpProtocolError(`bad header line ${JSON.stringify(head.slice(start, Math.min(at, start + 80)))}`);
      const name = head.slice(start, c).trim().toLowerCase();
      const value = head.slice(c + 1, at).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    if (status >= 100 && status < 200) return null; // informational (100 Continue): skipped
    const te = headers["transfer-encoding"];
    let length: number;
    if (te !== undefined) {
      if (te.toLowerCase() !== "chunked") throw new HttpProtocolError(`transfer-encoding ${te} not supported`);
      length = -1;
    } else if (headers["content-length"] !== undefined) {
      length = Number(headers["content-length"]);
      if (!DIGITS.test(headers["content-length"]) || !Number.isSafeInteger(length))
        throw new HttpProtocolError(`bad content-length ${headers["content-length"]}`);
    } else length = status === 204 || status === 304 ? 0 : -2;
    const p = this.pending!;
    p.timing.head = performance.now() - p.t0;
    this.res = {
      status,
      headers,
      length,
      // sized once from the content-length: the bytes are copied in as they come, no list, no concatenation
      body: length > 0 ? Buffer.allocUnsafeSlow(length) : null,
      parts: [],
      got: 0,
      hash: length < 0 ? createHash("sha256") : null,
      chunkLeft: -1,
      close: (headers.connection ?? "").toLowerCase().includes("close"),
    };
    return this.res;
  }

  /** Body bytes with a content-length, or until the server closes: returns what is past the body. */
  private plain(d: Buffer): Buffer {
    const r = this.res!;
    if (r.length === -2) {
      r.hash!.update(d);
      r.parts.push(d);
      r.got += d.length;
      return d.subarray(d.length);
    }
    const take = Math.min(d.length, r.length - r.got);
    d.copy(r.body!, r.got, 0, take);
    r.got += take;
    if (r.got === r.length) return this.complete(d.subarray(take));
    return d.subarray(take);
  }

  /** Chunked body bytes: size lines, data, the terminating chunk and (ignored) trailers. */
  private chunked(d: Buffer): Buffer {
    const r = this.res!;
    let data = d;
    while (data.length > 0) {
      if (r.chunkLeft > 0) {
        const take = Math.min(data.length, r.chunkLeft);
        const bytes = data.subarray(0, take);
        r.hash!.update(bytes);
        r.parts.push(bytes);
        r.got += take;
        r.chunkLeft -= take;
        data = data.subarray(take);
        if (r.chunkLeft === 0) r.chunkLeft = -3; // the CRLF after the data
        continue;
      }
      const all = this.buf === null ? data : Buffer.concat([this.buf, data]);
      if (r.chunkLeft === -3) {
        if (all.length < 2) {
          this.buf = all;
          return data.subarray(data.length);
        }
        if (all[0] !== 13 || all[1] !== 10) throw new HttpProtocolError("bad chunk end");
        this.buf = null;
        r.chunkLeft = -1;
        data = all.subarray(2);
        continue;
      }
      // a size line, or after the last chunk the trailers up to an empty line
      const last = r.chunkLeft === -4;
      const end = last ? all.indexOf(CRLFCRLF) : all.indexOf("\r\n");
      const lastEmpty = last && all[0] === 13 && all[1] === 10;
      if (end < 0 && !lastEmpty) {
        if (all.length > MAX_HEAD) throw new HttpProtocolError("chunk header too long");
        this.buf = all;
        return data.subarray(data.length);
      }
      this.buf = null;
      if (last) return this.complete(all.subarray(lastEmpty ? 2 : end + 4));
      const size = Number.parseInt(all.toString("latin1", 0, end).split(";")[0].trim(), 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new HttpProtocolError("bad chunk size");
      data = all.subarray(end + 2);
      r.chunkLeft = size === 0 ? -4 : size;
    }
    return data;
  }

  /** The answer is whole: hand it over, and the connection back to the pool (or close it). */
  private complete(rest: Buffer = Buffer.alloc(0)): Buffer {
    const r = this.res!;
    const p = this.pending!;
    this.res = null;
    this.pending = null;
    const body = r.body !== null ? r.body : r.parts.length === 1 ? r.parts[0] : Buffer.concat(r.parts, r.got);
    const sha256 = r.hash !== null ? r.hash.digest("hex") : hash("sha256", body, "hex");
    p.timing.end = performance.now() - p.t0;
    if (p.trace) p.trace.end = monoUs();
    if (rest.length > 0) {
      p.reject(new HttpProtocolError("bytes after the answer"));
      this.fail(new HttpProtocolError("bytes after the answer"));
    } else {
      // an answer that came before the whole request was written leaves the connection mid-request: not reused
      if (r.close || r.length === -2 || this.writing) {
        this.closed = true;
        this.socket.destroy();
        this.onGone(this);
      } else {
        this.socket.unref();
        this.onIdle(this);
      }
      p.resolve({ status: r.status, headers: r.headers, body, sha256, timing: p.timing, trace: p.trace });
    }
    return rest.subarray(rest.length);
  }
}

/** Keep-alive connections to one origin (`http:` or `https:`), one request at a time on each. */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly host: string;
  private readonly port: number;
  private readonly tls: boolean;
  private readonly hostHeader: string;

  constructor(origin: string) {
    const u = new URL(origin);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`not an http(s) URL: ${origin}`);
    this.tls = u.protocol === "https:";
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = u.port === "" ? (this.tls ? 443 : 80) : Number(u.port);
    this.hostHeader = u.host;
  }

  /**
   * POSTs `body` (content-length set) to `path` and reads the whole answer, hashing it as it arrives. `onSent`: called
   * once the whole request is handed to the kernel (work to do while the answer is awaited, without delaying the
   * upload).
   */
  post(path: string, headers: Record<string, string>, body: Uint8Array, onSent?: () => void): Promise<Http1Response> {
    const t0 = performance.now();
    const trace = callTraceOn() ? { start: monoUs() } : undefined;
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\ncontent-length: ${body.byteLength}\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      if (UNSAFE_HEADER.test(k) || UNSAFE_HEADER.test(v) || k.includes(":"))
        return Promise.reject(new HttpProtocolError(`unsafe header ${JSON.stringify(k)}`));
      head += `${k}: ${v}\r\n`;
    }
    if (UNSAFE_HEADER.test(path) || path.includes(" ") || !path.startsWith("/"))
      return Promise.reject(new HttpProtocolError(`bad path ${JSON.stringify(path)}`));
    const bytes = Buffer.from(`${head}\r\n`, "latin1");
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, t0, timing: { sent: 0, head: 0, end: 0 }, onSent, trace };
      let c = this.idle.pop();
      while (c?.closed) c = this.idle.pop();
      if (c) return c.send(bytes, body, p);
      const socket = this.tls
        ? tlsConnect({ host: this.host, port: this.port, servername: isIP(this.host) ? undefined : this.host })
        : netConnect({ host: this.host, port: this.port });
      const fresh = new Connection(
        socket,
        (x) => this.idle.push(x),
        (x) => {
          const i = this.idle.indexOf(x);
          if (i >= 0) this.idle.splice(i, 1);
        },
      );
      fresh.send(bytes, body, p); // written once connected
    });
  }

  /** Closes the idle connections (those in use close when their answers are in). */
  close(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }
}
