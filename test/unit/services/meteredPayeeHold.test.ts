import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import { type PayeeFixture, PRICE, payeeFixture, payerWallet, standInMarket } from "./payeeFixture.js";

// The payee's hold (a real SQLite journal, a stand-in market): what the metered route checks before it starts a
// model — a receipt's nonce is reserved in memory at once, its value counts against the deposit until it is
// journaled or let go, and a journaled receipt is refused before any work after a restart.
describe("MeteredPayee hold", () => {
  let fx: PayeeFixture;
  let payee: ReturnType<PayeeFixture["open"]>;
  const market = standInMarket(async () => 2n * PRICE);
  const open = () => fx.open(market);

  beforeEach(() => {
    fx = payeeFixture("azora-hold-");
    payee = open();
  });

  afterEach(async () => {
    await payee.close();
    fx.remove();
  });

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => "accepted",
      (e: unknown) => (e instanceof PaymentError ? e.message : `unexpected: ${String(e)}`),
    );

  it("refuses a held nonce at once, and a journaled one after a restart, before any work", async () => {
    const session = fx.session();
    const r = await session.receipt(PRICE);
    const h = await payee.hold(r, PRICE);
    expect(await refusal(payee.hold(r, PRICE))).toMatch(/already used/);
    expect(h.commit().account.receipts).toBe(1);
    expect(await refusal(payee.hold(r, PRICE))).toMatch(/already used/);
    await payee.close();
    payee = open(); // a restarted worker: nothing in memory, the journal decides
    expect(await refusal(payee.hold(r, PRICE))).toMatch(/already used/);
  });

  it("counts held receipts against the deposit until they are journaled or let go", async () => {
    const session = fx.session();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => session.receipt(PRICE)));
    const ha = await payee.hold(a, PRICE);
    const hb = await payee.hold(b, PRICE);
    expect(await refusal(payee.hold(c, PRICE))).toMatch(/does not cover/); // the deposit covers two
    hb.release();
    const hc = await payee.hold(c, PRICE);
    ha.commit();
    hc.commit();
    expect(payee.account(payerWallet.address)).toMatchObject({ accepted: 2n * PRICE, receipts: 2 });
    expect(await refusal(payee.hold(b, PRICE))).toMatch(/does not cover/); // released, but the deposit is used up
  });
});
