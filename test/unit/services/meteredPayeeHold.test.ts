import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Contract, parseEther, Wallet } from "ethers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentSession } from "../../../services/client/payments.js";
import { MeteredPayee, PaymentError } from "../../../services/runtime/payments/meteredPayee.js";

// The payee's hold (a real SQLite journal, a stand-in market): what the metered route checks before it starts a
// model — a receipt's nonce is reserved in memory at once, its value counts against the deposit until it is
// journaled or let go, and a journaled receipt is refused before any work after a restart.
const CHAIN = 31337n;
const PRICE = parseEther("0.001");
const payeeWallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const payerWallet = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

describe("MeteredPayee hold", () => {
  let dir: string;
  let payee: MeteredPayee;
  const market = { deposits: async () => [2n * PRICE, 0n, 0n, 0n] } as unknown as Contract;
  const open = () => new MeteredPayee({ wallet: payeeWallet, market, chainId: CHAIN, dbPath: join(dir, "p.sqlite") });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "azora-hold-"));
    payee = open();
  });

  afterEach(async () => {
    await payee.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => "accepted",
      (e: unknown) => (e instanceof PaymentError ? e.message : `unexpected: ${String(e)}`),
    );

  it("refuses a held nonce at once, and a journaled one after a restart, before any work", async () => {
    const session = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
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
    const session = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
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
