import { createHash } from "node:crypto";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { BodyBuffers } from "../../../services/runtime/bodyBuffers.js";
import type { JobHandler, JobInput } from "../../../services/runtime/handler.js";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";

// Request bodies read into recycled buffers (runtime/bodyBuffers.ts): the pool's ownership rules, and the metered
// route's use of it — a later call's body reuses an earlier call's buffer, and no call ever sees another's bytes.

describe("BodyBuffers", () => {
  it("hands out exactly the size asked, and a buffer given back serves the next take of a fitting size", () => {
    const p = new BodyBuffers();
    const a = p.take(1000);
    expect(a.length).toBe(1000);
    expect(a.byteOffset).toBe(0);
    p.give(a.subarray(8)); // a view into it is enough
    const b = p.take(900);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(900);
    expect(p.reused).toBe(1);
  });

  it("ignores a second give, a foreign buffer, a buffer moved to another thread and one too large to keep", () => {
    const p = new BodyBuffers({ maxBytes: 4096 });
    const a = p.take(100);
    p.give(a);
    p.give(a); // not taken now: ignored (else two takes could share it)
    const b = p.take(100);
    const c = p.take(100);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
    p.give(Buffer.allocUnsafeSlow(100)); // not from the pool
    expect(p.take(100).buffer).not.toBe(a.buffer);
    structuredClone(c.buffer, { transfer: [c.buffer as ArrayBuffer] }); // detached, as after a move to an inference thread
    p.give(c);
    const big = p.take(5000);
    p.give(big);
    p.give(b);
    expect(p.take(100).buffer).toBe(b.buffer); // the only one kept
    expect(p.take(5000).buffer).not.toBe(big.buffer);
  });

  it("keeps at most `keep` buffers and never serves a small body from a buffer over twice its size", () => {
    const p = new BodyBuffers({ keep: 2 });
    const [x, y, z] = [p.take(100), p.take(200), p.take(1000)];
    for (const b of [x, y, z]) p.give(b); // x is dropped: keep 2
    expect(p.take(450).buffer).not.toBe(z.buffer); // 1000 > 2 × 450
    expect(p.take(150).buffer).toBe(y.buffer); // the smallest that fits
    expect(p.take(100).buffer).not.toBe(x.buffer);
    expect(p.take(600).buffer).toBe(z.buffer);
  });
});

const FREE = "aa".repeat(32);

/** The metered route with a free model and a handler that answers sha256 of its input and records its buffers. */
async function route(run?: (job: JobInput) => Uint8Array) {
  const buffers: ArrayBufferLike[] = [];
  const handler = {
    kinds: ["ai/onnx"],
    engine: "hash",
    run: async (job: JobInput) => {
      buffers.push(job.input.buffer);
      const bytes = run ? run(job) : createHash("sha256").update(job.input).digest();
      return { bytes, contentType: "application/octet-stream" };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  const f = Fastify();
  await registerMeteredRoutes(f, { payee: {} as MeteredPayee, handler, priceOf: () => 0n });
  const post = (body: Buffer) =>
    f.inject({
      method: "POST",
      url: `/v1/infer/0x${FREE}`,
      headers: { "content-type": "application/octet-stream", accept: "application/octet-stream" },
      payload: body,
    });
  return { f, post, buffers };
}

/** An AZT1-like body: the header the aligned reader looks at (one tensor named "x", rank 2), then random data. */
function body(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  b.write("AZT1", 0, "latin1");
  b.writeUInt16LE(1, 8); // name length
  b[11 + 1] = 2; // rank
  return b;
}

describe("the metered route's recycled bodies", () => {
  it("a lone call's body reuses the previous call's buffer", async () => {
    const { f, post, buffers } = await route();
    for (let i = 0; i < 3; i++) expect((await post(body(64 * 1024, i))).statusCode).toBe(200);
    expect(buffers[1]).toBe(buffers[0]);
    expect(buffers[2]).toBe(buffers[0]);
    await f.close();
  });

  it("every answer is computed on its own body's bytes, over random sizes (property, vs a fresh hash)", async () => {
    const { f, post, buffers } = await route();
    let seed = 7;
    for (let i = 0; i < 60; i++) {
      seed = (seed * 48271) % 2147483647;
      const size = 16 + (seed % 20_000);
      const b = body(size, seed);
      const r = await post(b);
      expect(r.statusCode).toBe(200);
      expect(r.rawPayload.equals(createHash("sha256").update(b).digest())).toBe(true);
    }
    expect(new Set(buffers).size).toBeLessThan(buffers.length); // buffers were reused along the way
    await f.close();
  });

  it("a body whose run failed is not reused", async () => {
    let fail = true;
    const { f, post, buffers } = await route((job) => {
      if (fail) throw new Error("boom");
      return job.input.subarray(0, 1);
    });
    expect((await post(body(4096, 1))).statusCode).toBe(500);
    fail = false;
    expect((await post(body(4096, 2))).statusCode).toBe(200);
    expect(buffers[1]).not.toBe(buffers[0]);
    await f.close();
  });
});
