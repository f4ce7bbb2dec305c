import { assert } from "../../lib/assert.js";
import { bytesToHex, equalsBytes } from "../../primitives/bytes.js";
import type { MarketCtx } from "./context.js";
import { Events } from "./events.js";
import { mintReward, Payouts } from "./funds.js";
import { BPS } from "./params.js";
import { type JobRecord, JobStatus, SlotStatus } from "./storage.js";
import { shareOut, slashBond, unlockBond } from "./workers.js";

/**
 * How a job ends (README.md, "Settlement"). Every path writes the job's final status first, then the
 * slots and the workers' bonds, then credits (paid by `withdraw`), LEARN rewards (minted, no code
 * runs) and last the AZR burn. Nothing here can fail for lack of funds: the escrow and the bonds
 * were taken when the job was posted, claimed and challenged.
 */

interface Delivered {
  index: number;
  worker: Uint8Array;
  hash: Uint8Array;
}

async function delivered(job: JobRecord): Promise<Delivered[]> {
  const head = await job.head();
  const out: Delivered[] = [];
  for (let i = 0; i < head.redundancy; i++) {
    const s = await job.slot(i).head();
    if (s.status === SlotStatus.Revealed)
      out.push({ index: i, worker: s.worker, hash: await job.slot(i).resultHash() });
  }
  return out;
}

/** The hash more than `more` of `hashes` agree on, if any. */
function agreed(hashes: Uint8Array[], more: number): Uint8Array | undefined {
  const counts = new Map<string, { hash: Uint8Array; n: number }>();
  for (const h of hashes) {
    const k = bytesToHex(h);
    const c = counts.get(k) ?? { hash: h, n: 0 };
    c.n++;
    counts.set(k, c);
  }
  for (const c of counts.values()) if (c.n > more) return c.hash;
  return undefined;
}

/** The requester gets everything back (price × redundancy + fee); the job ends Refunded. */
export async function refundAll(ctx: MarketCtx, job: JobRecord, payouts: Payouts): Promise<bigint> {
  const head = await job.head();
  const amount = (await job.price()) * BigInt(head.redundancy) + (await job.fee());
  await job.setStatus(JobStatus.Refunded);
  payouts.credit(head.requester, head.learn, amount);
  await payouts.apply(ctx);
  Events.JobRefunded(ctx.call, [job.id, head.requester], [amount]);
  return amount;
}

/**
 * Pays the winning slots (price credited, bond released, LEARN reward minted) and refunds the
 * requester the price of every other slot (expired, slashed or lost). Returns [paid, rewarded, refunded].
 */
async function payWinners(
  ctx: MarketCtx,
  job: JobRecord,
  payouts: Payouts,
  winners: Delivered[],
  rewardBps: bigint = BPS,
): Promise<[bigint, bigint, bigint]> {
  const head = await job.head();
  const price = await job.price();
  const bond = await job.bond();
  const reward = ((await ctx.params.learnRewardPerJob()) * rewardBps) / BPS;
  let rewarded = 0n;
  let paid = 0n;
  for (const w of winners) {
    const slot = job.slot(w.index);
    // A metered result (submitMetered, redundancy 1) earns what it claimed, ≤ price; its reward scales alike.
    const metered = (await slot.head()).metered === true;
    const earned = metered ? await slot.earned() : price;
    assert(earned <= price, "a metered claim is at most the price (checked by submitMetered)");
    await slot.setStatus(SlotStatus.Paid);
    await unlockBond(ctx, w.worker, bond, true);
    if (earned > 0n) payouts.credit(w.worker, head.learn, earned);
    const minted = await mintReward(ctx, w.worker, metered ? (reward * earned) / price : reward);
    rewarded += minted;
    paid += earned;
    Events.WorkerPaid(ctx.call, [job.id, w.worker], [earned, minted]);
  }
  const refunded = price * BigInt(head.redundancy) - paid;
  payouts.credit(head.requester, head.learn, refunded);
  return [paid, rewarded, refunded];
}

async function anyMetered(job: JobRecord, winners: Delivered[]): Promise<boolean> {
  for (const w of winners) if ((await job.slot(w.index).head()).metered === true) return true;
  return false;
}

function payFee(ctx: MarketCtx, job: JobRecord, payouts: Payouts, learn: boolean, to: Uint8Array, amount: bigint) {
  if (amount === 0n) return;
  payouts.credit(to, learn, amount);
  Events.FeePaid(ctx.call, [job.id, to], [amount]);
}

/**
 * No dispute (the challenge window ended, or the requester accepted): the result a strict majority
 * of the delivered slots agree on wins (with one delivery, that one). Its workers are paid; the
 * other delivered slots are slashed, the non-burned share split among the winners. Without a strict
 * majority (e.g. two workers disagreeing) nobody is paid or slashed and the requester is refunded.
 */
