import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentSession } from "../../../services/client/payments.js";
import { SearchError, SearchErrorCode } from "../../../services/search/errors.js";
import { STATUS } from "../../../services/search/http/errors.js";
import { PaidQueries } from "../../../services/search/payments/paidQueries.js";
import { CHAIN, PRICE, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

// The search API's paid queries refuse through the search's own error codes, so its one HTTP mapping answers
// them: a receipt that does not pay — a session receipt included, since search takes no session opens — is
// 402 with the reason, a bad voucher 400.
let dir: string;
let paid: PaidQueries;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "azora-paid-queries-"));
  paid = new PaidQueries({
    wallet: payeeWallet,
    market: standInMarket(async () => 1000n * PRICE),
    chainId: CHAIN,
    dbPath: join(dir, "p.sqlite"),
  });
});
afterEach(async () => {
  await paid.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = (p: Promise<unknown> | (() => unknown)) =>
  Promise.resolve()
    .then(typeof p === "function" ? p : () => p)
    .then(
      () => null,
      (e: unknown) => e,
    );

describe("paid queries' refusals", () => {
  it("a session receipt (no session open here) is 402, not a bad request", async () => {
    const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
    await s.useReceiptSessions(paid.sessions.publicKey);
    const e = await refusal(paid.charge(await s.receipt(PRICE), PRICE));
    expect(e).toBeInstanceOf(SearchError);
    expect((e as SearchError).code).toBe(SearchErrorCode.PAYMENT_REQUIRED);
    expect(STATUS[(e as SearchError).code]).toBe(402);
    expect((e as SearchError).message).toMatch(/session/);
  });

  it("a missing receipt is 402 and a malformed voucher 400", async () => {
    const missing = (await refusal(paid.charge(undefined, PRICE))) as SearchError;
    expect(missing.code).toBe(SearchErrorCode.PAYMENT_REQUIRED);
    const voucher = (await refusal(() => paid.acceptVoucher("not a voucher"))) as SearchError;
    expect(voucher.code).toBe(SearchErrorCode.BAD_REQUEST);
    expect(STATUS[voucher.code]).toBe(400);
  });

  it("a signed receipt that pays is charged", async () => {
    const s = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
    await expect(paid.charge(await s.receipt(PRICE), PRICE)).resolves.toMatchObject({ payer: payerWallet.address });
  });
});
