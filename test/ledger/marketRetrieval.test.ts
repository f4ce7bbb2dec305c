import {
  encodeBytes32String,
  type HDNodeWallet,
  parseEther,
  type TransactionReceipt,
  type Wallet,
  ZeroAddress,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  as,
  bondOf,
  DEVNET,
  escrowOf,
  type Fixture,
  feeOf,
  JobStatus,
  Mode,
  marketEvents,
  marketHelpers,
  S,
  SlotStatus,
  spec,
  startMarketFixture,
  stopMarketFixture,
  V,
  W,
} from "./marketFixture.js";

/**
 * The market's Retrieval mode (custody over time, e.g. `storage/pin`) through JSON-RPC: a job is held for its
 * challenge window; each challenge draws three verifiers; a rejected challenge returns the job to Submitted
 * with the same deadline (the challenger's bond to the verifiers that did the work), an undecided one too (the
 * bond back), and an upheld one ends the job: the worker slashed to the challenger and paid only for the custody
 * it gave up to the challenge, the requester refunded the rest.
 */

type Signer = Wallet | HDNodeWallet;
let f: Fixture;
let h: ReturnType<typeof marketHelpers>;
let requester: Wallet;
let challenger: Wallet;
/** Ten registered workers of KIND (20 AZR stake each). */
let workers: Signer[];
const byAddress = new Map<string, Signer>();

const HELD = `0x${"11".repeat(32)}`;
const MISSING = `0x${"66".repeat(32)}`;
const ZERO32 = `0x${"00".repeat(32)}`;

beforeAll(async () => {
  f = await startMarketFixture(9);
  h = marketHelpers(f);
  requester = f.dev[1];
  challenger = f.dev[9];
  workers = [...f.dev.slice(2, 9), ...f.more.slice(0, 3)];
  for (const w of workers) {
    await h.register(w, { stake: parseEther("20") });
    byAddress.set(w.address, w);
  }
  for (const w of f.more.slice(5, 9)) byAddress.set(w.address, w);
});

afterAll(() => stopMarketFixture(f));

const credit = (who: string) => f.market.withdrawable(who, ZeroAddress) as Promise<bigint>;
const tsOf = async (r: TransactionReceipt) => BigInt((await f.provider.getBlock(r.blockNumber))!.timestamp);
const info = (a: string) => h.worker(a);

/** A Retrieval job held by `w` (claimed and submitted). */
async function held(w: Signer, overrides: Parameters<typeof h.post>[1] = {}) {
  const posted = await h.post(requester, { verification: Mode.Retrieval, challengeWindow: 3600n, ...overrides });
  await h.ok(as(f.market, w).claim(posted.id));
  const submitted = await h.ok(as(f.market, w).submit(posted.id, HELD, "ipfs://receipt"));
  return { ...posted, submitted, challengeEnds: (await tsOf(submitted)) + posted.spec.challengeWindow };
}

async function challengeJob(id: bigint, who: Signer = challenger) {
  const r = await h.ok(as(f.market, who).challenge(id, "data:,position=7", { value: DEVNET.challengeBond }));
  const [ev] = marketEvents(r).JobChallenged;
  const verifiers = (ev[4] as string[]).map((a) => byAddress.get(a)!);
  return { receipt: r, verifiers, disputeEnds: (await tsOf(r)) + DEVNET.disputeWindow };
}

/** The view of a job with no challenge open: what a finished round must leave. */
async function expectNoChallenge(id: bigint, challengeEnds: bigint) {
  const v = await h.job(id);
  expect([v[V.status], v[V.challengeEnds], v[V.challenger], v[V.challengeBond], v[V.disputeEnds]]).toEqual([
    JobStatus.Submitted,
    challengeEnds,
    ZeroAddress,
    0n,
    0n,
  ]);
  expect([v[V.verifiers], v[V.votes], v[V.voted]]).toEqual([[], [], []]);
  expect(v[V.slots][0][S.status]).toBe(SlotStatus.Revealed);
}

