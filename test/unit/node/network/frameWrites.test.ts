import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";
import { AbstractMultiaddrConnection } from "@libp2p/utils";
import { Uint8ArrayList } from "uint8arraylist";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BufferList,
  corkForThisTick,
  installJoinedFrameWrites,
  joinSmall,
  MAX_JOINED_BYTES,
} from "../../../../node/network/frameWrites.js";
import { PRNG } from "../../../utils/prng.js";

const silentLog = Object.assign(() => {}, { error() {}, trace() {}, enabled: false, newScope: () => silentLog });

/** A raw connection written the way @libp2p/tcp 11's is: one `socket.write` per buffer of the queued list. */
class SocketConnection extends AbstractMultiaddrConnection {
  constructor(readonly socket: Socket) {
    super({ log: silentLog as never, remoteAddr: undefined as never, direction: "outbound" });
    // As @libp2p/tcp's: the socket's 'drain' resumes a queue that back-pressure paused.
    socket.on("drain", () => this.safeDispatchEvent("drain"));
  }
  sendData(data: Uint8ArrayList) {
    let canSendMore = true;
    for (const buf of data) canSendMore = this.socket.write(buf);
    return { sentBytes: data.byteLength, canSendMore };
  }
  async sendClose() {
    this.socket.end();
  }
  sendReset() {
    this.socket.destroy();
  }
  sendPause() {}
  sendResume() {}
}

/** A Noise-like frame: 2-byte big-endian length, then the body, as a two-buffer list. */
function frame(body: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(new Uint8Array([body.length >> 8, body.length & 0xff]), body);
}

describe("joined frame writes and one writev per tick (frameWrites.ts)", () => {
  installJoinedFrameWrites();
  let server: Server;
  let received: Buffer[] = [];
  let client: Socket;
  let syscalls = 0;

  beforeAll(async () => {
    server = createServer((s) => s.on("data", (b) => received.push(b)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    client = new Socket();
    client.connect(port, "127.0.0.1");
    await once(client, "connect");
    client.setNoDelay(true);
    // Count what reaches libuv: one call per write or writev.
    const generic = (client as unknown as { _writeGeneric: (...a: unknown[]) => unknown })._writeGeneric;
    (client as unknown as { _writeGeneric: (...a: unknown[]) => unknown })._writeGeneric = function (
      this: unknown,
      ...a: unknown[]
    ) {
      syscalls++;
      return generic.apply(this, a);
    };
  });
  afterAll(async () => {
    client.destroy();
    server.close();
  });

  async function arrived(bytes: number): Promise<Buffer> {
    for (let i = 0; i < 500 && received.reduce((n, b) => n + b.length, 0) < bytes; i++) {
      await new Promise((r) => setTimeout(r, 2));
    }
    return Buffer.concat(received);
  }

  it("joinSmall: one buffer with the same bytes for a small list; large lists and single buffers unchanged", () => {
    const r = new PRNG(7);
    for (let k = 0; k < 50; k++) {
      const parts = Array.from({ length: 1 + Math.floor(r.next() * 4) }, () =>
        Uint8Array.from({ length: Math.floor(r.next() * 700) }, () => Math.floor(r.next() * 256)),
      );
      const list = new Uint8ArrayList(...parts);
      const out = joinSmall(list as unknown as BufferList);
      if (parts.length >= 2) expect(out).toBeInstanceOf(Uint8Array);
      expect([...(out instanceof Uint8Array ? out : out.subarray())]).toEqual([...list.subarray()]);
    }
    const big = new Uint8ArrayList(new Uint8Array(2), new Uint8Array(MAX_JOINED_BYTES));
    expect(joinSmall(big as unknown as BufferList)).toBe(big);
    const single = new Uint8Array(3);
    expect(joinSmall(single)).toBe(single);
  });

  it("a connection's frames of one tick reach the socket as one writev, bytes in order", async () => {
    received = [];
    const conn = new SocketConnection(client);
    const bodies = Array.from({ length: 20 }, (_, i) => new Uint8Array(250).fill(i + 1));
    syscalls = 0;
    for (const b of bodies) conn.send(frame(b));
    expect(syscalls).toBe(0); // corked until the tick ends
    await new Promise((r) => process.nextTick(r));
    expect(syscalls).toBe(1); // 40 writes without the change, 20 with joined frames only
    const expected = Buffer.concat(bodies.map((b) => Buffer.from(frame(b).subarray())));
    expect((await arrived(expected.length)).equals(expected)).toBe(true);
  });

  it("random frames sent over random ticks arrive whole and in order; at most one syscall per tick", async () => {
    received = [];
    const conn = new SocketConnection(client);
    const r = new PRNG(42);
    const wire: Buffer[] = [];
    let ticks = 0;
    syscalls = 0;
    for (let t = 0; t < 60; t++) {
      const n = Math.floor(r.next() * 5);
      for (let k = 0; k < n; k++) {
        const body = Uint8Array.from({ length: 1 + Math.floor(r.next() * 2000) }, () => Math.floor(r.next() * 256));
        const f = r.next() < 0.2 ? body : frame(body);
        wire.push(Buffer.from(f instanceof Uint8Array ? f : f.subarray()));
        conn.send(f);
      }
      if (n > 0) ticks++;
      // Alternate promise jobs (flushed with the tick) and timers (a new tick).
      if (r.next() < 0.5) await Promise.resolve();
      else await new Promise((res) => setTimeout(res, 0));
    }
    await new Promise((res) => setTimeout(res, 0));
    expect(syscalls).toBeLessThanOrEqual(ticks);
    const expected = Buffer.concat(wire);
    const got = await arrived(expected.length);
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
  });

  it("corkForThisTick leaves an already corked socket's cork to its owner", () => {
    const s = new Socket();
    s.cork();
    corkForThisTick(s);
    expect(s.writableCorked).toBe(1);
    s.destroy();
  });
});
