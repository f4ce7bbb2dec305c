import { CodecError } from "../../../runtime/primitives/codecError.js";
import { ReqRespErrorCode } from "../errors.js";
import { decodeChunk, decodeErrorMessage, ResponseCode } from "./codec.js";

/** Requests other than direct are tiny: an RLP list of at most two integers. */
export const MAX_SMALL_REQUEST_BYTES = 128;

/** What lpStream throws for a malformed length prefix or an oversize frame. */
export const FRAMING_ERRORS: ReadonlySet<string> = new Set([
  "InvalidDataLengthError",
  "InvalidDataLengthLengthError",
  "InvalidMessageLengthError",
]);

const ERROR_CODES: Partial<Record<ResponseCode, ReqRespErrorCode>> = {
  [ResponseCode.INVALID_REQUEST]: ReqRespErrorCode.INVALID_REQUEST,
  [ResponseCode.SERVER_ERROR]: ReqRespErrorCode.SERVER_ERROR,
  [ResponseCode.UNAVAILABLE]: ReqRespErrorCode.UNAVAILABLE,
  [ResponseCode.IGNORED]: ReqRespErrorCode.IGNORED,
  [ResponseCode.REJECTED]: ReqRespErrorCode.REJECTED,
};

/** A read failure the peer caused: a frame that does not decode, a length above the cap, a flood past the read buffer. */
export function isPeerFault(e: unknown): boolean {
  const name = (e as Error | undefined)?.name ?? "";
  return e instanceof CodecError || FRAMING_ERRORS.has(name) || name === "StreamBufferError";
}

/** A plain Uint8Array view of what lpStream read (it hands out Buffers, which compare and serialise differently). */
export function plain(list: { subarray(): Uint8Array }): Uint8Array {
  const b = list.subarray();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export type ResponseLimits = { maxChunks: number; maxChunkBytes: number; maxTotalBytes: number; timeoutMs: number };
type Fail = (code: ReqRespErrorCode, reason?: string) => Error;

/** The reading end of an lpStream (its frame cap is the caller's). */
export type FrameReader = { read(options: { signal: AbortSignal }): Promise<{ subarray(): Uint8Array }> };

/**
 * Reads one response: DATA chunks up to the limits, then END (returns the payloads) or an error chunk (throws it).
 * `onChunk` sees each chunk as it arrives (the sync trace's first-chunk stamp; the session's "response began").
 */
export async function readResponse(
  lp: FrameReader,
  limits: ResponseLimits,
  signal: AbortSignal,
  fail: Fail,
  onChunk: () => void,
): Promise<{ data: Uint8Array[]; bytes: number }> {
  const data: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = decodeChunk(plain(await lp.read({ signal })));
    onChunk();
    if (chunk.code === ResponseCode.DATA) {
      total += chunk.payload.length;
      if (data.length >= limits.maxChunks) throw fail(ReqRespErrorCode.INVALID_RESPONSE, "too many chunks");
      if (total > limits.maxTotalBytes) throw fail(ReqRespErrorCode.INVALID_RESPONSE, "response too large");
      data.push(chunk.payload);
      continue;
    }
    if (chunk.code === ResponseCode.END) return { data, bytes: total };
    throw fail(ERROR_CODES[chunk.code]!, decodeErrorMessage(chunk.payload));
  }
}
