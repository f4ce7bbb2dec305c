import { createHash } from "node:crypto";
import { Socket } from "node:net";

/**
 * Node 20 reads a socket into buffers its owner gives (`new net.Socket({ onread: { buffer, callback } })`) only for
 * sockets constructed with that option; a server's accepted sockets get a fresh 64 KiB buffer per read, as 'data'.
 * A 459 KB upload is then 8+ reads, each a new buffer copied again into the body's own (README, issue 8, "lone8io":
 * one read into a kept buffer took 0.05 ms first → last body byte against 2.3+ ms, ~1.5 ms less system CPU).
 *
 * `ownReads` turns an accepted socket into that mode in place, as the constructor does from `onread`: it sets the
 * socket's three private fields the constructor sets (found by their symbols' descriptions) and gives the handle
 * the first buffer (`useUserBuffer`, as net's initSocketHandle does). Node's own code does the rest: each read calls
 * `callback(n, buf)`, then `next()` for the next read's buffer (stream_base_commons' onStreamRead), and
 * `pause` / `resume` / `read` stop and restart the handle's reads (net.js). Rewrapping the handle in a new Socket
 * was the other way; in place keeps the server's connection count, timeouts and options as Node set them.
 *
 * What that relies on is pinned: the source of `net.Socket` and of its pause / resume / read, and the fields on a
 * new socket. On another Node the check fails once, loudly (a process warning), and callers keep 'data' reads.
 */

/** sha256 of node v20.20's `net.Socket` + `Socket.prototype.pause` + `.resume` + `.read` sources. */
const PINNED_SOCKET_SHA256 = "9d3bcd250a2d4a16b54217c5bde42f09186e149076d04f6cd071fca9757a3ca8";

export interface OwnReads {
  /** The buffer of the first read. */
  first: Buffer;
  /** Called with each read's byte count and buffer; false pauses the socket (as 'data' backpressure does). */
  callback(n: number, buf: Buffer): boolean;
  /** The buffer of the next read (called after each read). */
  next(): Buffer;
}

interface Fields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

interface UserBufferHandle {
  useUserBuffer(buf: Uint8Array): void;
}

let fields: Fields | null | undefined;

/** The private fields, or null (after one warning) when this Node is not the one the mode was checked against. */
function checkedFields(): Fields | null {
  if (fields !== undefined) return fields;
  const source = [Socket, Socket.prototype.pause, Socket.prototype.resume, Socket.prototype.read].map(String).join("");
  const fingerprint = createHash("sha256").update(source).digest("hex");
  const probe = new Socket();
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  const found = {
    buffer: byName.get("kBuffer"),
    callback: byName.get("kBufferCb"),
    generator: byName.get("kBufferGen"),
  };
  const nulls = Object.values(found).every((s) => s !== undefined && (probe as never)[s] === null);
  probe.destroy();
  if (fingerprint !== PINNED_SOCKET_SHA256 || !nulls) {
    fields = null;
    process.emitWarning(
      `net.Socket differs from node v20.20's (sha256 ${fingerprint}, onread fields ${nulls ? "found" : "missing"}): ` +
        "rpc/transport/ownReads.ts must be checked against this Node; sockets keep 'data' reads meanwhile",
      { code: "AZORA_OWN_READS_UNCHECKED" },
    );
    return null;
  }
  fields = found as Fields;
  return fields;
}

/** Whether `ownReads` can take sockets on this Node (warns once when not). */
export function ownReadsSupported(): boolean {
  return checkedFields() !== null;
}

/**
 * Puts a just-accepted socket (nothing read yet) in own-buffer reading. False, leaving it as it was, when this Node
 * is not the checked one or the socket is not a fresh stream handle.
 */
export function ownReads(socket: Socket, reads: OwnReads): boolean {
  const f = checkedFields();
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
  if (f === null || typeof handle?.useUserBuffer !== "function") return false;
  const s = socket as unknown as Record<symbol, unknown>;
  if (s[f.buffer] !== null || socket.bytesRead !== 0 || socket.readableLength !== 0) return false;
  s[f.buffer] = reads.first;
  s[f.callback] = reads.callback;
  s[f.generator] = reads.next;
  handle.useUserBuffer(reads.first);
  return true;
}
