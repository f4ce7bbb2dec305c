import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { type PayeeFixture, PRICE, payeeFixture, standInMarket } from "./payeeFixture.js";

// The payee's deposit reads (a real SQLite journal, a stand-in market): a call on a known payer never waits for
// the chain while its last reading is under the stale bound, and concurrent calls share one read.
describe("MeteredPayee deposit reads", () => {
  let fx: PayeeFixture;
  let reads: number;
  let pending: (() => void)[];
  let hold: boolean;
  let payee: MeteredPayee;
  let now: number;

  beforeEach(() => {
    fx = payeeFixture("azora-payee-");
    reads = 0;
    pending = [];
    hold = false;
    now = Date.now();
    vi.spyOn(Date, "now").mockImplementation(() => now);
    payee = fx.open(
      standInMarket(async () => {
        reads++;
        if (hold) await new Promise<void>((r) => pending.push(r));
        return 1000n * PRICE;
      }),
    );
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await payee.close();
    fx.remove();
  });

  const settled = async (p: Promise<unknown>) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    return done;
  };

  it("shares one read among concurrent first calls, then serves from the reading", async () => {
    const session = fx.session();
    const receipts = await Promise.all(Array.from({ length: 5 }, () => session.receipt(PRICE)));
    await Promise.all(receipts.map((r) => payee.charge(r, PRICE)));
    expect(reads).toBe(1);
    await payee.charge(await session.receipt(PRICE), PRICE);
    expect(reads).toBe(1);
  });

  it("past the fresh age, answers from the old reading while one read runs; past the stale bound, waits", async () => {
    const session = fx.session();
    await payee.charge(await session.receipt(PRICE), PRICE);
    hold = true;
    now += 3_000; // older than 2 s: refreshed in the background, not waited for
    const a = payee.charge(await session.receipt(PRICE), PRICE);
    const b = payee.charge(await session.receipt(PRICE), PRICE);
    expect(await settled(Promise.all([a, b]))).toBe(true);
    expect(reads).toBe(2); // one background read for both
    for (const r of pending.splice(0)) r();
    await settled(Promise.resolve()); // the background read lands (stamped at the current time)
    now += 11_000; // past the stale bound: the call waits for the chain
    const c = payee.charge(await session.receipt(PRICE), PRICE);
    expect(await settled(c)).toBe(false);
    expect(reads).toBe(3);
    for (const r of pending.splice(0)) r();
    await c;
  });
});
