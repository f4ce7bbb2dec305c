import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobHandler } from "../../../services/runtime/handler.js";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";
import { exchange } from "../rpc/transport/rawHttp.js";

// The lean path's kept body buffers (meteredFront.ts + bodyPool.ts): a call's body buffer is read into again only
// once its run is done with it — not when its answer leaves (a commit that throws answers while the model runs), and
// never after the run moved it to a thread.
const FREE = "aa".repeat(32);
const PAID = "bb".repeat(32);
const SIZE = 200_000;

/** Per call, the ArrayBuffer its input was read into. */
const buffers: ArrayBufferLike[] = [];
/** A held run (input[0] = 0xa1) waits for this, then says whether its input is still what it was at its start. */
let release: () => void = () => {};
let held: Promise<boolean> = Promise.resolve(true);

let f: FastifyInstance;
let port: number;
beforeAll(async () => {
  // A paid call's hold whose commit throws: the answer (500) leaves while the run still reads its input.
  const hold = {
    payer: "0x0000000000000000000000000000000000000002",
    release: () => {},
    commit: () => {
      throw new Error("journal full");
    },
  };
  const payee = { payee: "0x0000000000000000000000000000000000000001", voucherEvery: 10, hold: async () => hold };
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    async run(job: { input: Uint8Array }) {
      const input = job.input;
      buffers.push(input.buffer);
      if (input[0] === 0xa1) {
        const before = Buffer.from(input);
        let go: () => void = () => {};
        const gate = new Promise<void>((r) => {
          go = r;
        });
        release = go;
        held = gate.then(() => before.equals(input));
        await held;
      }
      const out = Uint8Array.from(input.subarray(0, 4));
      if (input[0] === 0xc3) structuredClone(input.buffer, { transfer: [input.buffer as ArrayBuffer] }); // "moved"
      return { bytes: out, contentType: "application/octet-stream" };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  f = Fastify({ forceCloseConnections: true });
  await registerMeteredRoutes(f, {
    payee: payee as unknown as MeteredPayee,
    handler,
    priceOf: (m) => (m === FREE ? 0n : m === PAID ? 5n : null),
  });
  await f.listen({ port: 0, host: "127.0.0.1" });
  port = (f.server.address() as { port: number }).port;
});
afterAll(() => f.close());

function call(model: string, fill: number, extra: string[] = []): Buffer {
  const head = [`POST /v1/infer/0x${model} HTTP/1.1`, "Host: x", "Content-Type: application/octet-stream", ...extra];
  head.push("Accept: application/octet-stream", `Content-Length: ${SIZE}`, "", "");
  return Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), Buffer.alloc(SIZE, fill)]);
}

const END = Buffer.from("GET /v1/payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
const send = (bytes: Buffer) => exchange(port, bytes, [], 1, END);

describe("metered lean path: body buffers kept between calls", () => {
  it("reads the next call into the last call's buffer once its run is done", async () => {
    buffers.length = 0;
    expect(await send(call(FREE, 1))).toContain(`HTTP/1.1 200 OK`);
    expect(await send(call(FREE, 2))).toContain("\r\n\r\n\x02\x02\x02\x02");
    expect(buffers[1] === buffers[0]).toBe(true); // (a boolean: a failed match of two 256 KiB buffers would print both)
  });

  it("does not read another call into a body whose run outlived its answer", async () => {
    buffers.length = 0;
    const first = await send(call(PAID, 0xa1, ["X-Azora-Receipt: r"]));
    expect(first).toContain("HTTP/1.1 500"); // answered, its run still waiting
    expect(await send(call(FREE, 0xb2))).toContain("\r\n\r\n\xb2\xb2\xb2\xb2");
    release();
    expect(await held).toBe(true); // its input untouched by the second call
    expect(buffers[1] === buffers[0]).toBe(false);
    // once that run is done, its buffer is lent again
    await send(call(FREE, 3));
    expect(buffers[2] === buffers[0] || buffers[2] === buffers[1]).toBe(true);
  });

  it("drops a body moved to a thread, and reads the next call into a buffer of its own", async () => {
    buffers.length = 0;
    await send(call(FREE, 0xc3));
    expect(await send(call(FREE, 4))).toContain("\r\n\r\n\x04\x04\x04\x04");
    expect(buffers[1] === buffers[0]).toBe(false);
    expect(buffers[1].byteLength).toBeGreaterThan(0);
  });
});
