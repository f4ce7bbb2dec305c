import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import type { Logger } from "../../../runtime/lib/logger.js";
import { ReqRespError, ReqRespErrorCode } from "../errors.js";
import type { NetworkMetrics } from "../metrics.js";
import { decodeBlocksRequest, ResponseCode } from "./codec.js";
import {
  FRAMING_ERRORS,
  isPeerFault,
  MAX_SMALL_REQUEST_BYTES,
  plain,
  type ResponseLimits,
  readResponse,
} from "./streamIo.js";
import { syncTrace, syncTraceOn, traceUs } from "./syncTrace.js";

/**
 * Blocks requests over one long-lived stream per peer (`/azora/<chainId>/blocks/2`, issue 14 sync14f). Version 1 opens
 * a stream per request, and each open is a multistream-select round trip that waits for a turn on the syncing node's
 * busy main thread (README sync14e: 95 ms p50). Here the requester keeps one stream per peer and writes request
 * frames on it (the same frame as version 1, no half-close); the server answers them in order, one at a time, with
 * the same chunks, caps and deadlines. Any failure that leaves the stream's framing unknown (a timeout, a bad chunk,
 * a reset) aborts the stream; the next request opens a new one. Version 1 is still served, and used for a peer that
 * does not speak version 2.
 */

/** Requests written on one session and not yet answered; more wait for a slot (the sync loop keeps 2 in flight). */
export const MAX_PIPELINED_REQUESTS = 2;
/** The requester closes a session this long idle, well before the server's idle deadline, so it never writes into a closing stream. */
const CLIENT_IDLE_MS = 10_000;
/** The server closes a session that sent no request for this long. */
export const SERVER_IDLE_MS = 30_000;
/**
 * Request bytes the server buffers unread: pipelined frames beyond this abort the stream (a frame is ≤ 128 bytes
 * plus its 2-byte length), so a peer that writes without reading cannot grow the server's buffer.
 */
const SERVER_READ_BUFFER_BYTES = 2 * MAX_PIPELINED_REQUESTS * (MAX_SMALL_REQUEST_BYTES + 2);

type Fail = (code: ReqRespErrorCode, reason?: string) => ReqRespError;
/** Sync-trace stamps the requester fills in (µs); `null` when not tracing. */
export type ClientStamps = { dialed: number; written: number; first: number } | null;

/** Codes of a well-framed error chunk: the response ended cleanly, the stream stays usable. */
const TERMINAL_ERRORS: ReadonlySet<string> = new Set([
  ReqRespErrorCode.INVALID_REQUEST,
  ReqRespErrorCode.SERVER_ERROR,
  ReqRespErrorCode.UNAVAILABLE,
  ReqRespErrorCode.IGNORED,
  ReqRespErrorCode.REJECTED,
]);

/** Resolves once `promise` settles, or rejects with `onAbort()` when the signal aborts first. */
function untilOrAbort(promise: Promise<unknown>, signal: AbortSignal, onAbort: () => Error): Promise<void> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<void>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener("abort", abort, { once: true });
    void promise.finally(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    });
  });
}