export async function settleUnchallenged(ctx: MarketCtx, job: JobRecord): Promise<void> {
  const head = await job.head();
  const results = await delivered(job);
  const payouts = new Payouts();
  const majority = agreed(
    results.map((r) => r.hash),
    results.length / 2,
  );
  if (majority === undefined) {
    for (const r of results) await unlockBond(ctx, r.worker, await job.bond(), false);
    await refundAll(ctx, job, payouts);
    return;
  }
  await job.setStatus(JobStatus.Finalized);
  const winners = results.filter((r) => equalsBytes(r.hash, majority));
  for (const r of results) {
    if (winners.includes(r)) continue;
    await job.slot(r.index).setStatus(SlotStatus.Slashed);
    await slashBond(
      ctx,
      payouts,
      job.id,
      r.worker,
      await job.bond(),
      winners.map((w) => w.worker),
    );
  }
  const [paid, rewarded, priceRefunded] = await payWinners(ctx, job, payouts, winners);
  // The fee follows the price: a metered job that paid part of its price takes that part of the fee and
  // refunds the rest with the price (unmetered jobs pay every delivered slot in full, so the whole fee).
  const total = (await job.price()) * BigInt(head.redundancy);
  const escrowedFee = await job.fee();
  const fee = priceRefunded > 0n && (await anyMetered(job, winners)) ? (escrowedFee * paid) / total : escrowedFee;
  const refunded = priceRefunded + (escrowedFee - fee);
  if (escrowedFee > fee) payouts.credit(head.requester, head.learn, escrowedFee - fee);
  payFee(ctx, job, payouts, head.learn, await ctx.params.feeRecipient(), fee);
  await payouts.apply(ctx);
  if (refunded > 0n) Events.JobRefunded(ctx.call, [job.id, head.requester], [refunded]);
  Events.JobFinalized(ctx.call, [job.id], [paid, rewarded, fee]);
}

/**
 * Replay dispute, once all three verifiers voted or the dispute window ended. Silent verifiers lose
 * their bond (burned). A result with at least two votes decides: slots that delivered it are paid,
 * the others slashed with the non-burned share to the challenger (who gets its bond back); if every
 * slot delivered it, the challenge failed and its bond is shared out to the workers. The fee goes
 * to the verifiers that voted with the majority. Without two agreeing votes the dispute is
 * undecided: no worker or challenger is slashed, and the requester is refunded.
 */
export async function tallyVotes(ctx: MarketCtx, job: JobRecord): Promise<void> {
  const head = await job.head();
  const bond = await job.bond();
  const price = await job.price();
  const fee = await job.fee();
  const payouts = new Payouts();
  const verifiers = await job.verifiers();
  const votes: { verifier: Uint8Array; hash: Uint8Array }[] = [];
  for (let i = 0; i < verifiers.length; i++) {
    if ((head.votedMask >> i) & 1) votes.push({ verifier: verifiers[i], hash: await job.vote(i) });
  }
  const majority = agreed(
    votes.map((v) => v.hash),
    1,
  );
  const results = await delivered(job);
  const challenger = await job.challenger();
  const challengeBond = await job.challengeBond();
  // Final status first: the job is settled before any bond or credit changes.
  const winners = majority === undefined ? [] : results.filter((r) => equalsBytes(r.hash, majority));
  await job.setStatus(majority !== undefined && winners.length > 0 ? JobStatus.Finalized : JobStatus.Refunded);

  await settleVerifierBonds(ctx, job, payouts, verifiers, head.votedMask, bond);

  if (majority === undefined) {
    for (const r of results) await unlockBond(ctx, r.worker, bond, false);
    payouts.credit(challenger, false, challengeBond);
    const refunded = await refundAll(ctx, job, payouts);
    Events.DisputeResolved(ctx.call, [job.id], [false, 0n, 0n, refunded]);
    return;
  }

  const losers = results.filter((r) => !winners.includes(r));
  if (losers.length > 0) {
    payouts.credit(challenger, false, challengeBond);
    for (const r of losers) {
      await job.slot(r.index).setStatus(SlotStatus.Slashed);
      await slashBond(ctx, payouts, job.id, r.worker, bond, [challenger]);
    }
  } else {
    const burnBps = (await ctx.params.config()).slashBurnBps;
    const burned = shareOut(
      payouts,
      challengeBond,
      burnBps,
      winners.map((w) => w.worker),
    );
    Events.ChallengerSlashed(ctx.call, [job.id, challenger], [challengeBond, burned]);
  }
  const [paid, rewarded, refunded] = await payWinners(ctx, job, payouts, winners);

  const majorityVoters = votes.filter((v) => equalsBytes(v.hash, majority)).map((v) => v.verifier);
  const each = fee / BigInt(majorityVoters.length);
  for (const v of majorityVoters) payFee(ctx, job, payouts, head.learn, v, each);
  payFee(ctx, job, payouts, head.learn, await ctx.params.feeRecipient(), fee - each * BigInt(majorityVoters.length));
  await payouts.apply(ctx);

  const total = price * BigInt(head.redundancy);
  Events.DisputeResolved(ctx.call, [job.id], [losers.length === 0, (paid * BPS) / total, paid, refunded]);
  if (refunded > 0n) Events.JobRefunded(ctx.call, [job.id, head.requester], [refunded]);
  if (winners.length > 0) Events.JobFinalized(ctx.call, [job.id], [paid, rewarded, fee]);
}

