import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ownReads, ownReadsSupported } from "../../../../rpc/transport/ownReads.js";

// An accepted socket put in own-buffer reading (ownReads.ts): every byte comes through the callback, in the buffers
// given (first, then each `next()`), none as 'data'; a false return stops reading until resume().
let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

function serve(onSocket: (s: Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer(onSocket);
    server = s;
    s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port));
  });
}

function send(port: number, bytes: Buffer): Socket {
  const c = connect(port, "127.0.0.1", () => c.write(bytes));
  c.on("error", () => {});
  return c;
}

/** The Node whose net.Socket ownReads.ts pinned; on another one the front keeps 'data' reads (and warns once). */
const CHECKED_NODE = "v20.20.2";

describe("ownReads", () => {
  it.runIf(process.version === CHECKED_NODE)("is supported on the Node it was checked against", () => {
    expect(ownReadsSupported()).toBe(true);
  });

  it("refuses a socket that has already been read from, which keeps reading as 'data'", async () => {
    let taken: boolean | undefined;
    const got: Buffer[] = [];
    const port = await serve((s) => {
      s.once("data", () => {
        taken = ownReads(s, { first: Buffer.alloc(8), callback: () => true, next: () => Buffer.alloc(8) });
      });
      s.on("data", (d: Buffer) => got.push(d));
      s.on("end", () => s.end());
    });
    const c = send(port, Buffer.from("head"));
    await new Promise((r) => setTimeout(r, 20));
    c.end("tail");
    await new Promise((r) => c.on("close", r));
    expect(taken).toBe(false);
    expect(Buffer.concat(got).toString()).toBe("headtail");
  });

  it.runIf(ownReadsSupported())("reads every byte into the buffers given, in order, and none as 'data'", async () => {
    const sent = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const given: Buffer[] = [];
    const seen: Buffer[] = [];
    const intoGiven: boolean[] = [];
    let dataEvents = 0;
    let took = false;
    const done = new Promise<void>((resolve) => {
      void serve((s) => {
        s.on("data", () => dataEvents++);
        const give = (): Buffer => {
          given.push(Buffer.alloc(7 + (given.length % 5)));
          return given[given.length - 1];
        };
        took = ownReads(s, {
          first: give(),
          callback(n, buf) {
            intoGiven.push(buf === given[seen.length]); // read into the buffer given for this read
            seen.push(Buffer.from(buf.subarray(0, n)));
            if (seen.reduce((a, b) => a + b.length, 0) === sent.length) resolve();
            return true;
          },
          next: give,
        });
      }).then((port) => send(port, sent));
    });
    await done;
    expect(took).toBe(true);
    expect(Buffer.concat(seen).equals(sent)).toBe(true);
    expect(intoGiven.every(Boolean)).toBe(true);
    expect(dataEvents).toBe(0);
  });

  it.runIf(ownReadsSupported())("stops reading when the callback returns false, until resume()", async () => {
    const buf = Buffer.alloc(4);
    let reads = 0;
    let socket: Socket | undefined;
    let all: () => void = () => {};
    const allRead = new Promise<void>((r) => {
      all = r;
    });
    const port = await serve((s) => {
      socket = s;
      const callback = (): boolean => {
        if (++reads === 10) all();
        return reads > 1;
      };
      ownReads(s, { first: buf, callback, next: () => buf });
    });
    const c = send(port, Buffer.alloc(40, 1));
    await new Promise((r) => setTimeout(r, 100));
    expect(reads).toBe(1); // the other 36 bytes wait in the kernel
    socket?.resume();
    await allRead;
    expect(reads).toBe(10);
    c.destroy();
    socket?.destroy();
  });
});
