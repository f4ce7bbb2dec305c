import {
  Contract,
  encodeBytes32String,
  getAddress,
  type HDNodeWallet,
  parseEther,
  type Wallet,
  ZeroAddress,
  ZeroHash,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployContract } from "./helpers.js";
import {
  as,
  bondOf,
  DEVNET,
  escrowOf,
  type Fixture,
  feeOf,
  JobStatus,
  KIND,
  LEARN,
  MARKET,
  Mode,
  marketEvents,
  marketHelpers,
  OTHER_KIND,
  revertOf,
  S,
  SlotStatus,
  spec,
  startMarketFixture,
  stopMarketFixture,
  V,
  W,
  WAZR,
} from "./marketFixture.js";

/**
 * The job market (0x…0A05, IJobMarket) through JSON-RPC with ethers against a real dev node:
 * workers (registration, stake, unbonding), the requester-accept lifecycle in AZR and LEARN with
 * exact balances, reclaim of unclaimed and undelivered jobs, cancel, withdraw, and every refusal
 * with its decoded custom error and no state change. Disputes, commit–reveal and redundancy:
 * marketDisputes.test.ts; random action sequences: marketProperty.test.ts.
 */

let f: Fixture;
let h: ReturnType<typeof marketHelpers>;
let requester: Wallet;
let w1: Wallet;
let w2: Wallet;
let w3: Wallet;
let stranger: Wallet;
let treasury: Wallet;
/** Registered with OTHER_KIND only. */
let other: HDNodeWallet;
/** Never registered. */
let outsider: HDNodeWallet;

beforeAll(async () => {
  f = await startMarketFixture(2);
  h = marketHelpers(f);
  [treasury, requester, w1, w2, w3, stranger] = f.dev;
  [other, outsider] = f.more;
  for (const w of [w1, w2, w3]) await h.register(w, { stake: parseEther("20") });
  await h.register(other, { kinds: [OTHER_KIND] });
});

afterAll(() => stopMarketFixture(f));

const bal = (who: string) => f.provider.getBalance(who);
const learnBal = (who: string) => f.learn.balanceOf(who) as Promise<bigint>;
const wazr = () => new Contract(WAZR, ["function totalSupply() view returns (uint256)"], f.provider);
const credit = (who: string, token = ZeroAddress) => f.market.withdrawable(who, token) as Promise<bigint>;

describe("market views at genesis", () => {
  it("params() are the devnet genesis values", async () => {
    expect([...(await f.market.params())]).toEqual([
      DEVNET.minWorkerStake,
      DEVNET.claimBondBps,
      DEVNET.minClaimBond,
      DEVNET.feeBps,
      DEVNET.challengeBond,
      DEVNET.disputeWindow,
      DEVNET.unbondingPeriod,
      DEVNET.maxWindow,
      DEVNET.maxRedundancy,
      DEVNET.slashBurnBps,
      DEVNET.learnRewardPerJob,
      DEVNET.minWindow,
      DEVNET.feeRecipient,
    ]);
  });

  it("the market is a LEARN issuer; an unknown job reads as the zero view; an unknown worker as unregistered", async () => {
    expect(await f.learn.isIssuer(MARKET)).toBe(true);
    const v = await h.job(999n);
    expect(v[V.status]).toBe(JobStatus.None);
    expect(v[V.requester]).toBe(ZeroAddress);
    expect(v[V.slots]).toEqual([]);
    expect(await h.worker(outsider.address)).toEqual([false, "", [], 0n, 0n, 0n, 0n, 0n, 0n]);
  });
});

