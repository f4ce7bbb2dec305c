import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import type { Logger } from "../../../runtime/lib/logger.js";
import { CodecError } from "../../../runtime/primitives/codecError.js";
import { ReqRespError, ReqRespErrorCode } from "../errors.js";
import type { NetworkMetrics } from "../metrics.js";
import { type GossipTopic, type ReqRespProtocol, stringifyProtocol } from "../topics.js";
import {
  decodeBlocksRequest,
  decodeChunk,
  decodeDirectRequest,
  decodeErrorMessage,
  decodeStatusRequest,
  encodeChunk,
  encodeErrorChunk,
  encodeStatus,
  type PeerStatus,
  ResponseCode,
} from "./codec.js";
import { syncTrace, syncTraceOn, traceUs } from "./syncTrace.js";

export type BlocksHandler = (from: bigint, count: number) => Promise<Uint8Array[]>;
export type StatusHandler = () => PeerStatus | Promise<PeerStatus>;
/** Runs a direct message through the topic's processor; resolves with the validation result. */
export type DirectHandler = (topic: GossipTopic, data: Uint8Array, from: string) => Promise<TopicValidatorResult>;

export interface ReqRespOptions {
  chainId: bigint;
  /** Deadline for a whole blocks exchange (both sides). */
  blocksTimeoutMs: number;
  /** Deadline for status and direct exchanges (both sides). */
  shortTimeoutMs: number;
  maxBlocksPerRequest: number;
  maxBlockBytes: number;
  maxBlocksResponseBytes: number;
  /** Largest direct request frame: the largest topic cap plus RLP overhead. */
  maxDirectRequestBytes: number;
}

export interface ReqRespModules {
  libp2p: Libp2p;
  log: Logger;
  metrics: NetworkMetrics | null;
  direct: DirectHandler;
  /** A peer broke a protocol (garbage request, invalid response, rejected direct message). */
  onPeerMisbehaved(peer: string, protocol: ReqRespProtocol): void;
}

export type ResponseLimits = { maxChunks: number; maxChunkBytes: number; maxTotalBytes: number; timeoutMs: number };

/** Inbound blocks requests served at once, over all peers; more get UNAVAILABLE. */
const MAX_CONCURRENT_BLOCK_REQUESTS = 4;
/** Requests other than direct are tiny: an RLP list of at most two integers. */
const MAX_SMALL_REQUEST_BYTES = 128;
/** Per connection and protocol (libp2p resets streams above these). */
const MAX_STREAMS: Record<ReqRespProtocol, number> = { direct: 64, blocks: 2, status: 4 };

