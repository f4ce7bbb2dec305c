import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";
import { type PayeeFixture, PRICE, payeeFixture, standInMarket } from "./payeeFixture.js";

// The hold's refusals that read the payer's journal row (read once per hold, after the deposit's await): a payer
// past its unvouchered allowance, and a deposit that does not cover the receipt — even after it is read again —
// are refused with the reason, and nothing is journaled for them.
let fx: PayeeFixture;
let payee: MeteredPayee | null = null;
beforeEach(() => {
  fx = payeeFixture("azora-payee-refusals-");
});
afterEach(async () => {
  await payee?.close();
  payee = null;
  fx.remove();
});

describe("MeteredPayee hold refusals", () => {
  it("refuses a payer whose receipts run past the voucher allowance until it hands in a voucher", async () => {
    payee = fx.open(standInMarket(async () => 1000n * PRICE));
    const session = fx.session();
    const allowance = 3 * payee.voucherEvery; // maxUnvouchered's default
    for (let i = 0; i < allowance; i++) await payee.charge(await session.receipt(PRICE), PRICE);
    await expect(payee.hold(await session.receipt(PRICE), PRICE)).rejects.toThrow(/voucher overdue/);
    const accepted = payee.summary().find((p) => p.receipts === allowance);
    expect(accepted).toBeDefined(); // the refused receipt was not journaled
  });

  it("re-reads a deposit that looks short, refuses when it still is, and accepts once it covers", async () => {
    let balance = PRICE / 2n;
    let reads = 0;
    payee = fx.open(
      standInMarket(async () => {
        reads++;
        return balance;
      }),
    );
    const session = fx.session();
    await expect(payee.hold(await session.receipt(PRICE), PRICE)).rejects.toThrow(/does not cover/);
    expect(reads).toBe(2); // the cached reading, then a fresh one
    balance = 2n * PRICE;
    const h = await payee.hold(await session.receipt(PRICE), PRICE);
    h.commit();
    // the first receipt's PRICE is owed now: a second one is covered (2 × PRICE), a third is not
    await payee.charge(await session.receipt(PRICE), PRICE);
    await expect(payee.hold(await session.receipt(PRICE), PRICE)).rejects.toThrow(/does not cover/);
  });
});