describe("posting a Retrieval job", () => {
  it("takes one worker, and needs three verifiers of the kind besides it", async () => {
    const two = spec({ verification: Mode.Retrieval, redundancy: 2n });
    await h.expectRefused(requester, "post", [two], ["JobInvalidSpec", ["redundancy"]], { value: escrowOf(two) });
    const few = encodeBytes32String("kind/few-pins");
    for (const w of f.more.slice(5, 8)) await h.register(w, { kinds: [few] });
    const thin = spec({ verification: Mode.Retrieval, kind: few });
    await h.expectRefused(requester, "post", [thin], ["JobInvalidSpec", ["verification"]], { value: escrowOf(thin) });
    const beyond = spec({ verification: 4n });
    await h.expectRefused(requester, "post", [beyond], ["JobInvalidSpec", ["verification"]], {
      value: escrowOf(beyond),
    });
    await h.register(f.more[8], { kinds: [few] });
    const { id } = await h.post(requester, { verification: Mode.Retrieval, kind: few });
    expect(((await h.job(id))[V.spec] as unknown[])[9]).toBe(Mode.Retrieval);
  });
});

describe("challenges over the custody period", () => {
  it("a passed challenge returns the job to Submitted with the same deadline; the verifiers get the challenger's bond", async () => {
    const w = workers[0];
    const { id, challengeEnds } = await held(w);
    const { receipt, verifiers } = await challengeJob(id);
    expect(marketEvents(receipt).JobChallenged[0][3]).toBe("data:,position=7");
    expect((await h.job(id))[V.status]).toBe(JobStatus.Challenged);
    const before = await Promise.all(verifiers.map((v) => credit(v.address)));
    const workerInfo = await info(w.address);
    await h.ok(as(f.market, verifiers[0]).vote(id, HELD));
    await h.ok(as(f.market, verifiers[1]).vote(id, HELD));
    const r = await h.ok(as(f.market, verifiers[2]).vote(id, MISSING));
    const ev = marketEvents(r);
    const burned = DEVNET.challengeBond / 2n;
    const each = (DEVNET.challengeBond - burned) / 2n;
    expect(ev.ChallengerSlashed).toEqual([[id, challenger.address, DEVNET.challengeBond, burned]]);
    expect(ev.DisputeResolved).toEqual([[id, true, 10_000n, 0n, 0n]]);
    expect(ev.JobResumed).toEqual([[id, challengeEnds]]);
    expect(ev.WorkerSlashed ?? []).toEqual([]);
    expect(ev.WorkerPaid ?? []).toEqual([]);
    await expectNoChallenge(id, challengeEnds);
    // the two majority verifiers share the unburned half; the third voted, so it keeps its bond
    expect(await credit(verifiers[0].address)).toBe(before[0] + each);
    expect(await credit(verifiers[1].address)).toBe(before[1] + each);
    expect(await credit(verifiers[2].address)).toBe(before[2]);
    for (const v of verifiers) expect((await info(v.address))[W.locked]).toBe(0n);
    // the worker's bond stays locked: custody goes on
    expect(await info(w.address)).toEqual(workerInfo);

    // a second round, one vote short: the silent verifier is slashed at finalize, the job goes on again
    const second = await challengeJob(id, requester);
    await h.ok(as(f.market, second.verifiers[0]).vote(id, HELD));
    await h.ok(as(f.market, second.verifiers[1]).vote(id, HELD));
    await h.expectRefused(requester, "finalize", [id], ["JobTooEarly", [id, second.disputeEnds]], { ids: [id] });
    await h.passTo(second.disputeEnds);
    const fin = await h.ok(as(f.market, requester).finalize(id));
    const bond = bondOf(parseEther("1"));
    expect(marketEvents(fin).WorkerSlashed).toEqual([[id, second.verifiers[2].address, bond, bond, ZeroAddress]]);
    expect(marketEvents(fin).JobResumed).toEqual([[id, challengeEnds]]);
    await expectNoChallenge(id, challengeEnds);

    // the custody period runs out: no more challenges; finalize pays the whole price
    await h.expectRefused(challenger, "finalize", [id], ["JobTooEarly", [id, challengeEnds]], { ids: [id] });
    await h.passTo(challengeEnds);
    await h.expectRefused(challenger, "challenge", [id, ""], ["JobTooLate", [id, challengeEnds]], {
      ids: [id],
      value: DEVNET.challengeBond,
    });
    const paid = await h.ok(as(f.market, challenger).finalize(id));
    expect(marketEvents(paid).WorkerPaid).toEqual([[id, w.address, parseEther("1"), DEVNET.learnRewardPerJob]]);
    expect(marketEvents(paid).FeePaid).toEqual([[id, DEVNET.feeRecipient, feeOf(spec())]]);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Finalized);
    expect((await info(w.address))[W.locked]).toBe(0n);
  });

  it("an upheld challenge: the worker is slashed and paid for the custody it gave; the requester gets the rest", async () => {
    const w = workers[1];
    const price = parseEther("4");
    const bond = bondOf(price);
    const { id, spec: s, submitted } = await held(w, { price, challengeWindow: 1000n });
    const start = await tsOf(submitted);
    // the challenge lands a quarter into the custody period
    await f.provider.send("evm_setNextBlockTimestamp", [Number(start + 250n)]);
    const { receipt, verifiers } = await challengeJob(id);
    expect(await tsOf(receipt)).toBe(start + 250n);
    const before = {
      requester: await credit(requester.address),
      challenger: await credit(challenger.address),
      worker: await credit(w.address),
      stake: (await info(w.address))[W.stake] as bigint,
    };
    for (const v of verifiers.slice(0, 2)) await h.ok(as(f.market, v).vote(id, MISSING));
    const r = await h.ok(as(f.market, verifiers[2]).vote(id, HELD));
    const ev = marketEvents(r);
    const paid = price / 4n;
    const fee = feeOf(s);
    expect(ev.WorkerSlashed).toEqual([[id, w.address, bond, bond / 2n, challenger.address]]);
    expect(ev.WorkerPaid).toEqual([[id, w.address, paid, 0n]]);
    expect(ev.DisputeResolved).toEqual([[id, false, 2_500n, paid, price - paid]]);
    expect(ev.JobRefunded).toEqual([[id, requester.address, price - paid]]);
    expect(ev.JobFinalized).toEqual([[id, paid, 0n, fee]]);
    expect(ev.FeePaid).toEqual([
      [id, verifiers[0].address, fee / 2n],
      [id, verifiers[1].address, fee / 2n],
    ]);
    expect(ev.JobResumed ?? []).toEqual([]);
    const v = await h.job(id);
    expect([v[V.status], v[V.slots][0][S.status]]).toEqual([JobStatus.Finalized, SlotStatus.Slashed]);
    expect(await credit(requester.address)).toBe(before.requester + price - paid);
    expect(await credit(challenger.address)).toBe(before.challenger + DEVNET.challengeBond + bond / 2n);
    expect(await credit(w.address)).toBe(before.worker + paid);
    const after = await info(w.address);
    expect([after[W.stake], after[W.locked]]).toEqual([before.stake - bond, 0n]);
    for (const x of verifiers) expect((await info(x.address))[W.locked]).toBe(0n);
  });

  it("upheld at once (challenged in the delivery's block second): nothing to the worker, everything back", async () => {
    const w = workers[2];
    const { id, spec: s, submitted } = await held(w);
    await f.provider.send("evm_setNextBlockTimestamp", [Number(await tsOf(submitted))]);
    const { verifiers } = await challengeJob(id);
    for (const v of verifiers.slice(0, 2)) await h.ok(as(f.market, v).vote(id, MISSING));
    const r = await h.ok(as(f.market, verifiers[2]).vote(id, MISSING));
    expect(marketEvents(r).DisputeResolved).toEqual([[id, false, 0n, 0n, s.price]]);
    expect(marketEvents(r).WorkerPaid ?? []).toEqual([]);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Refunded);
  });

  it("undecided (no two votes agree): the challenger gets its bond back and custody goes on", async () => {
    const w = workers[3];
    const { id, challengeEnds } = await held(w);
    const { verifiers, disputeEnds } = await challengeJob(id);
    const before = await credit(challenger.address);
    await h.ok(as(f.market, verifiers[0]).vote(id, HELD));
    await h.ok(as(f.market, verifiers[1]).vote(id, MISSING));
    await h.passTo(disputeEnds);
    const r = await h.ok(as(f.market, challenger).finalize(id));
    expect(marketEvents(r).DisputeResolved).toEqual([[id, false, 0n, 0n, 0n]]);
    expect(marketEvents(r).ChallengerSlashed ?? []).toEqual([]);
    expect(await credit(challenger.address)).toBe(before + DEVNET.challengeBond);
    await expectNoChallenge(id, challengeEnds);
  });

  it("a round that outlasts the custody period: resumed past challengeEnds, the job can be finalized at once", async () => {
    const w = workers[4];
    const { id, challengeEnds } = await held(w, { challengeWindow: 60n });
    // The challenge's own block is pinned to the last second of custody: mining that second first and sending
    // the challenge after it let the wall clock (a loaded CI) push the challenge's block past challengeEnds.
    await f.provider.send("evm_setNextBlockTimestamp", [Number(challengeEnds - 1n)]);
    const { verifiers, receipt } = await challengeJob(id);
    expect(await tsOf(receipt)).toBe(challengeEnds - 1n);
    await h.passTo(challengeEnds + 5n);
    for (const v of verifiers) await h.ok(as(f.market, v).vote(id, HELD));
    await expectNoChallenge(id, challengeEnds);
    const r = await h.ok(as(f.market, requester).finalize(id));
    expect(marketEvents(r).WorkerPaid).toEqual([[id, w.address, parseEther("1"), DEVNET.learnRewardPerJob]]);
  });

  it("the requester may accept early: custody ends, the whole price is paid", async () => {
    const w = workers[5];
    const { id } = await held(w);
    const r = await h.ok(as(f.market, requester).accept(id));
    expect(marketEvents(r).WorkerPaid).toEqual([[id, w.address, parseEther("1"), DEVNET.learnRewardPerJob]]);
  });
});

