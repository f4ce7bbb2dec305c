import {
  AbiCoder,
  encodeBytes32String,
  type HDNodeWallet,
  keccak256,
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
 * The market's dispute and redundancy paths through JSON-RPC: commit–reveal (a copied commitment
 * does not verify; reveals open only once every slot committed), the majority rule for redundant
 * results, replay disputes (three verifiers drawn from the kind's workers vote; liars, frivolous
 * challengers and silent verifiers are slashed; an undecided dispute refunds), arbiter rulings and
 * a silent arbiter, and stake that stays slashable while it unbonds.
 */

type Signer = Wallet | HDNodeWallet;
let f: Fixture;
let h: ReturnType<typeof marketHelpers>;
let requester: Wallet;
let challenger: Wallet;
let arbiter: HDNodeWallet;
/** Ten registered workers of KIND (20 AZR stake each). */
let workers: Signer[];
const byAddress = new Map<string, Signer>();

const TRUE = `0x${"11".repeat(32)}`;
const LIE = `0x${"66".repeat(32)}`;
const SALT = `0x${"5a".repeat(32)}`;
const commitment = (hash: string, worker: string, salt = SALT) =>
  keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address", "bytes32"], [hash, worker, salt]));

beforeAll(async () => {
  f = await startMarketFixture(9);
  h = marketHelpers(f);
  requester = f.dev[1];
  challenger = f.dev[9];
  arbiter = f.more[4];
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

/** Posts, has `ws` claim and deliver `hashes` (submit for one worker, commit + reveal otherwise). */
async function delivered(ws: Signer[], hashes: string[], overrides: Parameters<typeof h.post>[1] = {}) {
  const posted = await h.post(requester, { redundancy: BigInt(ws.length), ...overrides });
  for (const w of ws) await h.ok(as(f.market, w).claim(posted.id));
  let last: TransactionReceipt;
  if (ws.length === 1) {
    last = await h.ok(as(f.market, ws[0]).submit(posted.id, hashes[0], "ipfs://r0"));
  } else {
    for (let i = 0; i < ws.length; i++) {
      await h.ok(as(f.market, ws[i]).commit(posted.id, commitment(hashes[i], ws[i].address)));
    }
    for (let i = 0; i < ws.length; i++) {
      last = await h.ok(as(f.market, ws[i]).reveal(posted.id, hashes[i], `ipfs://r${i}`, SALT));
    }
  }
  return { ...posted, submitted: last! };
}

/** Challenges job `id` from `who` with the genesis bond; returns the drawn verifiers as signers. */
async function challengeJob(id: bigint, who: Signer = challenger) {
  const r = await h.ok(as(f.market, who).challenge(id, "ipfs://evidence", { value: DEVNET.challengeBond }));
  const [ev] = marketEvents(r).JobChallenged;
  const verifiers = (ev[4] as string[]).map((a) => byAddress.get(a)!);
  return { receipt: r, verifiers, disputeEnds: (await tsOf(r)) + DEVNET.disputeWindow };
}

describe("commit–reveal (redundancy 2)", () => {
  it("reveals open once both committed; a copied commitment and a wrong salt do not verify; both paid", async () => {
    const [a, b] = workers;
    const { id } = await h.post(requester, { redundancy: 2n, deliverWindow: 300n });
    await h.ok(as(f.market, a).claim(id));
    await h.ok(as(f.market, b).claim(id));
    const ca = commitment(TRUE, a.address);
    await h.ok(as(f.market, a).commit(id, ca));
    await h.expectRefused(a, "commit", [id, ca], ["SlotInvalidState", [id, 0n, SlotStatus.Committed]], { ids: [id] });
    // a's commitment is public; b copies it. It binds a's address, so b can never reveal against it.
    await h.expectRefused(a, "reveal", [id, TRUE, "ipfs://a", SALT], ["JobTooEarly", [id, 0n]], { ids: [id] });
    const c = await h.ok(as(f.market, b).commit(id, ca));
    const revealEnds = (await tsOf(c)) + 300n;
    expect(marketEvents(c).RevealOpened).toEqual([[id, revealEnds]]);
    expect((await h.job(id))[V.revealEnds]).toBe(revealEnds);
    await h.expectRefused(b, "reveal", [id, TRUE, "ipfs://b", SALT], ["JobRevealMismatch", [id, ca]], { ids: [id] });
    await h.expectRefused(
      a,
      "reveal",
      [id, TRUE, "ipfs://a", `0x${"00".repeat(32)}`],
      ["JobRevealMismatch", [id, ca]],
      {
        ids: [id],
      },
    );
    await h.expectRefused(a, "reveal", [id, LIE, "ipfs://a", SALT], ["JobRevealMismatch", [id, ca]], { ids: [id] });
    await h.expectRefused(requester, "reveal", [id, TRUE, "", SALT], ["JobUnauthorized", [requester.address]], {
      ids: [id],
    });
    const ra = await h.ok(as(f.market, a).reveal(id, TRUE, "ipfs://a", SALT));
    expect(marketEvents(ra).ResultSubmitted).toEqual([[id, a.address, 0n, TRUE, "ipfs://a"]]);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Claimed);
    // b cannot deliver anything against the copied commitment before the reveal window closes.
    await h.passTo(revealEnds);
    await h.expectRefused(b, "reveal", [id, TRUE, "ipfs://b", SALT], ["JobTooLate", [id, revealEnds]], { ids: [id] });
    // Reclaim slashes b's unrevealed commitment; a's result stands alone and is paid at finalize.
    const bond = bondOf(parseEther("1"));
    const r = await h.ok(as(f.market, challenger).reclaim(id));
    expect(marketEvents(r).WorkerSlashed).toEqual([[id, b.address, bond, bond / 2n, requester.address]]);
    const v = await h.job(id);
    expect(v[V.status]).toBe(JobStatus.Submitted);
    expect(v[V.slots].map((s) => s[S.status])).toEqual([SlotStatus.Revealed, SlotStatus.Slashed]);
    await h.passTo(v[V.challengeEnds]);
    const reqBefore = await credit(requester.address);
    const fin = await h.ok(as(f.market, challenger).finalize(id));
    expect(marketEvents(fin).WorkerPaid).toEqual([[id, a.address, parseEther("1"), DEVNET.learnRewardPerJob]]);
    // The requester gets the unpaid slot's price back (and got half of b's bond at reclaim).
    expect(marketEvents(fin).JobRefunded).toEqual([[id, requester.address, parseEther("1")]]);
    expect(await credit(requester.address)).toBe(reqBefore + parseEther("1"));
  });

  it("two agreeing reveals: both paid and rewarded; the fee is the treasury's", async () => {
    const [a, b] = workers.slice(2, 4);
    const { id, submitted, spec } = await delivered([a, b], [TRUE, TRUE]);
    expect((await h.job(id))[V.challengeEnds]).toBe((await tsOf(submitted)) + spec.challengeWindow);
    const r = await h.ok(as(f.market, requester).accept(id));
    expect(marketEvents(r).WorkerPaid).toEqual([
      [id, a.address, parseEther("1"), DEVNET.learnRewardPerJob],
      [id, b.address, parseEther("1"), DEVNET.learnRewardPerJob],
    ]);
    expect(marketEvents(r).JobFinalized).toEqual([[id, parseEther("2"), 2n * DEVNET.learnRewardPerJob, feeOf(spec)]]);
  });

  it("two disagreeing reveals (no strict majority): nobody paid or slashed, the requester refunded in full", async () => {
    const [a, b] = workers.slice(4, 6);
    const before = [await info(a.address), await info(b.address)];
    const { id, escrowed } = await delivered([a, b], [TRUE, LIE]);
    const r = await h.ok(as(f.market, requester).accept(id));
    expect(marketEvents(r)).toEqual({
      JobAccepted: [[id, requester.address]],
      JobRefunded: [[id, requester.address, escrowed]],
    });
    expect((await h.job(id))[V.status]).toBe(JobStatus.Refunded);
    expect([await info(a.address), await info(b.address)]).toEqual(before);
  });

  it("three reveals, two agree: the odd one out is slashed to the majority; its price goes back to the requester", async () => {
    const [a, b, c] = workers.slice(0, 3);
    const price = parseEther("2");
    const bond = bondOf(price);
    const { id } = await delivered([a, b, c], [TRUE, LIE, TRUE], { price });
    const stakeB = (await info(b.address))[W.stake] as bigint;
    const credits = [await credit(a.address), await credit(c.address), await credit(requester.address)];
    const r = await h.ok(as(f.market, requester).accept(id));
    const ev = marketEvents(r);
    expect(ev.WorkerSlashed).toEqual([[id, b.address, bond, bond / 2n, ZeroAddress]]);
    expect(ev.WorkerPaid.map((p) => p[1])).toEqual([a.address, c.address]);
    expect(ev.JobRefunded).toEqual([[id, requester.address, price]]);
    expect((await info(b.address))[W.stake]).toBe(stakeB - bond);
    expect(await credit(a.address)).toBe(credits[0] + price + bond / 4n);
    expect(await credit(c.address)).toBe(credits[1] + price + bond / 4n);
    expect(await credit(requester.address)).toBe(credits[2] + price);
    expect((await h.job(id))[V.slots].map((s) => s[S.status])).toEqual([
      SlotStatus.Paid,
      SlotStatus.Slashed,
      SlotStatus.Paid,
    ]);
  });
});

describe("replay disputes", () => {
  it("a lying worker: three verifiers re-run and vote; the liar is slashed, the requester refunded, the challenger rewarded", async () => {
    const liar = workers[0];
    const price = parseEther("3");
    const bond = bondOf(price);
    const { id, spec, submitted } = await delivered([liar], [LIE], { verification: Mode.Replay, price });
    const challengeEnds = (await tsOf(submitted)) + spec.challengeWindow;
    // The job's own worker cannot challenge it; the bond must be exact.
    await h.expectRefused(liar, "challenge", [id, ""], ["JobUnauthorized", [liar.address]], {
      ids: [id],
      value: DEVNET.challengeBond,
    });
    await h.expectRefused(challenger, "challenge", [id, ""], ["JobInvalidPayment", [DEVNET.challengeBond, 1n]], {
      ids: [id],
      value: 1n,
    });
    await h.expectRefused(challenger, "challenge", [id, "e".repeat(1025)], ["JobInvalidSpec", ["evidenceURI"]], {
      ids: [id],
      value: DEVNET.challengeBond,
    });
    const { receipt, verifiers, disputeEnds } = await challengeJob(id);
    expect(await tsOf(receipt)).toBeLessThan(challengeEnds);
    expect(verifiers).toHaveLength(3);
    expect(new Set(verifiers.map((v) => v.address)).size).toBe(3);
    for (const v of verifiers) {
      expect(v.address).not.toBe(liar.address);
      expect((await info(v.address))[W.locked]).toBe(bond);
    }
    let view = await h.job(id);
    expect([view[V.status], view[V.challenger], view[V.challengeBond], view[V.disputeEnds]]).toEqual([
      JobStatus.Challenged,
      challenger.address,
      DEVNET.challengeBond,
      disputeEnds,
    ]);
    expect(view[V.verifiers]).toEqual(verifiers.map((v) => v.address));
    // No second challenge, no accept, no early finalize.
    await h.expectRefused(requester, "challenge", [id, ""], ["JobInvalidState", [id, JobStatus.Challenged]], {
      ids: [id],
      value: DEVNET.challengeBond,
    });
    await h.expectRefused(requester, "accept", [id], ["JobInvalidState", [id, JobStatus.Challenged]], { ids: [id] });
    await h.expectRefused(challenger, "finalize", [id], ["JobTooEarly", [id, disputeEnds]], { ids: [id] });
    const nonVerifier = workers.find((w) => w !== liar && !verifiers.includes(w))!;
    await h.expectRefused(nonVerifier, "vote", [id, TRUE], ["WorkerNotVerifier", [id, nonVerifier.address]], {
      ids: [id],
    });
    await h.expectRefused(requester, "resolve", [id, 0n], ["JobUnauthorized", [requester.address]], { ids: [id] });

    const r1 = await h.ok(as(f.market, verifiers[0]).vote(id, TRUE));
    expect(marketEvents(r1).VerifierVoted).toEqual([[id, verifiers[0].address, TRUE]]);
    await h.expectRefused(verifiers[0], "vote", [id, TRUE], ["VerifierAlreadyVoted", [id, verifiers[0].address]], {
      ids: [id],
    });
    await h.ok(as(f.market, verifiers[1]).vote(id, TRUE));
    view = await h.job(id);
    expect([view[V.votes], view[V.voted]]).toEqual([
      [TRUE, TRUE, `0x${"00".repeat(32)}`],
      [true, true, false],
    ]);

    const creditsBefore = {
      challenger: await credit(challenger.address),
      requester: await credit(requester.address),
      verifiers: await Promise.all(verifiers.map((v) => credit(v.address))),
    };
    const liarStake = (await info(liar.address))[W.stake] as bigint;
    // The third vote settles.
    const r = await h.ok(as(f.market, verifiers[2]).vote(id, TRUE));
    const ev = marketEvents(r);
    expect(ev.WorkerSlashed).toEqual([[id, liar.address, bond, bond / 2n, challenger.address]]);
    expect(ev.DisputeResolved).toEqual([[id, false, 0n, 0n, price]]);
    expect(ev.JobRefunded).toEqual([[id, requester.address, price]]);
    expect(ev.JobFinalized).toBeUndefined();
    const fee = feeOf(spec);
    expect(ev.FeePaid).toEqual(
      verifiers
        .map((v) => [id, v.address, fee / 3n])
        .concat(fee % 3n > 0n ? [[id, DEVNET.feeRecipient, fee % 3n]] : []),
    );
    expect((await h.job(id))[V.status]).toBe(JobStatus.Refunded);
    expect((await info(liar.address))[W.stake]).toBe(liarStake - bond);
    expect((await info(liar.address))[W.locked]).toBe(0n);
    expect(await credit(challenger.address)).toBe(creditsBefore.challenger + DEVNET.challengeBond + bond / 2n);
    expect(await credit(requester.address)).toBe(creditsBefore.requester + price);
    for (let i = 0; i < 3; i++) {
      expect(await credit(verifiers[i].address)).toBe(creditsBefore.verifiers[i] + fee / 3n);
      expect((await info(verifiers[i].address))[W.locked]).toBe(0n);
    }
  });

  it("a frivolous challenge: the verifiers confirm the result; the challenger's bond goes half to the worker, half burned", async () => {
    const honest = workers[1];
    const { id, spec } = await delivered([honest], [TRUE], { verification: Mode.Replay });
    const { verifiers } = await challengeJob(id, requester);
    const workerCredit = await credit(honest.address);
    for (const v of verifiers.slice(0, 2)) await h.ok(as(f.market, v).vote(id, TRUE));
    const r = await h.ok(as(f.market, verifiers[2]).vote(id, LIE));
    const ev = marketEvents(r);
    expect(ev.ChallengerSlashed).toEqual([[id, requester.address, DEVNET.challengeBond, DEVNET.challengeBond / 2n]]);
    expect(ev.DisputeResolved).toEqual([[id, true, 10_000n, spec.price, 0n]]);
    expect(ev.WorkerPaid).toEqual([[id, honest.address, spec.price, DEVNET.learnRewardPerJob]]);
    // The fee goes to the two verifiers that voted with the majority.
    expect(ev.FeePaid.map((p) => p[1])).toEqual([verifiers[0].address, verifiers[1].address]);
    expect(await credit(honest.address)).toBe(workerCredit + spec.price + DEVNET.challengeBond / 2n);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Finalized);
  });

  it("silent verifiers: one vote is undecided — the silent ones are slashed (burned), everyone else made whole", async () => {
    const w = workers[2];
    const { id, escrowed } = await delivered([w], [LIE], { verification: Mode.Replay });
    const { verifiers, disputeEnds } = await challengeJob(id);
    await h.ok(as(f.market, verifiers[0]).vote(id, TRUE));
    await h.passTo(disputeEnds);
    await h.expectRefused(verifiers[1], "vote", [id, TRUE], ["JobTooLate", [id, disputeEnds]], { ids: [id] });
    const wStake = (await info(w.address))[W.stake];
    const silentStakes = [await info(verifiers[1].address), await info(verifiers[2].address)].map(
      (i) => i[W.stake] as bigint,
    );
    const before = { challenger: await credit(challenger.address), requester: await credit(requester.address) };
    const r = await h.ok(as(f.market, f.dev[0]).finalize(id));
    const bond = bondOf(parseEther("1"));
    const ev = marketEvents(r);
    expect(ev.WorkerSlashed).toEqual([
      [id, verifiers[1].address, bond, bond, ZeroAddress],
      [id, verifiers[2].address, bond, bond, ZeroAddress],
    ]);
    expect(ev.DisputeResolved).toEqual([[id, false, 0n, 0n, escrowed]]);
    expect((await info(verifiers[1].address))[W.stake]).toBe(silentStakes[0] - bond);
    expect((await info(verifiers[2].address))[W.stake]).toBe(silentStakes[1] - bond);
    expect((await info(w.address))[W.stake]).toBe(wStake);
    expect((await info(w.address))[W.locked]).toBe(0n);
    expect(await credit(challenger.address)).toBe(before.challenger + DEVNET.challengeBond);
    expect(await credit(requester.address)).toBe(before.requester + escrowed);
    expect((await h.job(id))[V.status]).toBe(JobStatus.Refunded);
  });

  it("two agreeing votes and one silent verifier decide at finalize", async () => {
    const w = workers[3];
    const { id } = await delivered([w], [LIE], { verification: Mode.Replay });
    const { verifiers, disputeEnds } = await challengeJob(id);
    await h.ok(as(f.market, verifiers[0]).vote(id, TRUE));
    await h.ok(as(f.market, verifiers[2]).vote(id, TRUE));
    await h.passTo(disputeEnds);
    const r = await h.ok(as(f.market, challenger).finalize(id));
    const slashed = marketEvents(r).WorkerSlashed.map((e) => e[1]);
    expect(slashed).toEqual([verifiers[1].address, w.address]);
  });

  it("a redundant replay job: the verifiers side with one of two disagreeing workers", async () => {
    const [a, b] = workers.slice(4, 6);
    const { id } = await delivered([a, b], [TRUE, LIE], { verification: Mode.Replay });
    const { verifiers } = await challengeJob(id);
    expect(verifiers.map((v) => v.address)).not.toContain(a.address);
    expect(verifiers.map((v) => v.address)).not.toContain(b.address);
    for (const v of verifiers) await h.ok(as(f.market, v).vote(id, TRUE));
    const v = await h.job(id);
    expect(v[V.status]).toBe(JobStatus.Finalized);
    expect(v[V.slots].map((s) => s[S.status])).toEqual([SlotStatus.Paid, SlotStatus.Slashed]);
  });

  it("late: a commit after deliverBy, a challenge from the end of the challenge window", async () => {
    const [a, b] = workers.slice(6, 8);
    const { id } = await h.post(requester, { redundancy: 2n, deliverWindow: 30n });
    const c = await h.ok(as(f.market, a).claim(id));
    await h.ok(as(f.market, b).claim(id));
    const deliverBy = (await tsOf(c)) + 30n;
    await h.passTo(deliverBy);
    await h.expectRefused(a, "commit", [id, commitment(TRUE, a.address)], ["JobTooLate", [id, deliverBy]], {
      ids: [id],
    });

    const x = await delivered([workers[8]], [TRUE], { verification: Mode.Replay, challengeWindow: 10n });
    const ends = (await tsOf(x.submitted)) + 10n;
    expect(
      await h.outcomeAt(challenger, "challenge", [x.id, ""], await h.mineAt(ends - 1n), DEVNET.challengeBond),
    ).toBe("ok");
    await h.mineAt(ends);
    await h.expectRefused(challenger, "challenge", [x.id, ""], ["JobTooLate", [x.id, ends]], {
      ids: [x.id],
      value: DEVNET.challengeBond,
    });
    // A job still collecting claims or deliveries cannot be challenged or finalized yet.
    const open = await h.post(requester, { verification: Mode.Replay });
    await h.expectRefused(challenger, "challenge", [open.id, ""], ["JobInvalidState", [open.id, JobStatus.Open]], {
      ids: [open.id],
      value: DEVNET.challengeBond,
    });
    await h.expectRefused(challenger, "finalize", [open.id], ["JobInvalidState", [open.id, JobStatus.Open]], {
      ids: [open.id],
    });
    await h.expectRefused(challenger, "vote", [open.id, TRUE], ["JobInvalidState", [open.id, JobStatus.Open]], {
      ids: [open.id],
    });
  });

  it("NotEnoughVerifiers when the kind has too few eligible workers besides the parties", async () => {
    const few = encodeBytes32String("kind/few");
    const group = f.more.slice(5, 9);
    for (const w of group) await h.register(w, { kinds: [few] });
    // Exactly redundancy + 3 workers of the kind: enough to post a replay job.
    const { id } = await delivered([group[0]], [LIE], { verification: Mode.Replay, kind: few });
    // A worker of the kind challenges: it cannot verify its own challenge, which leaves two.
    await h.expectRefused(group[1], "challenge", [id, ""], ["NotEnoughVerifiers", [id, 2n]], {
      ids: [id],
      value: DEVNET.challengeBond,
    });
    // An outsider's challenge finds three.
    const { verifiers } = await challengeJob(id);
    expect(verifiers.map((v) => v.address).sort()).toEqual(
      group
        .slice(1)
        .map((w) => w.address)
        .sort(),
    );
  });
});