describe("workers", () => {
  it("registerWorker holds the stake, lists the worker under each kind and logs WorkerRegistered", async () => {
    const [a] = f.dev.slice(6, 7);
    const kinds = [KIND, OTHER_KIND];
    const before = await bal(MARKET);
    const totalBefore = (await f.market.workersOfKind(KIND, 0, 100))[1] as bigint;
    const r = await h.register(a, { kinds, stake: parseEther("12"), endpoint: "https://w.example:8080" });
    expect(await bal(MARKET)).toBe(before + parseEther("12"));
    expect(await h.worker(a.address)).toEqual([
      true,
      "https://w.example:8080",
      kinds,
      parseEther("12"),
      0n,
      0n,
      0n,
      0n,
      0n,
    ]);
    expect(marketEvents(r).WorkerRegistered).toEqual([[a.address, kinds, "https://w.example:8080", parseEther("12")]]);
    const [list, total] = await f.market.workersOfKind(KIND, 0, 100);
    expect(total).toBe(totalBefore + 1n);
    expect([...list]).toContain(a.address);
    expect([...(await f.market.workersOfKind(OTHER_KIND, 0, 100))[0]]).toContain(a.address);
    // Paging: a start past the end gives an empty page.
    expect([...(await f.market.workersOfKind(KIND, 1000, 10))[0]]).toEqual([]);

    await h.expectRefused(a, "registerWorker", [[KIND], "https://x"], ["WorkerAlreadyRegistered", [a.address]], {
      value: DEVNET.minWorkerStake,
    });
  });

  it("registration refuses a stake under the minimum, bad kinds and bad endpoints", async () => {
    const a = f.dev[7];
    const min = DEVNET.minWorkerStake;
    await h.expectRefused(
      a,
      "registerWorker",
      [[KIND], "https://x"],
      ["WorkerUnderBonded", [a.address, min - 1n, min]],
      {
        value: min - 1n,
      },
    );
    const bad: [string[], string, string][] = [
      [[], "https://x", "kinds"],
      [Array.from({ length: 9 }, (_, i) => encodeBytes32String(`k${i}`)), "https://x", "kinds"],
      [[ZeroHash], "https://x", "kinds"],
      [[KIND, KIND], "https://x", "kinds"],
      [[KIND], "", "endpoint"],
      [[KIND], "h".repeat(257), "endpoint"],
    ];
    for (const [kinds, endpoint, field] of bad) {
      await h.expectRefused(a, "registerWorker", [kinds, endpoint], ["WorkerInvalidRegistration", [field]], {
        value: min,
      });
    }
    // Eight kinds and a 256-byte endpoint are the limits.
    const eight = Array.from({ length: 8 }, (_, i) => encodeBytes32String(`k${i}`));
    expect(await as(f.market, a).registerWorker.staticCall(eight, "h".repeat(256), { value: min })).toBe(true);
  });

  it("addStake, beginUnbond and withdrawUnbonded: the clock, the payout, deregistration when everything left", async () => {
    const a = f.dev[8];
    await h.register(a, { stake: parseEther("10") });
    await h.expectRefused(a, "addStake", [], ["JobInvalidPayment", [1n, 0n]]);
    const s = await h.ok(as(f.market, a).addStake({ value: parseEther("5") }));
    expect(marketEvents(s).StakeAdded).toEqual([[a.address, parseEther("5"), parseEther("15")]]);
    await h.expectRefused(
      a,
      "beginUnbond",
      [parseEther("16")],
      ["WorkerUnderBonded", [a.address, parseEther("15"), parseEther("16")]],
    );
    await h.expectRefused(a, "beginUnbond", [0n], ["WorkerUnderBonded", [a.address, parseEther("15"), 0n]]);
    await h.expectRefused(a, "withdrawUnbonded", [], ["NothingToWithdraw", [a.address, ZeroAddress]]);

    const u = await h.ok(as(f.market, a).beginUnbond(parseEther("6")));
    const ts = BigInt((await f.provider.getBlock(u.blockNumber))!.timestamp);
    const ends = ts + DEVNET.unbondingPeriod;
    expect(marketEvents(u).UnbondStarted).toEqual([[a.address, parseEther("6"), ends]]);
    let info = await h.worker(a.address);
    expect([info[W.stake], info[W.unbonding], info[W.unbondingEnds]]).toEqual([parseEther("9"), parseEther("6"), ends]);
    await h.expectRefused(a, "withdrawUnbonded", [], ["WorkerUnbonding", [a.address, ends]]);
    // The end is the first second of withdrawal.
    expect(await h.outcomeAt(a, "withdrawUnbonded", [], await h.mineAt(ends - 1n))).toEqual([
      "WorkerUnbonding",
      [a.address, ends],
    ]);
    expect(await h.outcomeAt(a, "withdrawUnbonded", [], await h.mineAt(ends))).toBe("ok");
    const before = await bal(a.address);
    const w = await h.ok(as(f.market, a).withdrawUnbonded());
    expect(await bal(a.address)).toBe(before + parseEther("6") - w.fee);
    expect(marketEvents(w).UnbondWithdrawn).toEqual([[a.address, parseEther("6")]]);
    info = await h.worker(a.address);
    expect([info[W.registered], info[W.stake], info[W.unbonding]]).toEqual([true, parseEther("9"), 0n]);

    // Everything out: deregistered, gone from the kind's list, free to register again.
    const u2 = await h.ok(as(f.market, a).beginUnbond(parseEther("9")));
    await h.passTo(BigInt((await f.provider.getBlock(u2.blockNumber))!.timestamp) + DEVNET.unbondingPeriod);
    const out = await h.ok(as(f.market, a).withdrawUnbonded());
    expect(Object.keys(marketEvents(out))).toEqual(["WorkerDeregistered", "UnbondWithdrawn"]);
    expect((await h.worker(a.address))[W.registered]).toBe(false);
    expect([...(await f.market.workersOfKind(KIND, 0, 100))[0]]).not.toContain(a.address);
    await h.expectRefused(a, "addStake", [], ["WorkerNotRegistered", [a.address]], { value: 1n });
    await h.register(a, { stake: parseEther("10") });
    expect((await h.worker(a.address))[W.registered]).toBe(true);
  });
});

