import { StreamState, YamuxStream } from "@libp2p/yamux/stream";
import { describe, expect, it } from "vitest";
import { installHalfWindowUpdates, needsNoUpdate } from "../../../../node/network/yamuxWindow.js";

// Frame types of the yamux spec (@libp2p/yamux does not export its frame module).
const DATA = 0;
const WINDOW_UPDATE = 1;
const WINDOW = 256 * 1024; // @libp2p/yamux's initial stream window

type Header = { type: number; flag: number; streamID: number; length: number };
/** A frame body as @libp2p/yamux passes it (a Body), handed back unchanged. */
type Body = { byteLength: number };

/** The logger shape @libp2p/yamux's streams call, silent. */
function silentLog(): unknown {
  const log = Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => log });
  return log;
}

/**
 * One yamux stream's two ends wired back to back without a socket: the sender's data frames go to the receiver's
 * handleData, the receiver's window updates to the sender's handleWindowUpdate, one frame per macrotask (as frames
 * arriving off a socket would), so the sender really waits for the window the receiver grants.
 */
function streamPair() {
  const toReceiver: { header: Header; data?: Body }[] = [];
  const toSender: { header: Header }[] = [];
  const counts = { dataFrames: 0, windowUpdates: 0, bytes: 0 };
  const common = { id: "1", streamId: 1, direction: "outbound" as const, getRTT: () => -1, log: silentLog() as never };
  const sender = new YamuxStream({
    ...common,
    state: StreamState.Established,
    sendFrame: (header: Header, body?: Body) => {
      toReceiver.push({ header, data: body });
      return true;
    },
  });
  const receiver = new YamuxStream({
    ...common,
    direction: "inbound",
    state: StreamState.Established,
    sendFrame: (header: Header) => {
      toSender.push({ header });
      return true;
    },
  });
  receiver.addEventListener("message", (evt) => {
    counts.bytes += evt.data.byteLength;
  });
  const r = receiver as unknown as { handleData(f: { header: Header; data: Body }): void };
  const s = sender as unknown as { handleWindowUpdate(f: { header: Header }): void };
  /** Delivers queued frames until none is left or `deadlineMs` passes (a stalled stream leaves frames nowhere). */
  async function pump(done: () => boolean, deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!done() && Date.now() < deadline) {
      const d = toReceiver.shift();
      if (d !== undefined) {
        if (d.header.type === DATA && d.data !== undefined) {
          counts.dataFrames++;
          r.handleData({ header: d.header, data: d.data });
        }
      }
      const u = toSender.shift();
      if (u !== undefined && u.header.type === WINDOW_UPDATE) {
        counts.windowUpdates++;
        s.handleWindowUpdate(u);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { sender, counts, pump };
}

/** Sends `messages` of `size` bytes, waiting for 'drain' whenever the send window is exhausted. */
async function sendAll(sender: YamuxStream, messages: number, size: number): Promise<void> {
  for (let i = 0; i < messages; i++) {
    if (!sender.send(new Uint8Array(size).fill(i & 0xff))) {
      await new Promise<void>((resolve) => sender.addEventListener("drain", () => resolve(), { once: true }));
    }
  }
}

describe("yamux window updates (yamuxWindow.ts)", () => {
  installHalfWindowUpdates();

  it("the rule: an update once at least half the receive window is consumed", () => {
    expect(needsNoUpdate(WINDOW, WINDOW)).toBe(true);
    expect(needsNoUpdate(WINDOW, WINDOW - 200)).toBe(true);
    expect(needsNoUpdate(WINDOW, WINDOW / 2 + 1)).toBe(true);
    expect(needsNoUpdate(WINDOW, WINDOW / 2)).toBe(false);
    expect(needsNoUpdate(WINDOW, 0)).toBe(false);
  });

  it("vote-sized frames within the window cost no window update each (the original sent one per frame)", async () => {
    const { sender, counts, pump } = streamPair();
    const messages = 1_000;
    const sending = sendAll(sender, messages, 200);
    await pump(() => counts.bytes === messages * 200);
    await sending;
    expect(counts.bytes).toBe(messages * 200);
    expect(counts.dataFrames).toBe(messages);
    // 200 KB through a 256 KiB window: at most one update (after half of it), not 1,000.
    expect(counts.windowUpdates).toBeLessThanOrEqual(1);
  });

  it("a transfer many windows long never stalls and never exceeds the receive window", async () => {
    const { sender, counts, pump } = streamPair();
    // 4 MiB (a largest proposal) in 64 KiB messages: the sender must wait for updates 16 times over.
    const messages = 64;
    const size = 64 * 1024;
    const sending = sendAll(sender, messages, size);
    await pump(() => counts.bytes === messages * size);
    expect(counts.bytes).toBe(messages * size);
    await sending;
    // About one update per half window consumed.
    expect(counts.windowUpdates).toBeGreaterThanOrEqual((messages * size) / WINDOW);
    expect(counts.windowUpdates).toBeLessThanOrEqual((2 * messages * size) / WINDOW + 1);
  });
});