describe("arbiter rulings", () => {
  const arb = () => ({ verification: Mode.Arbiter, arbiter: arbiter.address });

  it("all to the worker: the challenger's bond is shared out to it; the fee is the arbiter's", async () => {
    const w = workers[6];
    const { id, spec } = await delivered([w], [TRUE], arb());
    await challengeJob(id, requester);
    await h.expectRefused(requester, "resolve", [id, 10_000n], ["JobUnauthorized", [requester.address]], { ids: [id] });
    await h.expectRefused(arbiter, "resolve", [id, 10_001n], ["JobInvalidSpec", ["workerBps"]], { ids: [id] });
    await h.expectRefused(w, "vote", [id, TRUE], ["WorkerNotVerifier", [id, w.address]], { ids: [id] });
    const r = await h.ok(as(f.market, arbiter).resolve(id, 10_000n));
    const ev = marketEvents(r);
    expect(ev.ChallengerSlashed).toEqual([[id, requester.address, DEVNET.challengeBond, DEVNET.challengeBond / 2n]]);
    expect(ev.WorkerPaid).toEqual([[id, w.address, spec.price, DEVNET.learnRewardPerJob]]);
    expect(ev.FeePaid).toEqual([[id, arbiter.address, feeOf(spec)]]);
    expect(ev.DisputeResolved).toEqual([[id, true, 10_000n, spec.price, 0n]]);
    expect(await credit(arbiter.address)).toBe(feeOf(spec));
  });

  it("nothing to the worker: its bond is slashed to the challenger, the requester refunded the price", async () => {
    const w = workers[7];
    const { id, spec } = await delivered([w], [LIE], arb());
    await challengeJob(id);
    const bond = bondOf(spec.price);
    const r = await h.ok(as(f.market, arbiter).resolve(id, 0n));
    const ev = marketEvents(r);
    expect(ev.WorkerSlashed).toEqual([[id, w.address, bond, bond / 2n, challenger.address]]);
    expect(ev.DisputeResolved).toEqual([[id, false, 0n, 0n, spec.price]]);
    expect(ev.WorkerPaid).toBeUndefined();
    expect((await h.job(id))[V.status]).toBe(JobStatus.Refunded);
  });

  it("a split: nobody slashed, the price and the LEARN reward scaled", async () => {
    const w = workers[8];
    const { id, spec } = await delivered([w], [TRUE], arb());
    await challengeJob(id);
    const challengerCredit = await credit(challenger.address);
    const r = await h.ok(as(f.market, arbiter).resolve(id, 3_000n));
    const ev = marketEvents(r);
    const toWorker = (spec.price * 3_000n) / 10_000n;
    expect(ev.WorkerPaid).toEqual([[id, w.address, toWorker, (DEVNET.learnRewardPerJob * 3_000n) / 10_000n]]);
    expect(ev.DisputeResolved).toEqual([[id, false, 3_000n, toWorker, spec.price - toWorker]]);
    expect(ev.WorkerSlashed).toBeUndefined();
    expect(await credit(challenger.address)).toBe(challengerCredit + DEVNET.challengeBond);
  });

  it("a silent arbiter: after the dispute window the job refunds with every bond returned", async () => {
    const w = workers[9];
    const { id, escrowed } = await delivered([w], [TRUE], arb());
    const { disputeEnds } = await challengeJob(id);
    await h.expectRefused(challenger, "finalize", [id], ["JobTooEarly", [id, disputeEnds]], { ids: [id] });
    await h.passTo(disputeEnds);
    await h.expectRefused(arbiter, "resolve", [id, 10_000n], ["JobTooLate", [id, disputeEnds]], { ids: [id] });
    const stake = (await info(w.address))[W.stake];
    const r = await h.ok(as(f.market, challenger).finalize(id));
    expect(marketEvents(r).DisputeResolved).toEqual([[id, false, 0n, 0n, escrowed]]);
    expect((await info(w.address))[W.stake]).toBe(stake);
    expect((await info(w.address))[W.locked]).toBe(0n);
  });
});

