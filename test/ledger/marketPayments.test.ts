import { hexlify, Interface, type InterfaceAbi, ZeroAddress } from "ethers";
import { beforeEach, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { type Account, LocalChain, type TxRequest } from "./localChain.js";
import { DEVNET, decoder, LEARN, MARKET } from "./marketFixture.js";
import { signVoucher } from "./paymentsHelpers.js";

/**
 * Metered payments on the market (IMarketPayments at 0x…0A05): deposits in AZR and LEARN, vouchers redeemed in
 * batches all or nothing, the thaw period, and every refusal leaving state as it was. On the runtime itself
 * (LocalChain) so block times are chosen.
 */
const market = new Interface(loadArtifact("IJobMarket").abi as InterfaceAbi);
const learn = new Interface(loadArtifact("ILearn").abi as InterfaceAbi);
const AZR = ZeroAddress;

let chain: LocalChain;
let payer: Account;
let payee: Account;
let other: Account;

const tx = (from: Account, fn: string, args: unknown[], value = 0n): TxRequest => ({
  from,
  to: MARKET,
  data: market.encodeFunctionData(fn, args),
  value,
  gasLimit: 2_000_000n,
});

async function view(fn: string, args: unknown[]) {
  const r = await chain.call(ZeroAddress, MARKET, market.encodeFunctionData(fn, args));
  expect(r.ok, `${fn} view`).toBe(true);
  return market.decodeFunctionResult(fn, r.data);
}

async function depositOf(p: Account, q: Account, token = AZR) {
  const [d] = await view("deposits", [p.address, q.address, token]);
  return { balance: d[0] as bigint, thawing: d[1] as bigint, thawEnds: d[2] as bigint, redeemed: d[3] as bigint };
}

/** Runs one transaction in a block; returns its receipt and decoded market events. */
async function run(t: TxRequest) {
  const [r] = await chain.block([t]);
  const events = r.logs.map(([, topics, data]) =>
    market.parseLog({ topics: topics.map((x) => hexlify(x)), data: hexlify(data) }),
  );
  return { receipt: r, events: events.filter((e) => e !== null) };
}

/** The transaction is refused with `error` (decoded from an eth_call), and mined it changes nothing. */
async function refused(t: TxRequest, error: string) {
  const sim = await chain.call(t.from.address, t.to, t.data, t.value ?? 0n);
  expect(sim.ok, `${error}: simulation reverts`).toBe(false);
  expect(decoder.parseError(hexlify(sim.data))?.name).toBe(error);
  const before = [await chain.balance(MARKET), await depositOf(payer, payee), await depositOf(payer, payee, LEARN)];
  const { receipt } = await run(t);
  expect(receipt.status).toBe(0);
  expect([await chain.balance(MARKET), await depositOf(payer, payee), await depositOf(payer, payee, LEARN)]).toEqual(
    before,
  );
}

const chainId = () => chain.common.chainId();
const voucher = (valueAggregate: bigint, opts: { token?: string; signer?: Account; to?: Account } = {}) =>
  signVoucher((opts.signer ?? payer).key, chainId(), {
    payer: payer.address,
    payee: (opts.to ?? payee).address,
    token: opts.token ?? AZR,
    valueAggregate,
    timestampMs: 1n,
  });
const redeem = async (from: Account, vs: Awaited<ReturnType<typeof voucher>>[]) =>
  tx(from, "redeemVouchers", [vs.map((v) => v.tuple), vs.map((v) => v.signature)]);

beforeEach(async () => {
  chain = await LocalChain.start({ extra: 0 });
  [, payer, payee, other] = chain.accounts;
});

describe("market payments: deposits and vouchers", () => {
  it("a deposit in AZR is redeemed by cumulative vouchers; an old voucher pays nothing twice", async () => {
    const d = await run(tx(payer, "deposit", [payee.address, AZR, 10n ** 18n], 10n ** 18n));
    expect(d.events.map((e) => e?.name)).toEqual(["DepositAdded"]);
    expect(await depositOf(payer, payee)).toEqual({ balance: 10n ** 18n, thawing: 0n, thawEnds: 0n, redeemed: 0n });
    expect(await chain.balance(MARKET)).toBe(10n ** 18n);

    const before = await chain.balance(payee.address);
    const v1 = await voucher(3000n);
    const r1 = await run(await redeem(payee, [v1]));
    expect(r1.receipt.status).toBe(1);
    expect(r1.events.map((e) => [e?.name, e?.args.amount])).toEqual([["VoucherRedeemed", 3000n]]);
    const gas1 = r1.receipt.gasUsed * r1.receipt.effectiveGasPrice;
    expect(await chain.balance(payee.address)).toBe(before + 3000n - gas1);

    const r2 = await run(await redeem(payee, [await voucher(5000n)]));
    expect(r2.events.map((e) => e?.args.amount)).toEqual([2000n]);
    expect(await depositOf(payer, payee)).toMatchObject({ balance: 10n ** 18n - 5000n, redeemed: 5000n });
    expect(await chain.balance(MARKET)).toBe(10n ** 18n - 5000n);
    await refused(await redeem(payee, [v1]), "VoucherAlreadyRedeemed");
  });

  it("a batch is all or nothing: one underfunded voucher refuses the others too", async () => {
    await run(tx(payer, "deposit", [payee.address, AZR, 1000n], 1000n));
    await run(tx(other, "deposit", [payee.address, AZR, 1000n], 1000n));
    const fromOther = await signVoucher(other.key, chainId(), {
      payer: other.address,
      payee: payee.address,
      token: AZR,
      valueAggregate: 400n,
      timestampMs: 1n,
    });
    await refused(await redeem(payee, [fromOther, await voucher(1001n)]), "VoucherUnderfunded");
    const [d] = await view("deposits", [other.address, payee.address, AZR]);
    expect(d[3]).toBe(0n); // the good voucher was not redeemed either
    const ok = await run(await redeem(payee, [fromOther, await voucher(1000n)]));
    expect(ok.events.map((e) => e?.args.amount)).toEqual([400n, 1000n]);
    expect(await chain.balance(MARKET)).toBe(600n);
  });

  it("refuses vouchers not signed by the payer, for another payee, or malformed", async () => {
    await run(tx(payer, "deposit", [payee.address, AZR, 1000n], 1000n));
    await refused(await redeem(payee, [await voucher(10n, { signer: other })]), "VoucherInvalidSigner");
    await refused(await redeem(other, [await voucher(10n)]), "PaymentInvalid"); // only the payee redeems
    const v = await voucher(10n);
    const tampered = { tuple: [v.tuple[0], v.tuple[1], v.tuple[2], 999n, v.tuple[4]] as const, signature: v.signature };
    await refused(await redeem(payee, [tampered]), "VoucherInvalidSigner");
    await refused(tx(payee, "redeemVouchers", [[v.tuple], []]), "PaymentInvalid");
    await refused(tx(payee, "redeemVouchers", [[v.tuple], ["0x1234"]]), "PaymentInvalid");
    await refused(tx(payer, "deposit", [payer.address, AZR, 1n], 1n), "PaymentInvalid"); // to oneself
    await refused(tx(payer, "deposit", [payee.address, AZR, 5n], 4n), "JobInvalidPayment");
    await refused(tx(payer, "deposit", [payee.address, other.address, 5n], 0n), "JobInvalidToken");
  });

  it("a thaw keeps the deposit redeemable for the thaw period, then pays the rest back", async () => {
    await run(tx(payer, "deposit", [payee.address, AZR, 1000n], 1000n));
    const t = await run(tx(payer, "thaw", [payee.address, AZR, 800n]));
    const ends = chain.now + DEVNET.unbondingPeriod;
    expect(t.events.map((e) => [e?.name, e?.args.amount, e?.args.thawEnds])).toEqual([["ThawStarted", 800n, ends]]);
    await refused(tx(payer, "withdrawDeposit", [payee.address, AZR]), "DepositThawing");
    // The payee redeems within the thaw period: what leaves shrinks to what is left.
    chain.now += DEVNET.unbondingPeriod - 10n;
    await run(await redeem(payee, [await voucher(700n)]));
    expect(await depositOf(payer, payee)).toEqual({ balance: 300n, thawing: 300n, thawEnds: ends, redeemed: 700n });
    chain.now = ends;
    const before = await chain.balance(payer.address);
    const w = await run(tx(payer, "withdrawDeposit", [payee.address, AZR]));
    expect(w.events.map((e) => [e?.name, e?.args.amount])).toEqual([["DepositWithdrawn", 300n]]);
    expect(await chain.balance(payer.address)).toBe(before + 300n - w.receipt.gasUsed * w.receipt.effectiveGasPrice);
    expect(await chain.balance(MARKET)).toBe(0n);
    await refused(tx(payer, "withdrawDeposit", [payee.address, AZR]), "NothingToWithdraw");
    await refused(await redeem(payee, [await voucher(701n)]), "VoucherUnderfunded");
  });

  it("LEARN deposits are pulled by allowance and redeemed in LEARN", async () => {
    await refused(tx(payer, "deposit", [payee.address, LEARN, 50n]), "ERC20InsufficientAllowance");
    await run({ from: payer, to: LEARN, data: learn.encodeFunctionData("approve", [MARKET, 50n]) });
    await run(tx(payer, "deposit", [payee.address, LEARN, 50n]));
    const bal = async (a: string) => {
      const r = await chain.call(ZeroAddress, LEARN, learn.encodeFunctionData("balanceOf", [a]));
      return learn.decodeFunctionResult("balanceOf", r.data)[0] as bigint;
    };
    expect(await bal(MARKET)).toBe(50n);
    const before = await bal(payee.address);
    await run(await redeem(payee, [await voucher(20n, { token: LEARN })]));
    expect(await bal(payee.address)).toBe(before + 20n);
    expect(await depositOf(payer, payee, LEARN)).toMatchObject({ balance: 30n, redeemed: 20n });
    // AZR and LEARN deposits to the same payee are separate accounts.
    await refused(await redeem(payee, [await voucher(1n)]), "VoucherUnderfunded");
  });

  it("gas: a deposit, and a redemption of one and of 32 vouchers", async () => {
    const payers = chain.accounts.slice(3, 10);
    const d = await run(tx(payer, "deposit", [payee.address, AZR, 10n ** 18n], 10n ** 18n));
    for (const p of payers) await run(tx(p, "deposit", [payee.address, AZR, 10n ** 18n], 10n ** 18n));
    const one = await run(await redeem(payee, [await voucher(1n)]));
    const vs = [];
    for (let i = 0; i < 32; i++) {
      const p = payers[i % payers.length];
      vs.push(
        await signVoucher(p.key, chainId(), {
          payer: p.address,
          payee: payee.address,
          token: AZR,
          valueAggregate: BigInt(1 + Math.floor(i / payers.length)),
          timestampMs: 1n,
        }),
      );
    }
    // Several vouchers of one payer in a batch: each raises the aggregate, so the batch goes in order.
    const batch = await run(await redeem(payee, vs));
    expect(batch.receipt.status).toBe(1);
    const perVoucher = (batch.receipt.gasUsed - 21_000n) / 32n;
    console.log(
      `payments gas: deposit ${d.receipt.gasUsed}, redeem 1 voucher ${one.receipt.gasUsed}, 32 vouchers ${batch.receipt.gasUsed} (${perVoucher}/voucher)`,
    );
    expect(perVoucher).toBeLessThan(one.receipt.gasUsed - 21_000n);
  });
});