describe("gas of a retrieval round (README figures)", () => {
  it("challenge, vote, the resuming vote, the upholding vote", async () => {
    const g: Record<string, bigint> = {};
    const m = async (name: string, r: TransactionReceipt) => {
      g[name] = await h.moduleGas(r);
    };
    const { id } = await held(workers[6]);
    const round = await challengeJob(id);
    await m("challenge (retrieval: draws 3 verifiers)", round.receipt);
    await m("vote", await h.ok(as(f.market, round.verifiers[0]).vote(id, HELD)));
    await h.ok(as(f.market, round.verifiers[1]).vote(id, HELD));
    await m(
      "vote (third: challenge rejected, job resumed)",
      await h.ok(as(f.market, round.verifiers[2]).vote(id, HELD)),
    );
    const next = await challengeJob(id);
    await h.ok(as(f.market, next.verifiers[0]).vote(id, MISSING));
    await h.ok(as(f.market, next.verifiers[1]).vote(id, MISSING));
    await m("vote (third: upheld, pro-rata settlement)", await h.ok(as(f.market, next.verifiers[2]).vote(id, ZERO32)));
    console.log(
      `market retrieval gas (module only):\n${Object.entries(g)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join("\n")}`,
    );
    for (const v of Object.values(g)) expect(v).toBeGreaterThan(0n);
  });
});
