/**
 * The request-head reader of the keep-alive fronts (`httpFront.ts`): it recognises the one shape a
 * front answers itself — a POST whose request line starts with the shape's fixed bytes (`POST / HTTP/1.1`
 * for JSON-RPC; `POST /v1/infer/` + a target for the worker's metered calls), one `Host`, one
 * `Content-Length` within the body limit, no `Transfer-Encoding`, `Upgrade` or `Expect`, `Connection`
 * absent or `keep-alive` — in a strict subset of the HTTP/1.1 grammar (CRLF line ends, token header
 * names, visible-ASCII values), and says "other" for anything else, so that Node's HTTP parser, which
 * the front hands such a connection to, decides every case that is not plainly this one. Pure: bytes
 * in, verdict out.
 */

/** The verdict on the bytes at the start of a connection's buffer. */
export type HeadVerdict =
  /** Not enough bytes yet to tell (a prefix of an acceptable head). */
  | { kind: "partial" }
  /** Anything the front does not answer itself: hand the connection to Node's HTTP server. */
  | { kind: "other" }
  /**
   * An acceptable POST; its body is `bodyLength` bytes from `bodyStart`. With a target shape, `target` is the
   * request target after the fixed start; `headers` holds the shape's captured headers that came (lower-case names).
   */
  | { kind: "take"; bodyStart: number; bodyLength: number; target?: string; headers?: Record<string, string> };

export type Taken = Extract<HeadVerdict, { kind: "take" }>;

/** The request shape a front takes (made once by `headShape`). */
export interface HeadShape {
  /** The request line's fixed start. */
  readonly line: Buffer;
  /** Whether a target (visible ASCII, up to a space) follows `line`, then ` HTTP/1.1`. */
  readonly target: boolean;
  /** Header names (lower-case) whose value is returned; one of them sent twice makes the head "other". */
  readonly capture: ReadonlySet<string>;
  /** Lengths of the names looked at, so that other names are never lower-cased. */
  readonly lengths: ReadonlySet<number>;
}

/** Header names that decide every verdict. */
const DECIDING = ["host", "content-length", "connection", "transfer-encoding", "upgrade", "expect"];

/** A shape: `line` is the whole request line (CRLF included) without a target, its fixed start with one. */
export function headShape(line: string, opts: { target?: boolean; capture?: readonly string[] } = {}): HeadShape {
  const capture = new Set(opts.capture ?? []);
  return {
    line: Buffer.from(line, "latin1"),
    target: opts.target ?? false,
    capture,
    lengths: new Set([...DECIDING, ...capture].map((n) => n.length)),
  };
}

export interface HeadLimits {
  /** Largest body taken (the server's body limit); larger goes to Node (and fastify's 413). */
  bodyLimit: number;
  /** Largest head taken, request line included; Node's own limit (16 KiB) is above it. */
  maxHeadBytes: number;
  /** Most header lines taken. */
  maxHeaders: number;
}

export const DEFAULT_HEAD_LIMITS: Omit<HeadLimits, "bodyLimit"> = { maxHeadBytes: 8192, maxHeaders: 64 };

const PARTIAL: HeadVerdict = { kind: "partial" };
const OTHER: HeadVerdict = { kind: "other" };
const RPC_SHAPE = headShape("POST / HTTP/1.1\r\n");
const VERSION = Buffer.from(" HTTP/1.1\r\n", "latin1");
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
/** Longest Content-Length value read (15 digits stay a safe integer). */
const MAX_LENGTH_DIGITS = 15;

/** RFC 9110 tchar: the bytes of a header name. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

function isValueByte(b: number): boolean {
  return b === 0x09 || (b >= 0x20 && b <= 0x7e);
}

function isBlank(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

function isSpace(b: number): boolean {
  return b === 0x20;
}

/**
 * Reads the head of the JSON-RPC request starting at `start` in `buf`. Never throws; "take" only for
 * heads Node parses as the same request (checked on random and mutated heads against Node's server by
 * test/unit/rpc/transport/httpHead.test.ts).
 */
export function readRpcHead(buf: Buffer, start: number, limits: HeadLimits): HeadVerdict {
  return readHead(buf, start, limits, RPC_SHAPE);
}