for (const token of ["AZR", "LEARN"] as const) {
  const tokenAddress = token === "AZR" ? ZeroAddress : LEARN;
  const inToken = (who: string) => (token === "AZR" ? bal(who) : learnBal(who));

  describe(`requester-accept lifecycle in ${token}`, () => {
    it("post → claim → submit → accept → withdraw: exact escrow, payment, bond, reward and fee", async () => {
      const price = parseEther("2");
      const requesterBefore = await inToken(requester.address);
      const requesterAzr = await bal(requester.address);
      const marketBefore = await inToken(MARKET);
      const {
        id,
        spec: s,
        escrowed,
        receipt: postR,
        approval,
      } = await h.post(requester, { token: tokenAddress, price });
      expect(escrowed).toBe(price + feeOf(s));
      expect(await inToken(MARKET)).toBe(marketBefore + escrowed);
      const spent = token === "AZR" ? postR.fee : 0n;
      expect(await inToken(requester.address)).toBe(requesterBefore - escrowed - spent);
      if (token === "LEARN") {
        expect(await bal(requester.address)).toBe(requesterAzr - postR.fee - approval!.fee);
        expect(await f.learn.allowance(requester.address, MARKET)).toBe(0n);
      }
      const postedAt = BigInt((await f.provider.getBlock(postR.blockNumber))!.timestamp);
      expect(marketEvents(postR).JobPosted).toEqual([
        [id, requester.address, KIND, tokenAddress, price, 1n, escrowed, s.inputHash, s.specURI],
      ]);
      let v = await h.job(id);
      expect(v[V.status]).toBe(JobStatus.Open);
      expect(v[V.spec]).toEqual([
        s.kind,
        s.specURI,
        s.inputHash,
        tokenAddress,
        price,
        1n,
        s.claimWindow,
        s.deliverWindow,
        s.challengeWindow,
        Mode.RequesterAccept,
        ZeroAddress,
      ]);
      expect([v[V.postedAt], v[V.fee], v[V.requester]]).toEqual([postedAt, feeOf(s), requester.address]);
      expect(v[V.slots]).toEqual([[ZeroAddress, SlotStatus.Empty, 0n, 0n, 0n, ZeroHash, ZeroHash, ""]]);

      // claim: the bond is locked from the stake.
      const bond = bondOf(price);
      const lockedBefore = (await h.worker(w1.address))[W.locked] as bigint;
      expect(await as(f.market, w1).claim.staticCall(id)).toBe(0n);
      const c = await h.ok(as(f.market, w1).claim(id));
      const claimedAt = BigInt((await f.provider.getBlock(c.blockNumber))!.timestamp);
      const deliverBy = claimedAt + s.deliverWindow;
      expect(marketEvents(c).JobClaimed).toEqual([[id, w1.address, 0n, bond, deliverBy]]);
      expect((await h.worker(w1.address))[W.locked]).toBe(lockedBefore + bond);
      v = await h.job(id);
      expect(v[V.status]).toBe(JobStatus.Claimed);
      expect(v[V.slots][0]).toEqual([
        w1.address,
        SlotStatus.Claimed,
        claimedAt,
        deliverBy,
        bond,
        ZeroHash,
        ZeroHash,
        "",
      ]);

      // submit: the challenge window starts.
      const hash = `0x${"cd".repeat(32)}`;
      const sub = await h.ok(as(f.market, w1).submit(id, hash, "ipfs://bafkreiresult"));
      const submittedAt = BigInt((await f.provider.getBlock(sub.blockNumber))!.timestamp);
      expect(marketEvents(sub).ResultSubmitted).toEqual([[id, w1.address, 0n, hash, "ipfs://bafkreiresult"]]);
      v = await h.job(id);
      expect([v[V.status], v[V.challengeEnds]]).toEqual([JobStatus.Submitted, submittedAt + s.challengeWindow]);
      expect(v[V.slots][0][S.status]).toBe(SlotStatus.Revealed);
      expect(v[V.slots][0][S.resultURI]).toBe("ipfs://bafkreiresult");

      // accept: the worker is credited, its bond released, LEARN minted; the fee goes to the treasury.
      const workerLearn = await learnBal(w1.address);
      const creditBefore = await credit(w1.address, tokenAddress);
      const treasuryCredit = await credit(treasury.address, tokenAddress);
      const a = await h.ok(as(f.market, requester).accept(id));
      expect(marketEvents(a)).toEqual({
        JobAccepted: [[id, requester.address]],
        WorkerPaid: [[id, w1.address, price, DEVNET.learnRewardPerJob]],
        FeePaid: [[id, treasury.address, feeOf(s)]],
        JobFinalized: [[id, price, DEVNET.learnRewardPerJob, feeOf(s)]],
      });
      expect((await h.job(id))[V.status]).toBe(JobStatus.Finalized);
      expect((await h.job(id))[V.slots][0][S.status]).toBe(SlotStatus.Paid);
      const info = await h.worker(w1.address);
      expect(info[W.locked]).toBe(lockedBefore);
      expect(info[W.jobsDone]).toBeGreaterThan(0n);
      expect(await credit(w1.address, tokenAddress)).toBe(creditBefore + price);
      expect(await credit(treasury.address, tokenAddress)).toBe(treasuryCredit + feeOf(s));
      // The reward is minted directly; in a LEARN job the price is credited, not transferred.
      expect(await learnBal(w1.address)).toBe(workerLearn + DEVNET.learnRewardPerJob);

      // withdraw pays the whole credit once.
      const owed = await credit(w1.address, tokenAddress);
      const before = await inToken(w1.address);
      const wd = await h.ok(as(f.market, w1).withdraw(tokenAddress));
      expect(await inToken(w1.address)).toBe(before + owed - (token === "AZR" ? wd.fee : 0n));
      expect(marketEvents(wd).Withdrawn).toEqual([[w1.address, tokenAddress, owed]]);
      await h.expectRefused(w1, "withdraw", [tokenAddress], ["NothingToWithdraw", [w1.address, tokenAddress]]);
      // The settled job refuses everything.
      for (const [who, m, args] of [
        [requester, "accept", [id]],
        [w1, "submit", [id, hash, ""]],
        [stranger, "finalize", [id]],
        [stranger, "reclaim", [id]],
        [requester, "cancel", [id]],
        [w2, "claim", [id]],
      ] as const) {
        await h.expectRefused(who, m, [...args], ["JobInvalidState", [id, JobStatus.Finalized]], { ids: [id] });
      }
    });

    it("finalize by anyone from the end of the challenge window (not a second before)", async () => {
      const { id } = await h.post(requester, { token: tokenAddress, challengeWindow: 30n });
      await h.ok(as(f.market, w2).claim(id));
      const sub = await h.ok(as(f.market, w2).submit(id, `0x${"11".repeat(32)}`, "ipfs://r"));
      const ends = BigInt((await f.provider.getBlock(sub.blockNumber))!.timestamp) + 30n;
      await h.expectRefused(stranger, "finalize", [id], ["JobTooEarly", [id, ends]], { ids: [id] });
      expect(await h.outcomeAt(stranger, "finalize", [id], await h.mineAt(ends - 1n))).toEqual([
        "JobTooEarly",
        [id, ends],
      ]);
      expect(await h.outcomeAt(stranger, "finalize", [id], await h.mineAt(ends))).toBe("ok");
      const creditBefore = await credit(w2.address, tokenAddress);
      const r = await h.ok(as(f.market, stranger).finalize(id));
      expect(Object.keys(marketEvents(r))).toEqual(["WorkerPaid", "FeePaid", "JobFinalized"]);
      expect(await credit(w2.address, tokenAddress)).toBe(creditBefore + parseEther("1"));
    });
  });
}