/** What lpStream throws for a malformed length prefix or an oversize frame. */
const FRAMING_ERRORS: ReadonlySet<string> = new Set([
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

/** A plain Uint8Array view of what lpStream read (it hands out Buffers, which compare and serialise differently). */
function plain(list: { subarray(): Uint8Array }): Uint8Array {
  const b = list.subarray();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Rejects with the signal's reason once it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Request–response over libp2p streams, one stream per request: the requester writes one
 * length-prefixed frame and half-closes; the responder writes DATA chunks and one terminal chunk,
 * then closes. Every read is bounded in size and time; any failure aborts the stream.
 */
export class ReqResp {
  private blocksHandler: BlocksHandler | null = null;
  private statusHandler: StatusHandler | null = null;
  private blockRequestsInFlight = 0;

  constructor(
    private readonly opts: ReqRespOptions,
    private readonly modules: ReqRespModules,
  ) {}

  async start(): Promise<void> {
    for (const protocol of ["direct", "blocks", "status"] as const) {
      await this.modules.libp2p.handle(
        stringifyProtocol(this.opts.chainId, protocol),
        (stream, connection) => this.serve(protocol, stream, connection),
        { maxInboundStreams: MAX_STREAMS[protocol], maxOutboundStreams: MAX_STREAMS[protocol] },
      );
    }
  }

  setBlocksHandler(handler: BlocksHandler): void {
    this.blocksHandler = handler;
  }

  setStatusHandler(handler: StatusHandler): void {
    this.statusHandler = handler;
  }

  // ---------------------------------------------------------------- requester

  /** Sends one request and collects the DATA chunks; every failure is a `ReqRespError`. */
  async request(
    protocol: ReqRespProtocol,
    peerId: PeerId,
    body: Uint8Array,
    limits: ResponseLimits,
  ): Promise<Uint8Array[]> {
    const peer = peerId.toString();
    const started = performance.now();
    const signal = AbortSignal.timeout(limits.timeoutMs);
    const fail = (code: ReqRespErrorCode, reason?: string) => new ReqRespError({ code, protocol, peer, reason });
    let stream: Stream | undefined;
    const trace = syncTraceOn && protocol === "blocks" ? { start: traceUs() } : null;
    try {
      try {
        stream = await this.modules.libp2p.dialProtocol(peerId, stringifyProtocol(this.opts.chainId, protocol), {
          signal,
        });
      } catch (e) {
        throw signal.aborted
          ? fail(ReqRespErrorCode.TIMEOUT)
          : fail(ReqRespErrorCode.DIAL_FAILED, (e as Error).message);
      }
      // The read buffer may hold the whole response at once: libp2p delivers everything that arrived during
      // protocol negotiation as one event (megabytes on loopback). It is bounded by the response cap.
      const lp = lpStream(stream, {
        maxDataLength: limits.maxChunkBytes + 1,
        maxBufferSize: Math.max(limits.maxChunkBytes, limits.maxTotalBytes) + 64 * 1024,
      });
      const dialed = trace === null ? 0 : traceUs();
      await lp.write(body, { signal });
      await stream.close({ signal }); // half-close: the request is complete
      const written = trace === null ? 0 : traceUs();
      let first = 0;
      const data: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const chunk = decodeChunk(plain(await lp.read({ signal })));
        if (trace !== null && first === 0) first = traceUs();
        if (chunk.code === ResponseCode.DATA) {
          total += chunk.payload.length;
          if (data.length >= limits.maxChunks) throw fail(ReqRespErrorCode.INVALID_RESPONSE, "too many chunks");
          if (total > limits.maxTotalBytes) throw fail(ReqRespErrorCode.INVALID_RESPONSE, "response too large");
          data.push(chunk.payload);
          continue;
        }
        if (chunk.code === ResponseCode.END) break;
        throw fail(ERROR_CODES[chunk.code]!, decodeErrorMessage(chunk.payload));
      }
      this.modules.metrics?.onReqResp(protocol, "outbound", "ok", (performance.now() - started) / 1000);
      if (trace !== null) {
        const from = decodeBlocksRequest(body).from.toString();
        syncTrace({
          side: "client",
          from,
          start: trace.start,
          dialed,
          written,
          first,
          end: traceUs(),
          n: data.length,
          bytes: total,
        });
      }
      return data;
    } catch (e) {
      const err = this.toRequestError(e, signal, fail);
      stream?.abort(err);
      if (err.code === ReqRespErrorCode.INVALID_RESPONSE) this.modules.onPeerMisbehaved(peer, protocol);
      this.modules.metrics?.onReqResp(protocol, "outbound", err.code, (performance.now() - started) / 1000);
      throw err;
    }
  }

  private toRequestError(
    e: unknown,
    signal: AbortSignal,
    fail: (code: ReqRespErrorCode, reason?: string) => ReqRespError,
  ): ReqRespError {
    if (e instanceof ReqRespError) return e;
    if (signal.aborted) return fail(ReqRespErrorCode.TIMEOUT);
    const name = (e as Error | undefined)?.name ?? "";
    if (e instanceof CodecError || FRAMING_ERRORS.has(name) || name === "StreamBufferError") {
      return fail(ReqRespErrorCode.INVALID_RESPONSE, (e as Error).message);
    }
    return fail(ReqRespErrorCode.STREAM_ERROR, (e as Error | undefined)?.message ?? String(e));
  }

  // ---------------------------------------------------------------- responder

  private async serve(protocol: ReqRespProtocol, stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const started = performance.now();
    const signal = AbortSignal.timeout(protocol === "blocks" ? this.opts.blocksTimeoutMs : this.opts.shortTimeoutMs);
    const maxRequest = protocol === "direct" ? this.opts.maxDirectRequestBytes : MAX_SMALL_REQUEST_BYTES;
    const lp = lpStream(stream, { maxDataLength: maxRequest, maxBufferSize: maxRequest + 64 });
    const trace = syncTraceOn && protocol === "blocks" ? { opened: traceUs(), read: 0, handled: 0, written: 0 } : null;
    let result: string;
    try {
      let chunks: Uint8Array[];
      let request: Uint8Array | null = null;
      try {
        request = plain(await lp.read({ signal }));
      } catch (e) {
        if (signal.aborted) throw e;
        this.modules.log.debug("unreadable request", { protocol, peer, err: (e as Error).message });
        // A bad length prefix is the peer's fault; a reset or an early EOF is also what a requester
        // that gave up (its timeout, on a busy machine) looks like, and costs it nothing.
        if (FRAMING_ERRORS.has((e as Error | undefined)?.name ?? "")) this.modules.onPeerMisbehaved(peer, protocol);
      }
      if (trace !== null) trace.read = traceUs();
      if (request === null) {
        chunks = [encodeErrorChunk(ResponseCode.INVALID_REQUEST, "unreadable request frame")];
      } else {
        chunks = await this.respond(protocol, request, peer, signal);
      }
      result = chunks[chunks.length - 1][0] === ResponseCode.END ? "ok" : ResponseCode[chunks[chunks.length - 1][0]];
      if (trace !== null) trace.handled = traceUs();
      await lp.writeV(chunks, { signal });
      if (trace !== null) trace.written = traceUs();
      await stream.close({ signal });
      if (trace !== null && request !== null) {
        const from = decodeBlocksRequest(request).from.toString();
        syncTrace({ side: "server", from, ...trace, closed: traceUs(), n: chunks.length - 1, result });
      }
    } catch (e) {
      result = signal.aborted ? "timeout" : "stream_error";
      this.modules.log.debug("request stream failed", { protocol, peer, result, err: (e as Error)?.message });
      stream.abort(e instanceof Error ? e : new Error(String(e)));
    }
    this.modules.metrics?.onReqResp(protocol, "inbound", result, (performance.now() - started) / 1000);
  }

  /** The response chunks for one well-framed request; never throws except on abort. */
  private async respond(
    protocol: ReqRespProtocol,
    request: Uint8Array,
    peer: string,
    signal: AbortSignal,
  ): Promise<Uint8Array[]> {
    try {
      switch (protocol) {
        case "status":
          return await this.respondStatus(request, signal);
        case "blocks":
          return await this.respondBlocks(request, signal);
        case "direct":
          return await this.respondDirect(request, peer, signal);
      }
    } catch (e) {
      if (e instanceof CodecError) {
        this.modules.onPeerMisbehaved(peer, protocol);
        this.modules.log.debug("malformed request", { protocol, peer, reason: e.type.reason });
        return [encodeErrorChunk(ResponseCode.INVALID_REQUEST, e.message)];
      }
      if (signal.aborted) throw e;
      this.modules.log.warn("request handler failed", { protocol, peer }, e);
      return [encodeErrorChunk(ResponseCode.SERVER_ERROR, "internal error")];
    }
  }

  private async respondStatus(request: Uint8Array, signal: AbortSignal): Promise<Uint8Array[]> {
    decodeStatusRequest(request);
    const handler = this.statusHandler;
    if (handler === null) return [encodeErrorChunk(ResponseCode.UNAVAILABLE, "no status handler")];
    const status = await raceAbort(Promise.resolve(handler()), signal);
    return [encodeChunk(ResponseCode.DATA, encodeStatus(status)), encodeChunk(ResponseCode.END)];
  }

  private async respondBlocks(request: Uint8Array, signal: AbortSignal): Promise<Uint8Array[]> {
    const { from, count } = decodeBlocksRequest(request);
    const handler = this.blocksHandler;
    if (handler === null) return [encodeErrorChunk(ResponseCode.UNAVAILABLE, "no blocks handler")];
    if (this.blockRequestsInFlight >= MAX_CONCURRENT_BLOCK_REQUESTS) {
      return [encodeErrorChunk(ResponseCode.UNAVAILABLE, "busy")];
    }
    const wanted = Math.min(count, this.opts.maxBlocksPerRequest);
    if (wanted === 0) return [encodeChunk(ResponseCode.END)];
    this.blockRequestsInFlight++;
    let blocks: Uint8Array[];
    try {
      blocks = await raceAbort(handler(from, wanted), signal);
    } finally {
      this.blockRequestsInFlight--;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (const block of blocks.slice(0, wanted)) {
      // Stop early rather than overflow the requester's bounds; it asks again from where we stopped.
      if (block.length > this.opts.maxBlockBytes) {
        this.modules.log.warn("block above maxBlockBytes not served", { size: block.length });
        break;
      }
      if (total + block.length > this.opts.maxBlocksResponseBytes) break;
      total += block.length;
      chunks.push(encodeChunk(ResponseCode.DATA, block));
    }
    chunks.push(encodeChunk(ResponseCode.END));
    return chunks;
  }

  private async respondDirect(request: Uint8Array, peer: string, signal: AbortSignal): Promise<Uint8Array[]> {
    const { topic, data } = decodeDirectRequest(request);
    const result = await raceAbort(this.modules.direct(topic, data, peer), signal);
    switch (result) {
      case TopicValidatorResult.Accept:
        return [encodeChunk(ResponseCode.END)];
      case TopicValidatorResult.Ignore:
        return [encodeErrorChunk(ResponseCode.IGNORED, "ignored")];
      default:
        this.modules.onPeerMisbehaved(peer, "direct");
        return [encodeErrorChunk(ResponseCode.REJECTED, "rejected")];
    }
  }
}
