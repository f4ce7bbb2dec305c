// A lean keep-alive HTTP/1.1 JSON-RPC client on bare node:net sockets, for the bench's eth_call phase: the
// node:http client (bench/rpc.ts) spends 70–110 µs of CPU per call on this 2-core machine, more than the node it
// measures (README, rpc15), so at 20 callers its calls/s is the client's ceiling rather than the server's. Here a
// request is bytes written once per call (built ahead by the caller) and an answer is parsed with one header scan
// and JSON.parse of the body; one request in flight per connection, as the node:http client's callers have.
// Every answer is still checked: HTTP status, the JSON-RPC id, an error member, and the result by the caller.
import { connect, type Socket } from "node:net";

/** The bytes of a `POST` of `body` as JSON to `url` (keep-alive: HTTP/1.1's default). */
export function postBytes(url: string, body: string): Buffer {
  const u = new URL(url);
  const path = u.pathname === "" ? "/" : u.pathname;
  return Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const CRLF2 = Buffer.from("\r\n\r\n");

interface Answer {
  status: number;
  body: string;
  close: boolean;
}

/**
 * One complete HTTP/1.1 response at the start of `buf`: the answer and the offset past it, or null when more bytes
 * are needed. Bodies by Content-Length or chunked transfer coding (Anvil's hyper and node:http both send the former
 * for JSON-RPC answers; the latter is read for safety).
 */
export function parseResponse(buf: Buffer): { answer: Answer; end: number } | null {
  const head = buf.indexOf(CRLF2);
  if (head < 0) return null;
  const headers = buf.toString("latin1", 0, head);
  if (!headers.startsWith("HTTP/1.")) throw new Error(`not an HTTP response: ${JSON.stringify(headers.slice(0, 80))}`);
  const status = Number(headers.slice(9, 12));
  const close = /\r\nconnection: *close/i.test(headers);
  const len = /\r\ncontent-length: *(\d+)/i.exec(headers);
  if (len !== null) {
    const end = head + 4 + Number(len[1]);
    if (buf.length < end) return null;
    return { answer: { status, body: buf.toString("utf8", head + 4, end), close }, end };
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(headers)) {
    throw new Error(`response without content-length or chunked body: ${JSON.stringify(headers.slice(0, 200))}`);
  }
  const parts: Buffer[] = [];
  let at = head + 4;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return null;
    const size = Number.parseInt(buf.toString("latin1", at, eol), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    if (size === 0) {
      // No trailers expected: the last chunk's line, then the blank line.
      if (buf.length < eol + 4) return null;
      return { answer: { status, body: Buffer.concat(parts).toString("utf8"), close }, end: eol + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** One keep-alive connection with one request in flight; reconnects when the server closed it between requests. */
export class LeanConnection {
  private socket: Socket | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | null = null;

  /** `url`: the node's JSON-RPC endpoint; a request waiting longer than `timeoutMs` fails and drops the socket. */
  constructor(
    readonly url: string,
    readonly timeoutMs = 30_000,
  ) {}

  /** The answer's body when the status is 200, else an error (so is a closed connection or a timeout). */
  async post(request: Buffer): Promise<string> {
    if (this.waiting !== null) throw new Error("LeanConnection: one request at a time");
    const socket = this.socket ?? (await this.open());
    const answer = await new Promise<Answer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(request);
    });
    if (answer.close) this.drop(null);
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
    return answer.body;
  }

  close(): void {
    this.drop(new Error("connection closed by the client"));
  }

  private open(): Promise<Socket> {
    const { hostname, port } = new URL(this.url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(port), hostname);
      s.setNoDelay(true);
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        s.setTimeout(this.timeoutMs);
        s.on("timeout", () => this.drop(new Error(`no response within ${this.timeoutMs} ms from ${this.url}`), s));
        s.on("error", (e) => this.drop(e, s));
        s.on("close", () => this.drop(new Error("the server closed the connection"), s));
        s.on("data", (chunk: Buffer) => this.onData(chunk));
        this.socket = s;
        this.pending = Buffer.alloc(0);
        resolve(s);
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.pending);
    } catch (e) {
      this.drop(e as Error);
      return;
    }
    if (parsed === null) return;
    this.pending = this.pending.subarray(parsed.end);
    const w = this.waiting;
    this.waiting = null;
    if (w === null || this.pending.length > 0) {
      this.drop(new Error("unsolicited bytes from the server"));
      w?.reject(new Error("unsolicited bytes from the server"));
      return;
    }
    w.resolve(parsed.answer);
  }

  /** Forgets the socket (only `only`, when given and still current) and fails the request waiting on it. */
  private drop(err: Error | null, only?: Socket): void {
    if (only !== undefined && only !== this.socket) return;
    const s = this.socket;
    this.socket = null;
    this.pending = Buffer.alloc(0);
    s?.destroy();
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) w.reject(err ?? new Error("connection dropped"));
  }
}

/**
 * The result of one JSON-RPC answer `body` to the request of id `id`; throws on an error member, a missing result
 * or another id (a client that mixed answers up must not count them as right).
 */
export function rpcResult(body: string, id: number): unknown {
  let res: { id?: unknown; result?: unknown; error?: { code?: number; message?: string } };
  try {
    res = JSON.parse(body) as typeof res;
  } catch {
    throw new Error(`invalid JSON: ${body.slice(0, 300)}`);
  }
  if (res === null || typeof res !== "object") throw new Error(`malformed response: ${body.slice(0, 300)}`);
  if (res.error !== undefined) throw new Error(`${res.error.message ?? "error"} (code ${res.error.code ?? "?"})`);
  if (res.id !== id) throw new Error(`answer to id ${JSON.stringify(res.id)}, expected ${id}`);
  if (!("result" in res)) throw new Error(`no result: ${body.slice(0, 300)}`);
  return res.result;
}