/**
 * The arbiter's ruling (redundancy 1): `workerBps` of the price to the worker, the rest to the
 * requester, the fee to the arbiter. All to the worker (10,000) rejects the challenge: its bond is
 * shared out to the worker. Nothing to the worker (0) upholds it: the worker's bond is slashed to
 * the challenger. A split slashes nobody. The worker's LEARN reward is scaled by `workerBps`.
 */
export async function settleArbiter(ctx: MarketCtx, job: JobRecord, workerBps: bigint): Promise<void> {
  const head = await job.head();
  const bond = await job.bond();
  const price = await job.price();
  const [result] = await delivered(job);
  const challenger = await job.challenger();
  const challengeBond = await job.challengeBond();
  const payouts = new Payouts();
  await job.setStatus(workerBps > 0n ? JobStatus.Finalized : JobStatus.Refunded);

  if (workerBps === BPS) {
    const burned = shareOut(payouts, challengeBond, (await ctx.params.config()).slashBurnBps, [result.worker]);
    Events.ChallengerSlashed(ctx.call, [job.id, challenger], [challengeBond, burned]);
  } else {
    payouts.credit(challenger, false, challengeBond);
  }
  let paid = 0n;
  let rewarded = 0n;
  if (workerBps === 0n) {
    await job.slot(result.index).setStatus(SlotStatus.Slashed);
    await slashBond(ctx, payouts, job.id, result.worker, bond, [challenger]);
  } else {
    await job.slot(result.index).setStatus(SlotStatus.Paid);
    await unlockBond(ctx, result.worker, bond, true);
    paid = (price * workerBps) / BPS;
    payouts.credit(result.worker, head.learn, paid);
    rewarded = await mintReward(ctx, result.worker, ((await ctx.params.learnRewardPerJob()) * workerBps) / BPS);
    Events.WorkerPaid(ctx.call, [job.id, result.worker], [paid, rewarded]);
  }
  const refunded = price - paid;
  payouts.credit(head.requester, head.learn, refunded);
  const fee = await job.fee();
  payFee(ctx, job, payouts, head.learn, await job.arbiter(), fee);
  await payouts.apply(ctx);
  Events.DisputeResolved(ctx.call, [job.id], [workerBps === BPS, workerBps, paid, refunded]);
  if (refunded > 0n) Events.JobRefunded(ctx.call, [job.id, head.requester], [refunded]);
  if (workerBps > 0n) Events.JobFinalized(ctx.call, [job.id], [paid, rewarded, fee]);
}

/** The arbiter let the dispute window pass: everything back where it came from, nobody slashed. */
export async function settleSilentArbiter(ctx: MarketCtx, job: JobRecord): Promise<void> {
  const bond = await job.bond();
  const payouts = new Payouts();
  for (const r of await delivered(job)) await unlockBond(ctx, r.worker, bond, false);
  payouts.credit(await job.challenger(), false, await job.challengeBond());
  const refunded = await refundAll(ctx, job, payouts);
  Events.DisputeResolved(ctx.call, [job.id], [false, 0n, 0n, refunded]);
}

/**
 * A Retrieval round (custody over time, e.g. a pin), once all three verifiers voted or the dispute window
 * ended. Verifiers vote the delivered hash when the worker answered the challenge, anything else when it did
 * not; silent verifiers lose their bond (burned), as in replay.
 * - Upheld (two votes agree on something other than the delivered hash): the job ends. The worker's bond is
 *   slashed to the challenger (who gets its own bond back); the worker keeps the price of the custody it gave
 *   up to the challenge, `price × (challengedAt − start) / duration` (no LEARN reward), and the requester is
 *   refunded the rest: the time it paid for and did not get. The fee goes to the majority verifiers.
 * - Rejected (two votes for the delivered hash): the challenger's bond is shared out to those verifiers (the
 *   burn share burned): they did the work, and the job has no fee to spare per round. The job is Submitted
 *   again until its challenge window ends, open to the next challenge.
 * - Undecided (no two votes agree): the challenger's bond goes back; the job is Submitted again.
 */
