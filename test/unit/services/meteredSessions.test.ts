import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { InferenceClient } from "../../../services/client/inferenceClient.js";
import type { JobHandler } from "../../../services/runtime/handler.js";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../../../services/runtime/payments/meteredRoutes.js";
import { PRICE, payeeFixture, standInMarket } from "./payeeFixture.js";

// The inference client against the metered routes on a real payee: it switches to session receipts when the worker
// advertises its key, sends the session's open until a call of it is answered, and when the worker no longer knows
// the session (here: its journal replaced) it opens a new one and the call succeeds.
const MODEL = "cc".repeat(32);
const BODY = Buffer.alloc(4096, 3);
const market = standInMarket(async () => PRICE * 1000n);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function worker() {
  const fixtures = [payeeFixture("azora-metered-sessions-")];
  let payee: MeteredPayee = fixtures[0].open(market);
  const opens: (string | undefined)[] = []; // each hold's session open header
  const handler = {
    kinds: ["ai/onnx"],
    engine: "echo",
    run: async () => ({ bytes: Uint8Array.of(1), contentType: "application/octet-stream" }),
    agrees: () => true,
  } as unknown as JobHandler;
  const f: FastifyInstance = Fastify({ forceCloseConnections: true });
  const deps = { handler, priceOf: (m: string) => (m === MODEL ? PRICE : null), payee };
  // Each hold's session open, as the payee is handed it (by the fastify route or the lean front: meteredFront.ts).
  const spied = (p: MeteredPayee): MeteredPayee =>
    new Proxy(p, {
      get(t, k) {
        if (k === "hold")
          return (...args: Parameters<MeteredPayee["hold"]>) => {
            opens.push(args[2]);
            return t.hold(...args);
          };
        const v = Reflect.get(t, k, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  Object.defineProperty(deps, "payee", { get: () => spied(payee) });
  await registerMeteredRoutes(f, deps);
  await f.listen({ port: 0, host: "127.0.0.1" });
  cleanup.push(async () => {
    await f.close();
    await payee.close();
    for (const x of fixtures) x.remove();
  });
  return {
    url: `http://127.0.0.1:${(f.server.address() as { port: number }).port}`,
    opens,
    payee: () => payee,
    /** The worker restarted on a new journal (its data directory replaced): it knows no session. */
    loseJournal: async () => {
      await payee.close();
      fixtures.push(payeeFixture("azora-metered-sessions-"));
      payee = fixtures[fixtures.length - 1].open(market);
    },
    session: () => fixtures[0].session(),
  };
}

describe("the metered client with receipt sessions", () => {
  it("opens a session, sends its open until answered, and reopens once when the worker does not know it", async () => {
    const w = await worker();
    const payment = w.session();
    const c = new InferenceClient({ url: w.url, payment, price: PRICE });
    for (let i = 1; i <= 3; i++) expect((await c.infer(MODEL, BODY)).payment.receipts).toBe(i);
    expect(payment.receiptSessionId).not.toBeNull();
    expect(w.opens.map((o) => o !== undefined)).toEqual([true, false, false]); // the open once
    const first = payment.receiptSessionId;
    expect(w.payee().summary()[0]).toMatchObject({ receipts: 3, accepted: String(3n * PRICE) });

    await w.loseJournal();
    const r = await c.infer(MODEL, BODY); // refused as unknown, reopened, retried
    expect(r.payment.receipts).toBe(1);
    expect(payment.receiptSessionId).not.toBe(first);
    expect(w.opens.slice(3).map((o) => o !== undefined)).toEqual([false, true]);
    expect((await c.infer(MODEL, BODY)).payment.receipts).toBe(2);
    // the payer counts every receipt it made (the refused one too): vouchers stay bounded by what it signed
    expect(payment.owed).toBeGreaterThanOrEqual(6n * PRICE);
  });

  it("keeps signature receipts when told not to use sessions", async () => {
    const w = await worker();
    const payment = w.session();
    const c = new InferenceClient({ url: w.url, payment, price: PRICE, sessions: false, presign: false });
    expect((await c.infer(MODEL, BODY)).payment.receipts).toBe(1);
    expect(payment.receiptSessionId).toBeNull();
    expect(w.opens).toEqual([undefined]);
  });
});