describe("post refuses bad specs and payments", () => {
  it("every spec field has its named error", async () => {
    const cases: [Partial<ReturnType<typeof spec>>, string][] = [
      [{ kind: ZeroHash }, "kind"],
      [{ specURI: "" }, "specURI"],
      [{ specURI: "u".repeat(1025) }, "specURI"],
      [{ price: 0n }, "price"],
      [{ price: 2n ** 128n }, "price"],
      [{ redundancy: 0n }, "redundancy"],
      [{ redundancy: DEVNET.maxRedundancy + 1n }, "redundancy"],
      [{ claimWindow: 0n }, "claimWindow"],
      [{ deliverWindow: DEVNET.maxWindow + 1n }, "deliverWindow"],
      [{ challengeWindow: DEVNET.maxWindow + 1n }, "challengeWindow"],
      [{ verification: 4n }, "verification"],
      [{ verification: Mode.Arbiter }, "arbiter"],
      [{ arbiter: stranger.address }, "arbiter"],
      [{ verification: Mode.Arbiter, arbiter: stranger.address, redundancy: 2n }, "redundancy"],
      // Replay needs redundancy + 3 registered workers of the kind: OTHER_KIND has too few.
      [{ verification: Mode.Replay, kind: OTHER_KIND }, "verification"],
    ];
    // The spec is checked before the payment: no value needed to be refused (and 2^128 wei is more than anyone has).
    for (const [o, field] of cases) {
      await h.expectRefused(requester, "post", [spec(o)], ["JobInvalidSpec", [field]]);
    }
    const s = spec({ token: stranger.address });
    await h.expectRefused(requester, "post", [s], ["JobInvalidToken", [stranger.address]], { value: escrowOf(s) });
  });

  it("AZR: msg.value must be exactly price × redundancy + fee; LEARN: no value, and the allowance must cover it", async () => {
    const s = spec({ redundancy: 2n, price: parseEther("3") });
    const escrowed = escrowOf(s);
    expect(escrowed).toBe(parseEther("6.06"));
    for (const value of [0n, escrowed - 1n, escrowed + 1n]) {
      await h.expectRefused(requester, "post", [s], ["JobInvalidPayment", [escrowed, value]], { value });
    }
    const l = spec({ token: LEARN });
    await h.expectRefused(requester, "post", [l], ["JobInvalidPayment", [0n, 1n]], { value: 1n });
    // LEARN allowance missing: LEARN's own OpenZeppelin error, nothing moves.
    await h.ok(as(f.learn, requester).approve(MARKET, 0n));
    await h.expectRefused(requester, "post", [l], ["ERC20InsufficientAllowance", [MARKET, 0n, escrowOf(l)]]);
    await h.ok(as(f.learn, requester).approve(MARKET, escrowOf(l) - 1n));
    await h.expectRefused(
      requester,
      "post",
      [l],
      ["ERC20InsufficientAllowance", [MARKET, escrowOf(l) - 1n, escrowOf(l)]],
    );
    // Allowance but no balance: ERC20InsufficientBalance.
    const broke = f.dev[9];
    const all = await learnBal(broke.address);
    await h.ok(as(f.learn, broke).transfer(treasury.address, all));
    await h.ok(as(f.learn, broke).approve(MARKET, escrowOf(l)));
    await h.expectRefused(broke, "post", [l], ["ERC20InsufficientBalance", [broke.address, 0n, escrowOf(l)]]);
  });

  it("overflowing prices: the largest allowed price posts in LEARN, one more is refused before any arithmetic", async () => {
    // 2^128 - 1 × 5 + fee fits a word; the module refuses anything above 2^128 - 1 (JobInvalidSpec above).
    const s = spec({ token: LEARN, price: 2n ** 128n - 1n, redundancy: 5n });
    await h.ok(as(f.learn, requester).approve(MARKET, escrowOf(s)));
    // The requester does not hold that much LEARN: the pull is what fails, with the exact escrow amount.
    expect(await revertOf(as(f.market, requester).post.staticCall(s))).toEqual([
      "ERC20InsufficientBalance",
      [requester.address, await learnBal(requester.address), escrowOf(s)],
    ]);
    const max = 2n ** 256n - 1n;
    await h.expectRefused(requester, "post", [spec({ price: max })], ["JobInvalidSpec", ["price"]], { value: 1n });
  });
});

