import { createHash } from "node:crypto";
import { StreamState, YamuxStream } from "@libp2p/yamux/stream";

/**
 * Yamux window updates sent as go-yamux and hashicorp/yamux send them: once at least half of a stream's receive
 * window has been consumed, not after every data frame.
 *
 * Why: @libp2p/yamux 8.0.3's `YamuxStream.sendWindowUpdate` answers EVERY data frame it receives with a
 * WindowUpdate frame (it returns early only when nothing was consumed). On a validator mesh every gossip RPC — a
 * vote, each of its relayed copies, a heartbeat's control message — is one data frame, so every one of them cost a
 * second frame back: its own Noise encryption and socket write at the receiver, and a read, a decryption and a
 * frame dispatch at the sender. That was about a sixth of a validator's main-thread profile at idle (issue 14).
 *
 * Flow control is unchanged in substance: the sender's window still only grows through our updates, and whenever
 * it is exhausted (the sender waits) all of our receive window is consumed, which is at least half of it, so the
 * update is sent and no stream can stall. Frames with flags (SYN/ACK while a stream opens), paused streams
 * (back-pressure: the original records the epoch and sends nothing), and half-closed or finished streams go
 * through the original unchanged; only an established stream with less than half its window consumed skips it.
 */

/** sha256 of `YamuxStream.prototype.sendWindowUpdate`'s source in @libp2p/yamux 8.0.3 (what the guard relies on). */
const PINNED_SEND_WINDOW_UPDATE_SHA256 = "ad75cb27323f9a2993b7121491c07b3327138d15332b478f4f6cd8f3ffb13c46";

/** The private fields of a stream the guard reads (their names are those of the pinned version). */
interface StreamWindow {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

let installed = false;

/** Replaces `YamuxStream.prototype.sendWindowUpdate` once per process; idempotent. */
export function installHalfWindowUpdates(): void {
  if (installed) return;
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: StreamWindow) => void };
  const original = proto.sendWindowUpdate;
  const fingerprint = createHash("sha256").update(String(original)).digest("hex");
  if (fingerprint !== PINNED_SEND_WINDOW_UPDATE_SHA256) {
    throw new Error(
      `@libp2p/yamux's YamuxStream.sendWindowUpdate changed (sha256 ${fingerprint}): node/network/yamuxWindow.ts ` +
        "wraps it and must be checked against the new version",
    );
  }
  proto.sendWindowUpdate = function sendWindowUpdate(this: StreamWindow): void {
    if (this.state === StreamState.Established && needsNoUpdate(this.recvWindow, this.recvWindowCapacity)) return;
    original.call(this);
  };
  installed = true;
}

/** go-yamux's rule: an update (with no flags to carry) waits until at least half the receive window is consumed. */
export function needsNoUpdate(recvWindow: number, recvWindowCapacity: number): boolean {
  return recvWindow - recvWindowCapacity < recvWindow / 2;
}