/** Reads the head of a request of `shape` starting at `start` in `buf` (as `readRpcHead`). */
export function readHead(buf: Buffer, start: number, limits: HeadLimits, shape: HeadShape): HeadVerdict {
  const end = buf.length;
  const line = shape.line;
  for (let i = 0; i < line.length; i++) {
    if (start + i >= end) return PARTIAL;
    if (buf[start + i] !== line[i]) return OTHER;
  }
  const headLimit = start + limits.maxHeadBytes;
  let pos = start + line.length;
  let target: string | undefined;
  if (shape.target) {
    const targetStart = pos;
    while (pos < end && buf[pos] > 0x20 && buf[pos] < 0x7f) pos++;
    if (pos === targetStart && pos < end) return OTHER;
    for (let i = 0; i < VERSION.length; i++, pos++) {
      if (pos >= end) return pos > headLimit ? OTHER : PARTIAL;
      if (buf[pos] !== VERSION[i]) return OTHER;
    }
    if (pos > headLimit) return OTHER;
    target = buf.toString("latin1", targetStart, pos - VERSION.length);
  }
  let captured: Record<string, string> | undefined;
  let headers = 0;
  let hosts = 0;
  let length = -1;
  for (;;) {
    if (pos >= end) return pos > headLimit ? OTHER : PARTIAL;
    if (buf[pos] === CR) {
      if (pos + 1 >= end) return pos + 1 > headLimit ? OTHER : PARTIAL;
      if (buf[pos + 1] !== LF || pos + 2 > headLimit) return OTHER;
      if (hosts !== 1 || length < 0 || length > limits.bodyLimit) return OTHER;
      if (!shape.target && captured === undefined) return { kind: "take", bodyStart: pos + 2, bodyLength: length };
      return { kind: "take", bodyStart: pos + 2, bodyLength: length, target, headers: captured ?? {} };
    }
    if (++headers > limits.maxHeaders) return OTHER;
    const nameStart = pos;
    while (pos < end && TCHAR[buf[pos]] === 1) pos++;
    if (pos >= end) return pos > headLimit ? OTHER : PARTIAL;
    if (buf[pos] !== COLON || pos === nameStart) return OTHER;
    const nameEnd = pos++;
    while (pos < end && isValueByte(buf[pos])) pos++;
    if (pos >= end || (buf[pos] === CR && pos + 1 >= end)) return pos + 1 > headLimit ? OTHER : PARTIAL;
    if (buf[pos] !== CR || buf[pos + 1] !== LF) return OTHER;
    let valueStart = nameEnd + 1;
    let valueEnd = pos;
    pos += 2;
    if (pos > headLimit) return OTHER;
    if (!shape.lengths.has(nameEnd - nameStart)) continue;
    while (valueStart < valueEnd && isBlank(buf[valueStart])) valueStart++;
    // llhttp takes a tab before a Content-Length's digits and spaces after them, but refuses a tab
    // after them ("Invalid character in Content-Length"): a trailing tab stays and fails the digits.
    const name = buf.toString("latin1", nameStart, nameEnd).toLowerCase();
    const trailing = name === "content-length" ? isSpace : isBlank;
    while (valueEnd > valueStart && trailing(buf[valueEnd - 1])) valueEnd--;
    switch (name) {
      case "host":
        hosts++;
        break;
      case "content-length": {
        const digits = valueEnd - valueStart;
        if (length >= 0 || digits < 1 || digits > MAX_LENGTH_DIGITS) return OTHER;
        length = 0;
        for (let i = valueStart; i < valueEnd; i++) {
          const d = buf[i] - 0x30;
          if (d < 0 || d > 9) return OTHER;
          length = length * 10 + d;
        }
        break;
      }
      case "connection":
        if (buf.toString("latin1", valueStart, valueEnd).toLowerCase() !== "keep-alive") return OTHER;
        break;
      case "transfer-encoding":
      case "upgrade":
      case "expect":
        return OTHER;
      default:
        if (!shape.capture.has(name)) break;
        captured ??= {};
        if (captured[name] !== undefined) return OTHER;
        captured[name] = buf.toString("latin1", valueStart, valueEnd);
    }
  }
}