describe("claim", () => {
  it("refuses the requester, a worker of another kind, an unregistered caller, a second claim and a full job", async () => {
    const { id } = await h.post(requester, {});
    await h.expectRefused(requester, "claim", [id], ["JobUnauthorized", [requester.address]], { ids: [id] });
    await h.expectRefused(other, "claim", [id], ["WorkerKindMismatch", [other.address, KIND]], { ids: [id] });
    await h.expectRefused(outsider, "claim", [id], ["WorkerNotRegistered", [outsider.address]], { ids: [id] });
    await h.expectRefused(w1, "claim", [999n], ["JobNotFound", [999n]]);
    await h.ok(as(f.market, w1).claim(id));
    // The only slot is taken: the job is Claimed, a double claim or another worker are refused by state.
    await h.expectRefused(w1, "claim", [id], ["JobInvalidState", [id, JobStatus.Claimed]], { ids: [id] });
    await h.expectRefused(w2, "claim", [id], ["JobInvalidState", [id, JobStatus.Claimed]], { ids: [id] });
    // With redundancy 2 the same worker cannot take the second slot.
    const two = await h.post(requester, { redundancy: 2n });
    await h.ok(as(f.market, w1).claim(two.id));
    await h.expectRefused(w1, "claim", [two.id], ["JobAlreadyClaimed", [two.id, w1.address]], { ids: [two.id] });
    expect(await as(f.market, w2).claim.staticCall(two.id)).toBe(1n);
  });

  it("refuses an under-bonded worker: stake below the minimum, or not enough free stake for the bond", async () => {
    const a = f.dev[6]; // registered with 12 AZR in the workers test
    const big = parseEther("200"); // bond = 20 AZR > free stake
    const { id } = await h.post(requester, { price: big });
    const free = ((await h.worker(a.address))[W.stake] as bigint) - ((await h.worker(a.address))[W.locked] as bigint);
    await h.expectRefused(a, "claim", [id], ["WorkerUnderBonded", [a.address, free, bondOf(big)]], { ids: [id] });
    // After unbonding below the minimum stake, even a small job is refused.
    const small = await h.post(requester, {});
    await h.ok(as(f.market, a).beginUnbond(parseEther("3")));
    await h.expectRefused(
      a,
      "claim",
      [small.id],
      ["WorkerUnderBonded", [a.address, parseEther("9"), DEVNET.minWorkerStake]],
    );
    await h.ok(as(f.market, a).addStake({ value: parseEther("3") }));
    expect(await as(f.market, a).claim.staticCall(small.id)).toBe(0n);
  });

  it("closes at the end of the claim window (the last second claimable is claimEnds - 1)", async () => {
    const { id, receipt } = await h.post(requester, { claimWindow: 20n });
    const ends = BigInt((await f.provider.getBlock(receipt.blockNumber))!.timestamp) + 20n;
    expect(await h.outcomeAt(w1, "claim", [id], await h.mineAt(ends - 1n))).toBe("ok");
    expect(await h.outcomeAt(w1, "claim", [id], await h.mineAt(ends))).toEqual(["JobTooLate", [id, ends]]);
    await h.expectRefused(w1, "claim", [id], ["JobTooLate", [id, ends]], { ids: [id] });
  });
});

