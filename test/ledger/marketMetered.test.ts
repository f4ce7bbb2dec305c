import { type HDNodeWallet, parseEther, type Wallet, ZeroAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  as,
  bondOf,
  DEVNET,
  type Fixture,
  feeOf,
  JobStatus,
  Mode,
  marketEvents,
  marketHelpers,
  S,
  SlotStatus,
  startMarketFixture,
  stopMarketFixture,
  V,
  W,
} from "./marketFixture.js";

/**
 * `submitMetered` (work paid by the unit, e.g. a mail campaign paid per delivered message): an undisputed
 * settlement pays the worker what its result claims and refunds the rest of the price and the same share of the
 * fee; the arbiter's ruling replaces the claim; refusals leave no trace. Money moves once: the credits of a
 * settlement add up to exactly what the post escrowed.
 */

type Signer = Wallet | HDNodeWallet;
let f: Fixture;
let h: ReturnType<typeof marketHelpers>;
let requester: Signer;
let arbiter: Signer;
let workers: Signer[];

const RESULT = `0x${"44".repeat(32)}`;
/** 100 messages at 0.01 AZR each. */
const PER_MESSAGE = parseEther("0.01");
const PRICE = PER_MESSAGE * 100n;

beforeAll(async () => {
  f = await startMarketFixture(2);
  h = marketHelpers(f);
  requester = f.dev[1];
  arbiter = f.more[0];
  workers = f.dev.slice(2, 6);
  for (const w of workers) await h.register(w, { stake: parseEther("20") });
});

afterAll(() => stopMarketFixture(f));

const credit = (who: string) => f.market.withdrawable(who, ZeroAddress) as Promise<bigint>;

async function claimed(w: Signer, overrides: Parameters<typeof h.post>[1] = {}) {
  const posted = await h.post(requester, { price: PRICE, ...overrides });
  await h.ok(as(f.market, w).claim(posted.id));
  return posted;
}

describe("submitMetered", () => {
  it("accept pays the worker 90 of 100 messages and refunds 10 × price and that share of the fee", async () => {
    const w = workers[0];
    const { id, spec, escrowed } = await claimed(w);
    const before = {
      w: await credit(w.address),
      r: await credit(requester.address),
      fee: await credit(DEVNET.feeRecipient),
    };
    const earned = PER_MESSAGE * 90n;
    const s = await h.ok(as(f.market, w).submitMetered(id, RESULT, "ipfs://log", earned));
    expect(marketEvents(s).ResultMetered).toEqual([[id, w.address, earned]]);
    // gas, pinned (README "Gas"): submit's 46,380 with a 20-byte URI, + the earned word, the head bit, the log
    expect(await h.moduleGas(s)).toBe(60_236n);
    expect(marketEvents(s).ResultSubmitted).toEqual([[id, w.address, 0n, RESULT, "ipfs://log"]]);
    const r = await h.ok(as(f.market, requester).accept(id));
    expect(await h.moduleGas(r)).toBe(99_373n);
    const ev = marketEvents(r);
    const fee = (feeOf(spec) * 90n) / 100n;
    const refunded = PER_MESSAGE * 10n + (feeOf(spec) - fee);
    expect(ev.WorkerPaid).toEqual([[id, w.address, earned, (DEVNET.learnRewardPerJob * 90n) / 100n]]);
    expect(ev.JobRefunded).toEqual([[id, requester.address, refunded]]);
    expect(ev.JobFinalized).toEqual([[id, earned, (DEVNET.learnRewardPerJob * 90n) / 100n, fee]]);
    expect(await credit(w.address)).toBe(before.w + earned);
    expect(await credit(requester.address)).toBe(before.r + refunded);
    const feeGot = (await credit(DEVNET.feeRecipient)) - before.fee;
    expect(feeGot).toBe(fee);
    // money moves once: what the post escrowed is exactly what the settlement credited
    expect(earned + refunded + feeGot).toBe(escrowed);
    const job = await h.job(id);
    expect(job[V.status]).toBe(JobStatus.Finalized);
    expect(job[V.slots][0][S.status]).toBe(SlotStatus.Paid);
    expect((await h.worker(w.address))[W.locked]).toBe(0n);
  });

  it("finalize after the challenge window pays the claim too; a claim of 0 pays nothing and keeps the bond whole", async () => {
    const w = workers[1];
    const { id } = await claimed(w, { challengeWindow: 5n });
    const before = await credit(w.address);
    const s = await h.ok(as(f.market, w).submitMetered(id, RESULT, "ipfs://log", 0n));
    await h.passTo((await h.job(id))[V.challengeEnds]);
    const r = await h.ok(as(f.market, requester).finalize(id));
    expect(marketEvents(r).WorkerPaid).toEqual([[id, w.address, 0n, 0n]]);
    expect(await credit(w.address)).toBe(before);
    expect(s.status).toBe(1);
    expect((await h.worker(w.address))[W.locked]).toBe(0n);
  });

  it("refuses a claim above the price, a Replay job, redundancy 2, and someone else's job — without a trace", async () => {
    const w = workers[2];
    const { id } = await claimed(w);
    await h.expectRefused(w, "submitMetered", [id, RESULT, "ipfs://x", PRICE + 1n], ["JobInvalidSpec", ["earned"]], {
      ids: [id],
    });
    await h.expectRefused(
      workers[3],
      "submitMetered",
      [id, RESULT, "ipfs://x", 1n],
      ["JobUnauthorized", [workers[3].address]],
      { ids: [id] },
    );
    const two = await h.post(requester, { price: PRICE, redundancy: 2n });
    await h.ok(as(f.market, w).claim(two.id));
    await h.expectRefused(w, "submitMetered", [two.id, RESULT, "ipfs://x", 1n], ["JobCommitRequired", [two.id]], {
      ids: [two.id],
    });
    const replay = await h.post(requester, { price: PRICE, verification: Mode.Replay });
    await h.ok(as(f.market, w).claim(replay.id));
    await h.expectRefused(
      w,
      "submitMetered",
      [replay.id, RESULT, "ipfs://x", 1n],
      ["JobInvalidSpec", ["verification"]],
      { ids: [replay.id] },
    );
    // the full price is a valid claim: it settles as submit would
    await h.ok(as(f.market, w).submitMetered(id, RESULT, "ipfs://x", PRICE));
    const r = await h.ok(as(f.market, requester).accept(id));
    expect(marketEvents(r).JobRefunded).toBeUndefined();
  });

  it("a disputed claim goes to the arbiter, whose ruling replaces it (90 of 100 → 9,000 bps)", async () => {
    const w = workers[3];
    const { id, spec } = await claimed(w, { verification: Mode.Arbiter, arbiter: arbiter.address });
    // the worker claims all 100; the delivery log shows 90
    await h.ok(as(f.market, w).submitMetered(id, RESULT, "ipfs://log", PRICE));
    await h.ok(as(f.market, requester).challenge(id, "ipfs://log#delivered=90", { value: DEVNET.challengeBond }));
    const r = await h.ok(as(f.market, arbiter).resolve(id, 9_000n));
    const ev = marketEvents(r);
    expect(ev.WorkerPaid).toEqual([[id, w.address, PER_MESSAGE * 90n, (DEVNET.learnRewardPerJob * 9_000n) / 10_000n]]);
    expect(ev.DisputeResolved).toEqual([[id, false, 9_000n, PER_MESSAGE * 90n, PER_MESSAGE * 10n]]);
    expect(ev.FeePaid).toEqual([[id, arbiter.address, feeOf(spec)]]);
    expect(bondOf(PRICE)).toBeGreaterThan(0n);
  });
});
