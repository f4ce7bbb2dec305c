/**
 * The request-head reader of the keep-alive JSON-RPC front (`httpFront.ts`): it recognises the one
 * shape the front answers itself — `POST / HTTP/1.1`, one `Host`, one `Content-Length` within the
 * body limit, no `Transfer-Encoding`, `Upgrade` or `Expect`, `Connection` absent or `keep-alive` —
 * in a strict subset of the HTTP/1.1 grammar (CRLF line ends, token header names, visible-ASCII
 * values), and says "other" for anything else, so that Node's HTTP parser, which the front hands
 * such a connection to, decides every case that is not plainly this one. Pure: bytes in, verdict out.
 */

/** The verdict on the bytes at the start of a connection's buffer. */
export type HeadVerdict =
  /** Not enough bytes yet to tell (a prefix of an acceptable head). */
  | { kind: "partial" }
  /** Anything the front does not answer itself: hand the connection to Node's HTTP server. */
  | { kind: "other" }
  /** An acceptable JSON-RPC POST; its body is `bodyLength` bytes from `bodyStart`. */
  | { kind: "rpc"; bodyStart: number; bodyLength: number };

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
const REQUEST_LINE = Buffer.from("POST / HTTP/1.1\r\n", "latin1");
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

/** Header names that decide the verdict, by length, so that other names are never lower-cased. */
const NAMES_BY_LENGTH = new Set([4, 6, 7, 10, 14, 17]);

/**
 * Reads the head of the request starting at `start` in `buf`. Never throws; "rpc" only for heads
 * Node parses as the same request (checked on random and mutated heads against Node's server by
 * test/unit/rpc/transport/httpHead.test.ts).
 */
export function readRpcHead(buf: Buffer, start: number, limits: HeadLimits): HeadVerdict {
  const end = buf.length;
  const lineEnd = start + REQUEST_LINE.length;
  for (let i = 0; i < REQUEST_LINE.length; i++) {
    if (start + i >= end) return PARTIAL;
    if (buf[start + i] !== REQUEST_LINE[i]) return OTHER;
  }
  const headLimit = start + limits.maxHeadBytes;
  let pos = lineEnd;
  let headers = 0;
  let hosts = 0;
  let length = -1;
  for (;;) {
    if (pos >= end) return pos > headLimit ? OTHER : PARTIAL;
    if (buf[pos] === CR) {
      if (pos + 1 >= end) return pos + 1 > headLimit ? OTHER : PARTIAL;
      if (buf[pos + 1] !== LF || pos + 2 > headLimit) return OTHER;
      if (hosts !== 1 || length < 0 || length > limits.bodyLimit) return OTHER;
      return { kind: "rpc", bodyStart: pos + 2, bodyLength: length };
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
    if (!NAMES_BY_LENGTH.has(nameEnd - nameStart)) continue;
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
    }
  }
}