describe("submit", () => {
  it("refuses a non-worker, a second submit, a late submit, an unknown job, and redundancy > 1", async () => {
    const { id } = await h.post(requester, { deliverWindow: 40n });
    const hash = `0x${"22".repeat(32)}`;
    await h.expectRefused(w1, "submit", [id, hash, ""], ["JobInvalidState", [id, JobStatus.Open]], { ids: [id] });
    const c = await h.ok(as(f.market, w1).claim(id));
    const deliverBy = BigInt((await f.provider.getBlock(c.blockNumber))!.timestamp) + 40n;
    await h.expectRefused(w2, "submit", [id, hash, ""], ["JobUnauthorized", [w2.address]], { ids: [id] });
    await h.expectRefused(w1, "submit", [id, hash, "u".repeat(1025)], ["JobInvalidSpec", ["resultURI"]], { ids: [id] });
    await h.expectRefused(w1, "submit", [7777n, hash, ""], ["JobNotFound", [7777n]]);
    expect(await h.outcomeAt(w1, "submit", [id, hash, ""], await h.mineAt(deliverBy - 1n))).toBe("ok");
    expect(await h.outcomeAt(w1, "submit", [id, hash, ""], await h.mineAt(deliverBy))).toEqual([
      "JobTooLate",
      [id, deliverBy],
    ]);
    await h.expectRefused(w1, "submit", [id, hash, ""], ["JobTooLate", [id, deliverBy]], { ids: [id] });

    const ok = await h.post(requester, {});
    await h.ok(as(f.market, w1).claim(ok.id));
    await h.ok(as(f.market, w1).submit(ok.id, hash, ""));
    await h.expectRefused(w1, "submit", [ok.id, hash, ""], ["JobInvalidState", [ok.id, JobStatus.Submitted]], {
      ids: [ok.id],
    });
    // accept: requester only.
    await h.expectRefused(stranger, "accept", [ok.id], ["JobUnauthorized", [stranger.address]], { ids: [ok.id] });
    await h.expectRefused(w1, "accept", [ok.id], ["JobUnauthorized", [w1.address]], { ids: [ok.id] });
    // No challenges in requester-accept mode.
    await h.expectRefused(stranger, "challenge", [ok.id, ""], ["JobNotChallengeable", [ok.id, Mode.RequesterAccept]], {
      ids: [ok.id],
      value: DEVNET.challengeBond,
    });

    const two = await h.post(requester, { redundancy: 2n });
    await h.ok(as(f.market, w1).claim(two.id));
    await h.expectRefused(w1, "submit", [two.id, hash, ""], ["JobCommitRequired", [two.id]], { ids: [two.id] });
  });
});

describe("reclaim", () => {
  it("an unclaimed job past its claim window: everything back to the requester (refused a second before)", async () => {
    const { id, escrowed, receipt } = await h.post(requester, { claimWindow: 15n });
    const ends = BigInt((await f.provider.getBlock(receipt.blockNumber))!.timestamp) + 15n;
    await h.expectRefused(stranger, "reclaim", [id], ["JobTooEarly", [id, ends]], { ids: [id] });
    expect(await h.outcomeAt(stranger, "reclaim", [id], await h.mineAt(ends - 1n))).toEqual([
      "JobTooEarly",
      [id, ends],
    ]);
    await h.mineAt(ends);
    const before = await credit(requester.address);
    const r = await h.ok(as(f.market, stranger).reclaim(id));
    expect(marketEvents(r)).toEqual({ JobRefunded: [[id, requester.address, escrowed]] });
    expect(await credit(requester.address)).toBe(before + escrowed);
    const v = await h.job(id);
    expect(v[V.status]).toBe(JobStatus.Refunded);
    expect(v[V.slots][0][S.status]).toBe(SlotStatus.Expired);
  });

  it("a no-show is slashed (half burned, half to the requester) and its slot reopens for another worker", async () => {
    const price = parseEther("4");
    const { id } = await h.post(requester, { price, deliverWindow: 20n, claimWindow: 600n });
    const c = await h.ok(as(f.market, w3).claim(id));
    const deliverBy = BigInt((await f.provider.getBlock(c.blockNumber))!.timestamp) + 20n;
    await h.expectRefused(stranger, "reclaim", [id], ["JobTooEarly", [id, deliverBy]], { ids: [id] });
    await h.passTo(deliverBy);
    const bond = bondOf(price);
    const stakeBefore = (await h.worker(w3.address))[W.stake] as bigint;
    const supplyBefore = (await wazr().totalSupply()) as bigint;
    const creditBefore = await credit(requester.address);
    const r = await h.ok(as(f.market, stranger).reclaim(id));
    expect(marketEvents(r)).toEqual({
      WorkerSlashed: [[id, w3.address, bond, bond / 2n, requester.address]],
      ClaimExpired: [[id, w3.address, 0n]],
    });
    const info = await h.worker(w3.address);
    expect(info[W.stake]).toBe(stakeBefore - bond);
    expect(info[W.jobsSlashed]).toBe(1n);
    expect(await credit(requester.address)).toBe(creditBefore + bond / 2n);
    // The burned half leaves the AZR supply.
    const supplyAfter = (await wazr().totalSupply({ blockTag: r.blockNumber })) as bigint;
    const burnedFees = (await f.provider.getBlock(r.blockNumber))!.baseFeePerGas! * r.gasUsed;
    expect(supplyAfter).toBe(supplyBefore - bond / 2n - burnedFees);
    let v = await h.job(id);
    expect(v[V.status]).toBe(JobStatus.Open);
    expect(v[V.slots][0][S.status]).toBe(SlotStatus.Empty);
    // The no-show cannot take the job again; another worker completes it.
    await h.expectRefused(w3, "claim", [id], ["JobAlreadyClaimed", [id, w3.address]], { ids: [id] });
    await h.ok(as(f.market, w2).claim(id));
    await h.ok(as(f.market, w2).submit(id, `0x${"33".repeat(32)}`, "ipfs://done"));
    await h.ok(as(f.market, requester).accept(id));
    v = await h.job(id);
    expect(v[V.status]).toBe(JobStatus.Finalized);
    expect(v[V.slots][0][S.worker]).toBe(w2.address);
  });

  it("a no-show after the claim window closed: slashed, and the job refunds", async () => {
    const { id, escrowed } = await h.post(requester, { deliverWindow: 30n, claimWindow: 10n });
    const c = await h.ok(as(f.market, w3).claim(id));
    await h.passTo(BigInt((await f.provider.getBlock(c.blockNumber))!.timestamp) + 30n);
    const before = await credit(requester.address);
    const r = await h.ok(as(f.market, stranger).reclaim(id));
    const bond = bondOf(parseEther("1"));
    expect(marketEvents(r)).toEqual({
      WorkerSlashed: [[id, w3.address, bond, bond / 2n, requester.address]],
      ClaimExpired: [[id, w3.address, 0n]],
      JobRefunded: [[id, requester.address, escrowed]],
    });
    expect(await credit(requester.address)).toBe(before + escrowed + bond / 2n);
    expect((await h.job(id))[V.slots][0][S.status]).toBe(SlotStatus.Slashed);
  });
});