/** One requester-side stream: request frames go out in call order, responses are read in the same order. */
class Session {
  broken = false;
  private readonly lp;
  /** Settles when the last request written has been read out (or failed). */
  private readTail: Promise<void> = Promise.resolve();
  private readonly unanswered: Promise<void>[] = [];
  private idle: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly stream: Stream,
    limits: ResponseLimits,
    private readonly onGone: (s: Session) => void,
  ) {
    // The read buffer may hold every pipelined response at once (the main thread busy elsewhere); each is capped.
    this.lp = lpStream(stream, {
      maxDataLength: limits.maxChunkBytes + 1,
      maxBufferSize: MAX_PIPELINED_REQUESTS * (Math.max(limits.maxChunkBytes, limits.maxTotalBytes) + 64 * 1024),
    });
    stream.addEventListener("close", () => this.retire(), { once: true });
  }

  /** Aborts the stream (its framing is unknown after `err`); requests queued behind fail and are retried elsewhere. */
  break(err: Error): void {
    if (!this.broken) this.stream.abort(err);
    this.retire();
  }

  private retire(): void {
    this.broken = true;
    if (this.idle !== null) clearTimeout(this.idle);
    this.onGone(this);
  }

  async exchange(
    body: Uint8Array,
    limits: ResponseLimits,
    signal: AbortSignal,
    fail: Fail,
    stamps: ClientStamps,
    onChunk: () => void,
  ): Promise<{ data: Uint8Array[]; bytes: number }> {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    while (this.unanswered.length >= MAX_PIPELINED_REQUESTS) {
      await untilOrAbort(this.unanswered[this.unanswered.length - MAX_PIPELINED_REQUESTS], signal, () =>
        fail(ReqRespErrorCode.TIMEOUT),
      );
    }
    if (this.broken) throw fail(ReqRespErrorCode.STREAM_ERROR, "blocks session closed");
    const before = this.readTail;
    let answered!: () => void;
    const mine = new Promise<void>((resolve) => {
      answered = resolve;
    });
    this.readTail = mine;
    this.unanswered.push(mine);
    try {
      if (stamps !== null) stamps.dialed = traceUs();
      await this.lp.write(body, { signal });
      if (stamps !== null) stamps.written = traceUs();
      await untilOrAbort(before, signal, () => fail(ReqRespErrorCode.TIMEOUT));
      if (this.broken) throw fail(ReqRespErrorCode.STREAM_ERROR, "blocks session broken before the response");
      return await readResponse(this.lp, limits, signal, fail, onChunk);
    } catch (e) {
      // A well-framed error chunk ended the response; anything else leaves the next response's start unknown.
      if (!(e instanceof ReqRespError && TERMINAL_ERRORS.has(e.code))) this.break(e as Error);
      throw e;
    } finally {
      this.unanswered.splice(this.unanswered.indexOf(mine), 1);
      answered();
      if (this.unanswered.length === 0 && !this.broken) {
        this.idle = setTimeout(() => {
          this.retire();
          this.stream.close().catch(() => undefined);
        }, CLIENT_IDLE_MS);
        this.idle.unref();
      }
    }
  }
}

/** The requester's sessions, one per peer. */
export class BlocksSessions {
  private readonly sessions = new Map<string, Session>();
  /** Dials in progress: concurrent first requests to a peer share one stream. */
  private readonly dialing = new Map<string, Promise<Session>>();
  /** Peers that refused version 2 at negotiation: they get version 1 (bounded: cleared when it grows past 1024). */
  private readonly v1Peers = new Set<string>();

  constructor(
    private readonly libp2p: Libp2p,
    private readonly protocolId: string,
  ) {}

  speaksV1Only(peer: string): boolean {
    return this.v1Peers.has(peer);
  }

  /**
   * One blocks exchange on the peer's session; `null` when the peer does not speak version 2. A request that failed
   * before any chunk of its own response arrived because the stream broke (a request ahead of it failed, or the peer
   * closed an idle session as it was sent) is retried once on a fresh stream, within the same deadline.
   */
  async exchange(
    peerId: PeerId,
    body: Uint8Array,
    limits: ResponseLimits,
    signal: AbortSignal,
    fail: Fail,
    stamps: ClientStamps,
  ): Promise<{ data: Uint8Array[]; bytes: number } | null> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.session(peerId, limits, signal, fail);
      if (session === null) return null;
      let began = false;
      try {
        return await session.exchange(body, limits, signal, fail, stamps, () => {
          if (!began && stamps !== null) stamps.first = traceUs();
          began = true;
        });
      } catch (e) {
        const streamBroke = e instanceof ReqRespError ? e.code === ReqRespErrorCode.STREAM_ERROR : !isPeerFault(e);
        if (attempt > 0 || began || signal.aborted || !streamBroke) throw e;
      }
    }
  }

  private async session(
    peerId: PeerId,
    limits: ResponseLimits,
    signal: AbortSignal,
    fail: Fail,
  ): Promise<Session | null> {
    const peer = peerId.toString();
    const open = this.sessions.get(peer);
    if (open !== undefined && !open.broken) return open;
    let dial = this.dialing.get(peer);
    if (dial === undefined) {
      dial = this.dial(peerId, limits, signal);
      this.dialing.set(peer, dial);
      void dial.then(
        () => this.dialing.delete(peer),
        () => this.dialing.delete(peer),
      );
    }
    try {
      return await dial;
    } catch (e) {
      if ((e as Error).name === "UnsupportedProtocolError") {
        if (this.v1Peers.size >= 1024) this.v1Peers.clear();
        this.v1Peers.add(peer);
        return null;
      }
      throw signal.aborted ? fail(ReqRespErrorCode.TIMEOUT) : fail(ReqRespErrorCode.DIAL_FAILED, (e as Error).message);
    }
  }

  private async dial(peerId: PeerId, limits: ResponseLimits, signal: AbortSignal): Promise<Session> {
    const peer = peerId.toString();
    const stream = await this.libp2p.dialProtocol(peerId, this.protocolId, { signal });
    const session = new Session(stream, limits, (gone) => {
      if (this.sessions.get(peer) === gone) this.sessions.delete(peer);
    });
    this.sessions.set(peer, session);
    return session;
  }
}

