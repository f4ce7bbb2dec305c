import { join } from "node:path";
import { type Contract, JsonRpcProvider, NonceManager, parseEther, Wallet, ZeroAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentSession, paymentsContract } from "../../services/client/payments.js";
import { PaidQueries } from "../../services/search/payments/paidQueries.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";

/**
 * The payee's ledger of paid queries against a real chain (an in-process dev node and the market's payments) when
 * things overlap: receipts and a voucher that arrive while a redemption waits for its block, and two queries of one
 * payer charged at once. Each must leave the ledger as if they had come one after the other.
 */
const PRICE = parseEther("0.001");
let node: Awaited<ReturnType<typeof startInProcessNode>>;
let provider: JsonRpcProvider;
let chainId: bigint;

beforeAll(async () => {
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 });
  chainId = (await provider.getNetwork()).chainId;
}, 120_000);

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

/** A payer with a deposit for `payee`, and its session. */
async function payer(key: string, payee: string) {
  const w = new Wallet(key, provider);
  const deposit = parseEther("0.1");
  await (await paymentsContract(new NonceManager(w)).deposit(payee, ZeroAddress, deposit, { value: deposit })).wait();
  return { address: w.address, session: new PaymentSession(w, chainId, payee) };
}

/** The service's market, with `during` run after a redemption is sent and before its receipt is awaited. */
function marketWithHook(market: Contract, during: { hook: (() => Promise<void>) | null }): Contract {
  const redeem = async (...args: unknown[]) => {
    const tx = await market.redeemVouchers(...args);
    const hook = during.hook;
    during.hook = null;
    if (hook !== null) await hook();
    return tx;
  };
  redeem.staticCall = (...args: unknown[]) => market.redeemVouchers.staticCall(...args);
  return new Proxy(market, {
    get: (target, prop, receiver) => (prop === "redeemVouchers" ? redeem : Reflect.get(target, prop, receiver)),
  });
}

const tick = () => new Promise((r) => setTimeout(r, 3));

describe("paid queries: the payee's ledger under overlapping requests", () => {
  it("a voucher and receipts that arrive during a redemption are kept, and redeemed next", async () => {
    const payee = new Wallet(DEV_KEYS[5], provider);
    const during: { hook: (() => Promise<void>) | null } = { hook: null };
    const pq = new PaidQueries({
      wallet: payee,
      market: marketWithHook(paymentsContract(payee), during),
      chainId,
      dbPath: join(tempDir("paid-queries"), "payments.sqlite"),
      voucherEvery: 3,
    });
    try {
      const { address, session } = await payer(DEV_KEYS[6], payee.address);
      /** Three paid queries and the voucher the third asks for. */
      const threeQueries = async () => {
        let request = null;
        for (let i = 0; i < 3; i++) {
          await tick(); // a receipt newer than the last voucher
          request = (await pq.charge(await session.receipt(PRICE), PRICE)).voucherRequest;
        }
        expect(request).not.toBeNull();
        pq.acceptVoucher(await session.voucher(request!));
      };
      const row = () => pq.summary().find((p) => p.payer === address)!;

      await threeQueries();
      during.hook = threeQueries;
      expect(await pq.redeemNow(true)).toEqual({ redeemed: 1, paid: 3n * PRICE });
      // What arrived while the first voucher's redemption waited for its block is all there.
      expect(row()).toMatchObject({
        accepted: String(6n * PRICE),
        receipts: 6,
        vouchered: String(6n * PRICE),
        redeemed: String(3n * PRICE),
      });
      expect(await pq.redeemNow(true)).toEqual({ redeemed: 1, paid: 3n * PRICE });
      expect(row().redeemed).toBe(String(6n * PRICE));
      expect((await paymentsContract(provider).deposits(address, payee.address, ZeroAddress))[3]).toBe(6n * PRICE);
    } finally {
      await pq.close();
    }
  }, 120_000);

  it("two queries of one payer charged at once both count", async () => {
    const payee = new Wallet(DEV_KEYS[7], provider);
    const pq = new PaidQueries({
      wallet: payee,
      market: paymentsContract(payee),
      chainId,
      dbPath: join(tempDir("paid-queries"), "payments.sqlite"),
      voucherEvery: 10,
    });
    try {
      const { address, session } = await payer(DEV_KEYS[8], payee.address);
      const [a, b] = [await session.receipt(PRICE), await session.receipt(PRICE)];
      // Both read the payer's row, then wait for its deposit (not cached yet): the second must not overwrite the first.
      await Promise.all([pq.charge(a, PRICE), pq.charge(b, PRICE)]);
      expect(pq.summary().find((p) => p.payer === address)).toMatchObject({
        accepted: String(2n * PRICE),
        receipts: 2,
      });
    } finally {
      await pq.close();
    }
  }, 120_000);
});
