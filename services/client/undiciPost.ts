import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";

/** A whole answer to one POST: its body, the body's sha256 and where the call's time went. */
export interface PostAnswer {
  status: number;
  /** Lowercase names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** sha256 of the body, hex. */
  sha256: string;
  /** ms from the call: request body written, response head, last byte hashed. */
  timing: { sent: number; head: number; end: number };
}

export class AnswerCutError extends Error {
  readonly code = "ANSWER_CUT";
  constructor(got: number, declared: number) {
    super(`answer cut: ${got} of ${declared} bytes`);
  }
}

/**
 * A pool of keep-alive connections to one origin, one request at a time on each (`pipelining: 1`). A plain
 * `undici.Pool` follows no redirect and retries nothing (redirects and retries are interceptors in undici 7, and
 * none is composed here): a POST that fails is reported, never sent twice — a receipt pays once.
 */
export function originPool(origin: string): Pool {
  return new Pool(origin, { pipelining: 1 });
}

/** POSTs `body` (one Buffer, content-length set) and reads the whole answer, hashing it as its bytes arrive. */
export async function postWhole(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<PostAnswer> {
  const t0 = performance.now();
  const timing = { sent: 0, head: 0, end: 0 };
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const res = await pool.request({ method: "POST", path, headers, body: buf });
  timing.head = performance.now() - t0;
  // undici's request() gives no "body written" event; a whole answer means the body was taken
  const declared = Number(res.headers["content-length"]);
  const sized = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafeSlow(declared) : null;
  const hash = createHash("sha256");
  const parts: Buffer[] = [];
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    res.body.on("data", (c: Buffer) => {
      hash.update(c);
      if (sized !== null && got + c.length <= sized.length) c.copy(sized, got);
      else parts.push(c);
      got += c.length;
    });
    res.body.on("end", resolve);
    res.body.on("error", reject);
  });
  if (sized !== null && (got !== declared || parts.length > 0)) throw new AnswerCutError(got, declared);
  timing.end = performance.now() - t0;
  timing.sent = timing.head;
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v;
  return {
    status: res.statusCode,
    headers: flat,
    body: sized ?? (parts.length === 1 ? parts[0] : Buffer.concat(parts, got)),
    sha256: hash.digest("hex"),
    timing,
  };
}

/** The same over `dispatch()` with a handler: no Readable for the answer, its chunks hashed in the callbacks. */
export function postWholeDispatch(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<PostAnswer> {
  const t0 = performance.now();
  const timing = { sent: 0, head: 0, end: 0 };
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return new Promise((resolve, reject) => {
    let status = 0;
    let flat: Record<string, string> = {};
    let sized: Buffer | null = null;
    let declared = -1;
    const hash = createHash("sha256");
    const parts: Buffer[] = [];
    let got = 0;
    pool.dispatch(
      { method: "POST", path, headers, body: buf },
      {
        onRequestStart() {}, // marks the handler as undici 7's controller API
        onResponseStart(_c, statusCode, h) {
          timing.head = performance.now() - t0;
          timing.sent = timing.head;
          status = statusCode;
          flat = {};
          for (const [k, v] of Object.entries(h)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v;
          declared = Number(flat["content-length"] ?? -1);
          sized = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafeSlow(declared) : null;
        },
        onResponseData(_c, chunk) {
          hash.update(chunk);
          if (sized !== null && got + chunk.length <= sized.length) chunk.copy(sized, got);
          else parts.push(chunk);
          got += chunk.length;
        },
        onResponseEnd() {
          if (sized !== null && (got !== declared || parts.length > 0))
            return reject(new AnswerCutError(got, declared));
          const sha256 = hash.digest("hex");
          timing.end = performance.now() - t0;
          resolve({
            status,
            headers: flat,
            body: sized ?? (parts.length === 1 ? parts[0] : Buffer.concat(parts, got)),
            sha256,
            timing,
          });
        },
        onResponseError(_c, e) {
          reject(e);
        },
      },
    );
  });
}