describe("stake stays slashable while unbonding", () => {
  it("a worker that unbonds everything after claiming is still slashed for not delivering; withdraws the rest", async () => {
    const w = f.more[3];
    await h.register(w, { stake: parseEther("10") });
    const price = parseEther("50"); // bond 5 AZR
    const bond = bondOf(price);
    const { id } = await h.post(requester, { price, deliverWindow: 60n });
    const c = await h.ok(as(f.market, w).claim(id));
    const u = await h.ok(as(f.market, w).beginUnbond(parseEther("10")));
    const ends = (await tsOf(u)) + DEVNET.unbondingPeriod;
    const during = await info(w.address);
    expect([during[W.stake], during[W.locked], during[W.unbonding]]).toEqual([0n, bond, parseEther("10")]);
    await h.passTo((await tsOf(c)) + 60n);
    const r = await h.ok(as(f.market, challenger).reclaim(id));
    expect(marketEvents(r).WorkerSlashed).toEqual([[id, w.address, bond, bond / 2n, requester.address]]);
    // The slash came out of the unbonding AZR.
    const after = await info(w.address);
    expect([after[W.stake], after[W.locked], after[W.unbonding]]).toEqual([0n, 0n, parseEther("10") - bond]);
    await h.passTo(ends);
    const before = await f.provider.getBalance(w.address);
    const out = await h.ok(as(f.market, w).withdrawUnbonded());
    expect(await f.provider.getBalance(w.address)).toBe(before + parseEther("10") - bond - out.fee);
    expect((await info(w.address))[W.registered]).toBe(false);
  });

  it("withdrawUnbonded keeps what covers locked bonds until their jobs settle", async () => {
    const x = f.dev[0];
    await h.register(x, { stake: parseEther("10") });
    const price = parseEther("40"); // bond 4 AZR
    const bond = bondOf(price);
    const { id } = await h.post(requester, { price });
    await h.ok(as(f.market, x).claim(id));
    await h.ok(as(f.market, x).submit(id, TRUE, "ipfs://x"));
    // Nobody settles the job for longer than the unbonding period: its bond stays locked meanwhile.
    const u = await h.ok(as(f.market, x).beginUnbond(parseEther("10")));
    await h.passTo((await tsOf(u)) + DEVNET.unbondingPeriod);
    const first = await h.ok(as(f.market, x).withdrawUnbonded());
    expect(marketEvents(first).UnbondWithdrawn).toEqual([[x.address, parseEther("10") - bond]]);
    await h.expectRefused(x, "withdrawUnbonded", [], ["NothingToWithdraw", [x.address, ZeroAddress]]);
    expect((await info(x.address))[W.registered]).toBe(true);
    // The job settles: the bond is free again, and can leave.
    await h.ok(as(f.market, requester).finalize(id));
    const second = await h.ok(as(f.market, x).withdrawUnbonded());
    expect(marketEvents(second).UnbondWithdrawn).toEqual([[x.address, bond]]);
    expect((await info(x.address))[W.registered]).toBe(false);
  });
});