describe("cancel", () => {
  it("the requester cancels an unclaimed job and gets everything back; nobody else, and not once claimed", async () => {
    const { id, escrowed } = await h.post(requester, { redundancy: 2n });
    await h.expectRefused(stranger, "cancel", [id], ["JobUnauthorized", [stranger.address]], { ids: [id] });
    const before = await credit(requester.address);
    const r = await h.ok(as(f.market, requester).cancel(id));
    expect(marketEvents(r)).toEqual({ JobCancelled: [[id, requester.address, escrowed]] });
    expect(await credit(requester.address)).toBe(before + escrowed);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Cancelled);
    await h.expectRefused(requester, "cancel", [id], ["JobInvalidState", [id, JobStatus.Cancelled]], { ids: [id] });
    await h.expectRefused(w1, "claim", [id], ["JobInvalidState", [id, JobStatus.Cancelled]], { ids: [id] });

    const claimed = await h.post(requester, { redundancy: 2n });
    await h.ok(as(f.market, w2).claim(claimed.id));
    await h.expectRefused(requester, "cancel", [claimed.id], ["JobAlreadyClaimed", [claimed.id, w2.address]], {
      ids: [claimed.id],
    });
  });

  it("withdraw refuses other tokens; withdrawable too", async () => {
    await h.expectRefused(requester, "withdraw", [stranger.address], ["JobInvalidToken", [stranger.address]]);
    const owed = await credit(requester.address);
    expect(owed).toBeGreaterThan(0n);
    const before = await bal(requester.address);
    const r = await h.ok(as(f.market, requester).withdraw(ZeroAddress));
    expect(await bal(requester.address)).toBe(before + owed - r.fee);
  });
});

