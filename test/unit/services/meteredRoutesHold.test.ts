import { once } from "node:events";
import { connect, type Socket } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InferenceClient, SPARE_MAX_AGE_MS } from "../../../services/client/inferenceClient.js";
import { RECEIPT_HEADER } from "../../../services/client/payments.js";
import type { JobHandler } from "../../../services/runtime/handler.js";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";
import { PRICE, payeeFixture, standInMarket } from "./payeeFixture.js";

// The receipt's hold starts when a metered request's head arrives, while its body still uploads (meteredRoutes.ts).
// On a real payee (SQLite journal, stand-in market): a body that fails or is aborted lets the hold go (the same
// receipt then pays for a retry), a second use of a held receipt is refused while the first still uploads, a bad
// receipt is answered 402 before the body is in, and the model runs only for a paid request.
const MODEL = "bb".repeat(32);
const BODY = Buffer.alloc(64 * 1024, 7);

const fixtures: { f: FastifyInstance; payee: MeteredPayee; remove(): void }[] = [];
afterEach(async () => {
  for (const x of fixtures.splice(0)) {
    await x.f.close();
    x.payee.close();
    x.remove();
  }
});

async function app() {
  const fx = payeeFixture("azora-metered-hold-");
  const payee = fx.open(standInMarket(async () => PRICE * 1000n));
  const runs: number[] = [];
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    run: async (job: { input: Uint8Array }) => {
      runs.push(job.input.length);
      return { bytes: Uint8Array.of(1), contentType: "application/octet-stream" };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  const f = Fastify({ forceCloseConnections: true });
  await registerMeteredRoutes(f, { payee, handler, priceOf: (m) => (m === MODEL ? PRICE : null) });
  await f.listen({ port: 0, host: "127.0.0.1" });
  fixtures.push({ f, payee, remove: fx.remove });
  const port = (f.server.address() as { port: number }).port;
  // resolves with each hold the payee grants, in order: a test learns that a request holds its receipt without
  // spending the receipt on a probe
  const granted: Promise<unknown>[] = [];
  const grant: ((h: unknown) => void)[] = [];
  for (let i = 0; i < 8; i++) granted.push(new Promise((r) => grant.push(r)));
  const hold = payee.hold.bind(payee);
  let n = 0;
  payee.hold = (header, price, open) => {
    const p = hold(header, price, open);
    p.then(
      (h) => grant[n++]?.(h),
      () => {},
    );
    return p;
  };
  return { f, payee, runs, session: fx.session(), port, granted };
}

const post = (f: FastifyInstance, receipt: string, payload: Buffer = BODY, headers: Record<string, string> = {}) =>
  f.inject({
    method: "POST",
    url: `/v1/infer/0x${MODEL}`,
    headers: {
      "content-type": "application/octet-stream",
      accept: "application/octet-stream",
      [RECEIPT_HEADER]: receipt,
      ...headers,
    },
    payload,
  });

/** A request over a real socket whose body is sent only up to `sent` bytes of `BODY` (the rest via `finish`). */
async function partial(port: number, receipt: string, sent: number) {
  const s: Socket = connect(port, "127.0.0.1");
  await once(s, "connect");
  let text = "";
  s.on("data", (d) => {
    text += d.toString("latin1");
  });
  const closed = once(s, "close").catch(() => {});
  s.write(
    `POST /v1/infer/0x${MODEL} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\n` +
      `accept: application/octet-stream\r\n${RECEIPT_HEADER}: ${receipt}\r\ncontent-length: ${BODY.length}\r\n\r\n`,
  );
  s.write(BODY.subarray(0, sent));
  return {
    /** The response's status line, once it has come. */
    status: async () => {
      while (!text.includes("\r\n")) await once(s, "data");
      return Number(text.split(" ")[1]);
    },
    finish: () => s.write(BODY.subarray(sent)),
    abort: async () => {
      s.destroy();
      await closed;
    },
    close: () => s.end(),
  };
}

describe("metered routes: the receipt's hold from the request's head", () => {
  it("a body that fails lets the hold go: the same receipt then pays for a retry, once", async () => {
    const { f, runs, session } = await app();
    const r = await session.receipt(PRICE);
    const short = await post(f, r, BODY, { "content-length": String(BODY.length + 10) });
    expect(short.statusCode).toBe(400);
    for (const type of ["text/plain", "image/png"]) {
      const wrongType = await post(f, r, BODY, { "content-type": type });
      expect(wrongType.statusCode).toBeGreaterThanOrEqual(400); // 400 (a parsed string, not bytes), 415
      expect(wrongType.statusCode).toBeLessThan(500);
    }
    expect(runs).toEqual([]);
    const ok = await post(f, r);
    expect(ok.statusCode).toBe(200);
    expect(runs).toEqual([BODY.length]);
    const again = await post(f, r);
    expect(again.statusCode).toBe(402);
    expect(again.json().message).toMatch(/already used/);
    expect(runs).toEqual([BODY.length]);
  });

  it("a held receipt is refused to a second request while the first still uploads; the first is then served", async () => {
    const { f, runs, session, port, granted } = await app();
    const r = await session.receipt(PRICE);
    const first = await partial(port, r, 1000);
    await granted[0]; // the hold is taken on the head, with the body still uploading
    const second = await post(f, r);
    expect(second.statusCode).toBe(402);
    expect(second.json().message).toMatch(/already used/);
    expect(runs).toEqual([]);
    first.finish();
    expect(await first.status()).toBe(200);
    first.close();
    expect(runs).toEqual([BODY.length]);
  });

  it("an upload aborted mid-body lets its hold go", async () => {
    const { f, runs, session, port, granted } = await app();
    const r = await session.receipt(PRICE);
    const first = await partial(port, r, 1000);
    await granted[0];
    await first.abort();
    await vi.waitFor(async () => expect((await post(f, r)).statusCode).toBe(200));
    expect(runs).toEqual([BODY.length]);
  });

  it("a bad receipt is answered 402 while the body is still uploading, and nothing runs", async () => {
    const { runs, port } = await app();
    const bad = await partial(port, "not-a-receipt", 1000);
    expect(await bad.status()).toBe(402);
    bad.close();
    expect(runs).toEqual([]);
  });
});

describe("the metered client: the next call's receipt signed while this one waits", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const client = (port: number, session: ReturnType<ReturnType<typeof payeeFixture>["session"]>, presign?: boolean) => {
    const signed: string[] = []; // receipts, in signing order
    const receipt = session.receipt.bind(session);
    session.receipt = async (value: bigint) => {
      const r = await receipt(value);
      signed.push(r);
      return r;
    };
    return {
      c: new InferenceClient({ url: `http://127.0.0.1:${port}`, payment: session, price: PRICE, presign }),
      signed,
    };
  };

  it("each call sends the receipt signed during the previous one; each is paid once; a stale spare is not sent", async () => {
    const { payee, runs, session, port } = await app();
    const { c, signed } = client(port, session);
    for (let i = 1; i <= 4; i++) {
      const r = await c.infer(MODEL, BODY);
      expect(r.payment.receipts).toBe(i);
      // this call's receipt, and the next call's, signed once the request was sent (the spare's signing is not
      // awaited by the call, so under load it may end just after the answer: wait for it rather than race it)
      await vi.waitFor(() => expect(signed.length).toBe(i + 1));
    }
    // the spare is now too old to send: the next call signs a fresh one (and a spare after it)
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + SPARE_MAX_AGE_MS + 1 });
    const r = await c.infer(MODEL, BODY);
    expect(r.payment.receipts).toBe(5);
    expect(signed.length).toBe(7);
    expect(runs.length).toBe(5);
    expect(payee.summary()[0]).toMatchObject({ receipts: 5, accepted: String(5n * PRICE) });
  });

  it("with presign off, a receipt is signed per call, at the call", async () => {
    const { session, port } = await app();
    const { c, signed } = client(port, session, false);
    for (let i = 1; i <= 3; i++) {
      expect((await c.infer(MODEL, BODY)).payment.receipts).toBe(i);
      expect(signed.length).toBe(i);
    }
  });
});
