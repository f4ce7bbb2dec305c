import type { IncomingMessage } from "node:http";

/**
 * Reads an AZT1 request body into one buffer of its own, placed so that the first tensor's data starts on an
 * 8-byte boundary of the underlying ArrayBuffer: the decoder can then view it in place (no per-tensor copy) and
 * an inference thread can take the whole buffer without a copy. Needs a content-length (the buffer is allocated
 * once, uninitialised, and filled as chunks arrive: no chunk list, no concatenation); without one, or when the
 * first chunk is too short to show the header, it falls back to collecting and concatenating.
 */
export const BODY_ALIGN = 8;

/** Byte offset of the first tensor's data in an AZT1 container, or null if `head` is too short to tell. */
export function firstDataOffset(head: Uint8Array): number | null {
  if (head.length < 10) return null;
  const nameLen = head[8] | (head[9] << 8);
  if (head.length < 12 + nameLen) return null;
  const rank = head[11 + nameLen];
  return 12 + nameLen + 4 * rank;
}

/**
 * An uninitialised buffer of `length` bytes on its own ArrayBuffer (safe to move to a thread), placed so that the
 * first tensor's data is 8-byte aligned when `first` (the body's first bytes) shows where it starts.
 */
export function alignedBuffer(length: number, first: Uint8Array): Buffer {
  const pad = alignPad(first);
  return Buffer.allocUnsafeSlow(length + pad).subarray(pad);
}

/** Bytes before a body's start that put its first tensor's data on an 8-byte boundary (0 when `first` can't tell). */
export function alignPad(first: Uint8Array): number {
  const at = firstDataOffset(first);
  return at === null ? 0 : (BODY_ALIGN - (at % BODY_ALIGN)) % BODY_ALIGN;
}

export class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `stop`: when it aborts before the body is in, reading stops (the rest of the body is drained unread) and the
 * promise rejects with its reason — a request refused on its head (a bad receipt) is answered without buffering
 * its upload.
 */
export function readAlignedBody(req: IncomingMessage, limit: number, stop?: AbortSignal): Promise<Buffer> {
  if (stop?.aborted) return Promise.reject(stop.reason);
  const declared = req.headers["content-length"] === undefined ? null : Number(req.headers["content-length"]);
  if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0)) {
    return Promise.reject(new BodyError(400, "bad content-length"));
  }
  if (declared !== null && declared > limit) {
    return Promise.reject(new BodyError(413, `body of ${declared} bytes exceeds ${limit}`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    let body: Buffer | null = null; // the aligned buffer, once placed
    let got = 0;
    const early: Buffer[] = []; // chunks before placement (or all of them without a content-length)
    const place = (): void => {
      const head = early.length === 1 ? early[0] : Buffer.concat(early);
      const at = firstDataOffset(head);
      if (at === null && got < (declared ?? 0) && got < 4096) return; // wait for more of the header
      body = alignedBuffer(declared!, head);
      head.copy(body, 0);
      early.length = 0;
    };
    const onStop = () => {
      fail(stop!.reason as Error);
      req.resume(); // drained, so the connection can carry the answer and the next request
    };
    const fail = (e: Error) => {
      req.removeListener("data", onData);
      stop?.removeEventListener("abort", onStop);
      reject(e);
    };
    const onData = (chunk: Buffer): void => {
      if (got + chunk.length > (declared ?? limit)) {
        fail(new BodyError(declared === null ? 413 : 400, "body longer than its content-length or the limit"));
        return;
      }
      if (body) chunk.copy(body, got);
      else early.push(chunk);
      got += chunk.length;
      if (!body && declared !== null && declared > 0) place();
    };
    stop?.addEventListener("abort", onStop, { once: true });
    req.on("data", onData);
    req.on("error", fail);
    req.on("end", () => {
      if (declared !== null && got !== declared)
        return fail(new BodyError(400, "body shorter than its content-length"));
      stop?.removeEventListener("abort", onStop);
      if (!body) {
        if (declared !== null && declared > 0) place();
        if (!body) body = early.length === 1 ? early[0] : Buffer.concat(early);
      }
      resolve(body);
    });
  });
}