describe("gas of the delivery and dispute steps (README figures; the draw makes challenge vary)", () => {
  it("commit, reveal, reclaim, challenge, vote, the settling vote, resolve", async () => {
    const g: Record<string, bigint> = {};
    const m = async (name: string, r: TransactionReceipt) => {
      g[name] = await h.moduleGas(r);
    };
    const [a, b] = workers.slice(0, 2);
    const { id } = await h.post(requester, { redundancy: 2n, verification: Mode.Replay });
    await h.ok(as(f.market, a).claim(id));
    await h.ok(as(f.market, b).claim(id));
    await m("commit", await h.ok(as(f.market, a).commit(id, commitment(TRUE, a.address))));
    await m("commit (last: opens reveals)", await h.ok(as(f.market, b).commit(id, commitment(TRUE, b.address))));
    await m("reveal", await h.ok(as(f.market, a).reveal(id, TRUE, "ipfs://bafkreiresult", SALT)));
    await m(
      "reveal (last: starts the challenge window)",
      await h.ok(as(f.market, b).reveal(id, TRUE, "ipfs://bafkreiresult", SALT)),
    );
    const { receipt, verifiers } = await challengeJob(id);
    await m("challenge (replay: draws 3 verifiers)", receipt);
    await m("vote", await h.ok(as(f.market, verifiers[0]).vote(id, TRUE)));
    await h.ok(as(f.market, verifiers[1]).vote(id, TRUE));
    await m("vote (third: settles, R = 2)", await h.ok(as(f.market, verifiers[2]).vote(id, TRUE)));

    const x = await delivered([workers[3]], [TRUE], { verification: Mode.Arbiter, arbiter: arbiter.address });
    const ch = await challengeJob(x.id);
    await m("challenge (arbiter)", ch.receipt);
    await m("resolve", await h.ok(as(f.market, arbiter).resolve(x.id, 10_000n)));

    const y = await h.post(requester, { deliverWindow: 5n });
    const c = await h.ok(as(f.market, workers[4]).claim(y.id));
    await h.passTo((await tsOf(c)) + 5n);
    await m("reclaim (no-show slashed, slot reopens)", await h.ok(as(f.market, challenger).reclaim(y.id)));
    console.log(
      `market dispute gas (module only):\n${Object.entries(g)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join("\n")}`,
    );
    for (const v of Object.values(g)) expect(v).toBeGreaterThan(0n);
  });
});