export async function tallyRetrieval(ctx: MarketCtx, job: JobRecord): Promise<void> {
  const head = await job.head();
  const bond = await job.bond();
  const payouts = new Payouts();
  const verifiers = await job.verifiers();
  const votes: { verifier: Uint8Array; hash: Uint8Array }[] = [];
  for (let i = 0; i < verifiers.length; i++) {
    if ((head.votedMask >> i) & 1) votes.push({ verifier: verifiers[i], hash: await job.vote(i) });
  }
  const majority = agreed(
    votes.map((v) => v.hash),
    1,
  );
  const [result] = await delivered(job);
  assert(result !== undefined, "a challenged retrieval job has its delivered slot");
  const challenger = await job.challenger();
  const challengeBond = await job.challengeBond();
  const times = await job.times();
  const upheld = majority !== undefined && !equalsBytes(majority, result.hash);

  if (upheld) {
    const price = await job.price();
    const { challengeWindow } = await job.windows();
    const start = times.challengeEnds - challengeWindow;
    // A challenge is posted while challengedAt < challengeEnds, so 0 ≤ served < challengeWindow (≥ minWindow ≥ 1).
    const served = times.challengedAt > start ? times.challengedAt - start : 0n;
    assert(served < challengeWindow, "a retrieval challenge posted within the challenge window");
    const paid = (price * served) / challengeWindow;
    const refunded = price - paid;
    // Final status first: the job is settled before any bond or credit changes.
    await job.setStatus(paid > 0n ? JobStatus.Finalized : JobStatus.Refunded);
    await settleVerifierBonds(ctx, job, payouts, verifiers, head.votedMask, bond);
    await job.slot(result.index).setStatus(SlotStatus.Slashed);
    await slashBond(ctx, payouts, job.id, result.worker, bond, [challenger]);
    payouts.credit(challenger, false, challengeBond);
    if (paid > 0n) {
      payouts.credit(result.worker, head.learn, paid);
      Events.WorkerPaid(ctx.call, [job.id, result.worker], [paid, 0n]);
    }
    payouts.credit(head.requester, head.learn, refunded);
    const fee = await job.fee();
    const majorityVoters = votes.filter((v) => equalsBytes(v.hash, majority)).map((v) => v.verifier);
    const each = fee / BigInt(majorityVoters.length);
    for (const v of majorityVoters) payFee(ctx, job, payouts, head.learn, v, each);
    payFee(ctx, job, payouts, head.learn, await ctx.params.feeRecipient(), fee - each * BigInt(majorityVoters.length));
    await payouts.apply(ctx);
    Events.DisputeResolved(ctx.call, [job.id], [false, (paid * BPS) / price, paid, refunded]);
    if (refunded > 0n) Events.JobRefunded(ctx.call, [job.id, head.requester], [refunded]);
    if (paid > 0n) Events.JobFinalized(ctx.call, [job.id], [paid, 0n, fee]);
    return;
  }

  // Back to custody: the job's state first, then the round's bonds and credits.
  await job.setStatus(JobStatus.Submitted);
  await job.clearChallenge();
  await settleVerifierBonds(ctx, job, payouts, verifiers, head.votedMask, bond);
  if (majority !== undefined) {
    const voters = votes.filter((v) => equalsBytes(v.hash, majority)).map((v) => v.verifier);
    const burned = shareOut(payouts, challengeBond, (await ctx.params.config()).slashBurnBps, voters);
    Events.ChallengerSlashed(ctx.call, [job.id, challenger], [challengeBond, burned]);
  } else {
    payouts.credit(challenger, false, challengeBond);
  }
  await payouts.apply(ctx);
  Events.DisputeResolved(ctx.call, [job.id], [majority !== undefined, majority !== undefined ? BPS : 0n, 0n, 0n]);
  Events.JobResumed(ctx.call, [job.id], [times.challengeEnds]);
}

/** Verifiers that voted get their bond back; silent ones lose it (burned). */
async function settleVerifierBonds(
  ctx: MarketCtx,
  job: JobRecord,
  payouts: Payouts,
  verifiers: Uint8Array[],
  votedMask: number,
  bond: bigint,
): Promise<void> {
  for (let i = 0; i < verifiers.length; i++) {
    if ((votedMask >> i) & 1) await unlockBond(ctx, verifiers[i], bond, false);
    else await slashBond(ctx, payouts, job.id, verifiers[i], bond, []);
  }
}