export interface SessionServerDeps {
  log: Logger;
  metrics: NetworkMetrics | null;
  blocksTimeoutMs: number;
  onPeerMisbehaved(peer: string): void;
  /** The response chunks for one well-framed request (version 1's handler); throws only on abort. */
  respond(request: Uint8Array, peer: string, signal: AbortSignal): Promise<Uint8Array[]>;
}

/**
 * Serves one version-2 stream: reads a request, answers it, reads the next — one at a time, so a peer that pipelines
 * has its frames wait in a buffer capped at SERVER_READ_BUFFER_BYTES (beyond it the stream is aborted). Each answer
 * has version 1's deadline; an idle stream is closed after SERVER_IDLE_MS. A request that decodes to garbage is
 * answered INVALID_REQUEST and ends the session (`respond` lowers the peer's score); a bad frame (a length above the
 * cap) or an overflowing buffer resets the stream at once, and lowers the score here.
 */
export async function serveBlocksSession(
  stream: Stream,
  connection: Connection,
  deps: SessionServerDeps,
): Promise<void> {
  const peer = connection.remotePeer.toString();
  const lp = lpStream(stream, { maxDataLength: MAX_SMALL_REQUEST_BYTES, maxBufferSize: SERVER_READ_BUFFER_BYTES });
  for (;;) {
    const opened = traceUs();
    let request: Uint8Array;
    try {
      request = plain(await lp.read({ signal: AbortSignal.timeout(SERVER_IDLE_MS) }));
    } catch (e) {
      const name = (e as Error | undefined)?.name ?? "";
      if (FRAMING_ERRORS.has(name) || name === "StreamBufferError") {
        deps.onPeerMisbehaved(peer);
        deps.metrics?.onReqResp("blocks", "inbound", "INVALID_REQUEST", 0);
        // No error chunk: the stream's framing is already lost (unread bytes of the bad frame), so it is reset.
        stream.abort(e as Error);
        return;
      }
      // The peer closed its end (done, or gone), or the session went idle: end it quietly.
      stream.close().catch(() => undefined);
      return;
    }
    const started = performance.now();
    const read = traceUs();
    const signal = AbortSignal.timeout(deps.blocksTimeoutMs);
    let result: string;
    try {
      const chunks = await deps.respond(request, peer, signal);
      const code: ResponseCode = chunks[chunks.length - 1][0];
      result = code === ResponseCode.END ? "ok" : ResponseCode[code];
      const handled = traceUs();
      await lp.writeV(chunks, { signal });
      const written = traceUs();
      deps.metrics?.onReqResp("blocks", "inbound", result, (performance.now() - started) / 1000);
      if (result !== "INVALID_REQUEST") {
        if (syncTraceOn) {
          const from = decodeBlocksRequest(request).from.toString();
          syncTrace({
            side: "server",
            from,
            opened,
            read,
            handled,
            written,
            closed: written,
            n: chunks.length - 1,
            result,
          });
        }
        continue;
      }
      stream.close().catch(() => undefined);
      return;
    } catch (e) {
      result = signal.aborted ? "timeout" : "stream_error";
      deps.log.debug("blocks session failed", { peer, result, err: (e as Error)?.message });
      deps.metrics?.onReqResp("blocks", "inbound", result, (performance.now() - started) / 1000);
      stream.abort(e instanceof Error ? e : new Error(String(e)));
      return;
    }
  }
}
