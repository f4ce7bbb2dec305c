import { createHash } from "node:crypto";
import { Socket } from "node:net";
import { AbstractMessageStream, AbstractMultiaddrConnection } from "@libp2p/utils";

/**
 * One socket write per encrypted frame instead of two, and one `writev` per connection per tick.
 *
 * Why: Noise (`@libp2p/noise` 17.0.3, `EncryptedMessageStream.encrypt`) hands each encrypted frame to the
 * connection as a two-buffer list — its 2-byte length prefix, then the ciphertext — and @libp2p/tcp 11.0.28's
 * `sendData` calls `socket.write` once per buffer. With Nagle off every gossip RPC (a vote, each relayed copy, a
 * control message) thus cost two `write` syscalls (`writeBuffer`: 11 % of the gossip bench's self time) and often
 * two TCP segments, i.e. two socket reads at the receiver, whose first one carries only the length prefix.
 *
 * The raw connection's `send` (every transport's `AbstractMultiaddrConnection`: TCP here) now
 * (1) joins a small multi-buffer list into one contiguous buffer before queueing it (the same bytes in the same
 *     order; large lists — a proposal's frames — and single buffers go through unchanged), and
 * (2) on a TCP connection, corks its `net.Socket` at the first send of a tick and uncorks it on `process.nextTick`
 *     (after the current run of promise jobs), so the frames a node sends one peer while it handles one socket read
 *     (a read carries several gossip messages on a busy mesh: each is relayed, and control RPCs piggyback) leave
 *     in one `writev`. Node's own cork: order, `write()`'s back-pressure answer and `'drain'` are unchanged, and
 *     `end()` (a graceful close) flushes corked data; nothing waits longer than the current tick.
 * Streams above the connection (Noise, Yamux, gossipsub's) are not touched: they inherit
 * `AbstractMessageStream.prototype.send` directly.
 */

/** sha256 of `AbstractMessageStream.prototype.send`'s source in @libp2p/utils 7.4.1 (what the wrapper calls). */
const PINNED_SEND_SHA256 = "4343f09eaf2f9269e4205120aac2136571dacdb084cd66b604e3e111f72bb3e1";

/** Lists up to this size are copied into one buffer (a Noise frame is at most 65,535 + 2 bytes). */
export const MAX_JOINED_BYTES = 64 * 1024 + 2;

/** The part of uint8arraylist's `Uint8ArrayList` (what the streams queue) that the wrapper uses (`bufs` is
 * public at run time, private only in its typings). */
export interface BufferList {
  readonly bufs: Uint8Array[];
  readonly byteLength: number;
  subarray(): Uint8Array;
}

type Send = (this: { socket?: unknown }, data: Uint8Array | BufferList) => boolean;

let installed = false;

/** Defines `AbstractMultiaddrConnection.prototype.send` once per process; idempotent. */
export function installJoinedFrameWrites(): void {
  if (installed) return;
  const base = AbstractMessageStream.prototype as unknown as { send: Send };
  const conn = AbstractMultiaddrConnection.prototype as unknown as { send: Send };
  const original = base.send;
  const fingerprint = createHash("sha256").update(String(original)).digest("hex");
  if (fingerprint !== PINNED_SEND_SHA256 || Object.hasOwn(conn, "send")) {
    throw new Error(
      `@libp2p/utils' AbstractMessageStream.send changed (sha256 ${fingerprint}) or AbstractMultiaddrConnection ` +
        "now defines its own send: node/network/frameWrites.ts wraps it and must be checked against the new version",
    );
  }
  conn.send = function send(this: { socket?: unknown }, data: Uint8Array | BufferList): boolean {
    const socket = this.socket;
    if (socket instanceof Socket) corkForThisTick(socket);
    return original.call(this, joinSmall(data));
  };
  installed = true;
}

/** `data` as one contiguous buffer when it is a list of several buffers totalling ≤ MAX_JOINED_BYTES; else as is. */
export function joinSmall(data: Uint8Array | BufferList): Uint8Array | BufferList {
  if (data instanceof Uint8Array || data.bufs.length < 2 || data.byteLength > MAX_JOINED_BYTES) return data;
  return data.subarray();
}

/** Corks `socket` until the end of the current tick unless it is already corked (or destroyed). */
export function corkForThisTick(socket: Socket): void {
  if (socket.writableCorked !== 0 || socket.destroyed) return;
  socket.cork();
  process.nextTick(uncork, socket);
}

function uncork(socket: Socket): void {
  socket.uncork();
}