describe("contracts as parties: no code of theirs runs, so nothing re-enters and nothing can block", () => {
  it("a worker contract that refuses payments is settled and paid by pull; its receive() never runs", async () => {
    const { contract: actor, address } = await deployContract(stranger, "MarketActor");
    const act = actor.connect(stranger) as Contract;
    await h.ok(act.registerWorker([KIND], "https://actor.example", { value: parseEther("10") }));
    expect((await h.worker(address))[W.registered]).toBe(true);
    const { id } = await h.post(requester, { price: parseEther("2") });
    await h.ok(act.claim(id));
    await h.ok(act.submit(id, `0x${"44".repeat(32)}`, "ipfs://actor"));
    await h.ok(act.setRefusePayments(true));
    // Settlement only credits: a party that refuses payments cannot block it.
    await h.ok(as(f.market, requester).accept(id));
    expect(await credit(address)).toBe(parseEther("2"));
    const before = await bal(address);
    await h.ok(act.withdraw(ZeroAddress));
    expect(await bal(address)).toBe(before + parseEther("2"));
    expect(await actor.receiveCalls()).toBe(0n);
    expect(await actor.reentered()).toBe(false);
    expect(await credit(address)).toBe(0n);
    // Its stake leaves the same way.
    const u = await h.ok(act.beginUnbond(parseEther("10")));
    await h.passTo(BigInt((await f.provider.getBlock(u.blockNumber))!.timestamp) + DEVNET.unbondingPeriod);
    const before2 = await bal(address);
    await h.ok(act.withdrawUnbonded());
    expect(await bal(address)).toBe(before2 + parseEther("10"));
    expect(await actor.receiveCalls()).toBe(0n);
  });

  it("a requester contract gets its cancelled escrow by pull, without its receive() running", async () => {
    const { contract: actor, address } = await deployContract(stranger, "MarketActor");
    const act = actor.connect(stranger) as Contract;
    const s = spec({ redundancy: 2n });
    const r = await h.ok(act.post(s, { value: escrowOf(s) }));
    const [[id, who]] = marketEvents(r).JobPosted;
    // The requester is the contract (the frame's caller), not the EOA behind it.
    expect(who).toBe(getAddress(address));
    await h.expectRefused(stranger, "cancel", [id], ["JobUnauthorized", [stranger.address]], { ids: [id as bigint] });
    await h.ok(act.cancel(id));
    await h.ok(act.withdraw(ZeroAddress));
    expect(await bal(address)).toBe(escrowOf(s));
    expect(await actor.receiveCalls()).toBe(0n);
  });
});

describe("gas per lifecycle step (the table in runtime/modules/market/README.md)", () => {
  it("module gas of each step, measured from receipts", async () => {
    const g: Record<string, bigint> = {};
    const total: Record<string, bigint> = {};
    const m = async (name: string, r: Promise<import("ethers").TransactionReceipt>) => {
      const receipt = await r;
      g[name] = await h.moduleGas(receipt);
      total[name] = receipt.gasUsed;
    };
    const w = f.dev[9];
    await m("registerWorker (1 kind)", h.register(w, { stake: parseEther("30"), endpoint: "https://worker.example" }));
    const a = await h.post(requester, {});
    await m("post (AZR)", Promise.resolve(a.receipt));
    await m("claim", h.ok(as(f.market, w).claim(a.id)));
    await m("submit", h.ok(as(f.market, w).submit(a.id, `0x${"55".repeat(32)}`, "ipfs://bafkreiresult")));
    await m("accept (settles)", h.ok(as(f.market, requester).accept(a.id)));
    await m("withdraw (AZR)", h.ok(as(f.market, w).withdraw(ZeroAddress)));

    const b = await h.post(requester, { token: LEARN, challengeWindow: 5n });
    await m("post (LEARN)", Promise.resolve(b.receipt));
    await h.ok(as(f.market, w).claim(b.id));
    const sub = await h.ok(as(f.market, w).submit(b.id, `0x${"55".repeat(32)}`, "ipfs://bafkreiresult"));
    await h.passTo(BigInt((await f.provider.getBlock(sub.blockNumber))!.timestamp) + 5n);
    await m("finalize (settles)", h.ok(as(f.market, stranger).finalize(b.id)));
    await m("withdraw (LEARN)", h.ok(as(f.market, w).withdraw(LEARN)));

    const c = await h.post(requester, {});
    await m("cancel", h.ok(as(f.market, requester).cancel(c.id)));
    await m("beginUnbond", h.ok(as(f.market, w).beginUnbond(1n)));

    console.log(
      `market gas (module | whole transaction):\n${Object.entries(g)
        .map(([k, v]) => `  ${k}: ${v} | ${total[k]}`)
        .join("\n")}`,
    );
    expect(g).toEqual(PINNED_GAS);
  });
});

/** Measured from receipts; runtime/modules/market/README.md shows the same figures. */
const PINNED_GAS: Record<string, bigint> = {
  "registerWorker (1 kind)": 57_417n,
  "post (AZR)": 68_423n,
  claim: 49_268n,
  submit: 46_380n,
  "accept (settles)": 88_417n,
  "withdraw (AZR)": 21_756n,
  "post (LEARN)": 91_479n,
  "finalize (settles)": 89_017n,
  "withdraw (LEARN)": 27_712n,
  cancel: 28_156n,
  beginUnbond: 27_937n,
};

describe("unknown jobs", () => {
  it("every function taking a job id refuses an unknown one with JobNotFound", async () => {
    const id = 424_242n;
    const h32 = `0x${"77".repeat(32)}`;
    for (const [m, args, value] of [
      ["claim", [id], 0n],
      ["commit", [id, h32], 0n],
      ["reveal", [id, h32, "", h32], 0n],
      ["submit", [id, h32, ""], 0n],
      ["accept", [id], 0n],
      ["challenge", [id, ""], DEVNET.challengeBond],
      ["vote", [id, h32], 0n],
      ["resolve", [id, 0n], 0n],
      ["finalize", [id], 0n],
      ["cancel", [id], 0n],
      ["reclaim", [id], 0n],
    ] as const) {
      await h.expectRefused(w1, m, [...args], ["JobNotFound", [id]], { value });
    }
  });
});
