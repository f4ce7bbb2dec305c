import { equalsBytes } from "../../primitives/bytes.js";
import { keccak256 } from "../../primitives/hash.js";
import { type AbiValue, encodeArgs, uintWord, wordToBigInt } from "../abi.js";
import { isZeroAddress } from "../erc20Events.js";
import { LEARN_ADDRESS } from "../learn/index.js";
import { learnSpendAllowance, learnTransfer } from "../learn/ledger.js";
import { MARKET_ADDRESS, type MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { Events } from "./events.js";
import { Payouts } from "./funds.js";
import { BPS, MAX_AMOUNT } from "./params.js";
import {
  refundAll,
  settleArbiter,
  settleSilentArbiter,
  settleUnchallenged,
  tallyRetrieval,
  tallyVotes,
} from "./settle.js";
import {
  claimedSlot,
  type JobRecord,
  JobStatus,
  kindIndex,
  MAX_VERIFICATION,
  SLOTS,
  SlotStatus,
  VERIFIERS,
  Verification,
} from "./storage.js";
import { bondRefusal, drawVerifiers, lockBond, slashBond } from "./workers.js";

/**
 * The job lifecycle: post, claim, deliver (submit, or commit then reveal), reclaim, cancel, accept,
 * challenge, vote, resolve, finalize. State machine, rules and redundancy semantics: README.md.
 * Every function checks, in order: the job exists, its status, the caller, the time, the input;
 * then writes the new state; funds move last (and only at post and withdraw; settlements credit).
 */
export const MAX_URI_BYTES = 1024;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** The market fee of a job: a share of price × redundancy. */
export function feeOf(price: bigint, redundancy: bigint, feeBps: bigint): bigint {
  return (price * redundancy * feeBps) / BPS;
}

/** `paid`: the AZR this job receives of the call's value (all of it for `post`; its share for `postMany`). */
export async function post(ctx: MarketCtx, spec: AbiValue[], paid: bigint = ctx.call.value): Promise<bigint> {
  await ctx.requireConfigured();
  const [
    kind,
    specURI,
    inputHash,
    token,
    price,
    redundancy,
    claimWindow,
    deliverWindow,
    challengeWindow,
    mode,
    arbiter,
  ] = spec as [Uint8Array, string, Uint8Array, Uint8Array, bigint, bigint, bigint, bigint, bigint, bigint, Uint8Array];
  const requester = ctx.caller;
  const cfg = await ctx.params.config();
  if (wordToBigInt(kind) === 0n) throw MarketErrors.invalidSpec("kind");
  const uriLength = utf8Length(specURI);
  if (uriLength === 0 || uriLength > MAX_URI_BYTES) throw MarketErrors.invalidSpec("specURI");
  const learn = equalsBytes(token, LEARN_ADDRESS.bytes);
  if (!learn && !isZeroAddress(token)) throw MarketErrors.invalidToken(token);
  if (price === 0n || price > MAX_AMOUNT) throw MarketErrors.invalidSpec("price");
  if (redundancy === 0n || redundancy > cfg.maxRedundancy) throw MarketErrors.invalidSpec("redundancy");
  const windows = { claimWindow, deliverWindow, challengeWindow };
  for (const [name, w] of Object.entries(windows)) {
    if (w < cfg.minWindow || w > cfg.maxWindow) throw MarketErrors.invalidSpec(name);
  }
  if (mode > BigInt(MAX_VERIFICATION)) throw MarketErrors.invalidSpec("verification");
  if ((mode === BigInt(Verification.Arbiter)) !== !isZeroAddress(arbiter)) throw MarketErrors.invalidSpec("arbiter");
  // An arbiter rules on one result, and Retrieval pays one worker's custody pro rata; redundancy would need a
  // ruling (a clock) per worker: replicas are separate jobs.
  if ((mode === BigInt(Verification.Arbiter) || mode === BigInt(Verification.Retrieval)) && redundancy !== 1n)
    throw MarketErrors.invalidSpec("redundancy");
  // Replay and Retrieval need VERIFIERS workers besides the job's own: without them every challenge would fail.
  if (
    (mode === BigInt(Verification.Replay) || mode === BigInt(Verification.Retrieval)) &&
    (await kindIndex.count(ctx.call, kind)) < redundancy + BigInt(VERIFIERS)
  ) {
    throw MarketErrors.invalidSpec("verification");
  }

  const fee = feeOf(price, redundancy, cfg.feeBps);
  const byPrice = (price * cfg.claimBondBps) / BPS;
  const minBond = await ctx.params.minClaimBond();
  const bond = byPrice > minBond ? byPrice : minBond;
  const escrowed = price * redundancy + fee;
  // AZR arrives as msg.value (already credited to the market by the EVM); LEARN is pulled below.
  const expected = learn ? 0n : escrowed;
  if (paid !== expected) throw MarketErrors.invalidPayment(expected, paid);

  const id = (await ctx.call.load(SLOTS.jobCount)) + 1n;
  await ctx.call.store(SLOTS.jobCount, id);
  const job = ctx.job(id);
  await job.create({
    head: {
      requester,
      status: JobStatus.Open,
      verification: Number(mode) as Verification,
      redundancy: Number(redundancy),
      learn,
      votedMask: 0,
    },
    kind,
    inputHash,
    price,
    fee,
    bond,
    windows: { postedAt: ctx.now(), claimWindow, deliverWindow, challengeWindow },
    arbiter,
    specURI,
  });
  if (learn) {
    await learnSpendAllowance(ctx.call, requester, MARKET_ADDRESS.bytes, escrowed);
    await learnTransfer(ctx.call, requester, MARKET_ADDRESS.bytes, escrowed);
  }
  Events.JobPosted(ctx.call, [id, requester, kind], [token, price, redundancy, escrowed, inputHash, specURI]);
  return id;
}

export async function claim(ctx: MarketCtx, id: bigint): Promise<number> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Open) throw MarketErrors.invalidState(id, head.status);
  const me = ctx.caller;
  if (equalsBytes(me, head.requester) || (await isArbiter(job, head.verification, me))) {
    throw MarketErrors.unauthorized(me);
  }
  const claimEnds = await job.claimEnds();
  if (ctx.now() >= claimEnds) throw MarketErrors.tooLate(id, claimEnds);
  if ((await claimedSlot.get(ctx.call, id, me)) !== 0n) throw MarketErrors.alreadyClaimed(id, me);
  const bond = await job.bond();
  const refusal = await bondRefusal(ctx, me, uintWord(await job.kind()), bond);
  if (refusal !== undefined) throw refusal;

  let slot = -1;
  let empty = 0;
  for (let i = 0; i < head.redundancy; i++) {
    if ((await job.slot(i).head()).status !== SlotStatus.Empty) continue;
    if (slot < 0) slot = i;
    else empty++;
  }
  if (slot < 0) throw MarketErrors.noFreeSlot(id);
  const deliverBy = ctx.now() + (await job.windows()).deliverWindow;
  await job.slot(slot).setHead({ worker: me, status: SlotStatus.Claimed, deliverBy });
  await claimedSlot.set(ctx.call, id, me, slot);
  if (empty === 0) await job.setStatus(JobStatus.Claimed);
  await lockBond(ctx, me, bond);
  Events.JobClaimed(ctx.call, [id, me], [BigInt(slot), bond, deliverBy]);
  return slot;
}

/** Only arbiter jobs have one: the word is read only for them. */
async function isArbiter(job: JobRecord, mode: Verification, who: Uint8Array): Promise<boolean> {
  return mode === Verification.Arbiter && equalsBytes(who, await job.arbiter());
}

/** The caller's slot on job `id` (JobUnauthorized if it holds none now). */
async function mySlot(ctx: MarketCtx, job: JobRecord) {
  const me = ctx.caller;
  const n = await claimedSlot.get(ctx.call, job.id, me);
  if (n === 0n) throw MarketErrors.unauthorized(me);
  const slot = job.slot(Number(n - 1n));
  const head = await slot.head();
  // A reopened slot may belong to someone else by now.
  if (!equalsBytes(head.worker, me)) throw MarketErrors.unauthorized(me);
  return { slot, head };
}

export async function commit(ctx: MarketCtx, id: bigint, commitment: Uint8Array): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Open && head.status !== JobStatus.Claimed)
    throw MarketErrors.invalidState(id, head.status);
  const { slot, head: s } = await mySlot(ctx, job);
  if (s.status !== SlotStatus.Claimed) throw MarketErrors.slotInvalidState(id, slot.index, s.status);
  if (ctx.now() >= s.deliverBy) throw MarketErrors.tooLate(id, s.deliverBy);
  await slot.setCommitment(commitment);
  await slot.setStatus(SlotStatus.Committed);
  Events.ResultCommitted(ctx.call, [id, ctx.caller], [BigInt(slot.index), commitment]);
  await advance(ctx, job);
}

/** keccak256(abi.encode(resultHash, worker, salt)): what `commit` takes. */
export function commitmentOf(resultHash: Uint8Array, worker: Uint8Array, salt: Uint8Array): Uint8Array {
  return keccak256(encodeArgs(["bytes32", "address", "bytes32"], [resultHash, worker, salt]));
}

export async function reveal(
  ctx: MarketCtx,
  id: bigint,
  resultHash: Uint8Array,
  resultURI: string,
  salt: Uint8Array,
): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Claimed) throw MarketErrors.invalidState(id, head.status);
  const { revealEnds } = await job.times();
  // Reveals open only once every live slot has committed: until then nobody's answer is public.
  if (revealEnds === 0n) throw MarketErrors.tooEarly(id, 0n);
  const { slot, head: s } = await mySlot(ctx, job);
  if (s.status !== SlotStatus.Committed) throw MarketErrors.slotInvalidState(id, slot.index, s.status);
  if (ctx.now() >= revealEnds) throw MarketErrors.tooLate(id, revealEnds);
  if (utf8Length(resultURI) > MAX_URI_BYTES) throw MarketErrors.invalidSpec("resultURI");
  const commitment = await slot.commitment();
  if (!equalsBytes(commitmentOf(resultHash, ctx.caller, salt), commitment)) {
    throw MarketErrors.revealMismatch(id, commitment);
  }
  await deliver(ctx, job, slot.index, resultHash, resultURI);
}

export async function submit(
  ctx: MarketCtx,
  id: bigint,
  resultHash: Uint8Array,
  resultURI: string,
  meter?: (slot: number) => Promise<void>,
): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.redundancy !== 1) throw MarketErrors.commitRequired(id);
  if (head.status !== JobStatus.Claimed) throw MarketErrors.invalidState(id, head.status);
  const { slot, head: s } = await mySlot(ctx, job);
  if (s.status !== SlotStatus.Claimed) throw MarketErrors.slotInvalidState(id, slot.index, s.status);
  if (ctx.now() >= s.deliverBy) throw MarketErrors.tooLate(id, s.deliverBy);
  if (utf8Length(resultURI) > MAX_URI_BYTES) throw MarketErrors.invalidSpec("resultURI");
  // Before deliver: the last delivery starts the challenge window, and the claim must be in place by then.
  if (meter !== undefined) await meter(slot.index);
  await deliver(ctx, job, slot.index, resultHash, resultURI);
}

/**
 * `submit` for work paid by the unit (a mail campaign paid per delivered message): the result claims `earned` ≤
 * price, and an undisputed settlement pays the worker that much and refunds the rest of the price (and the
 * same share of the fee) to the requester. The requester checks the result (e.g. a delivery log) and disputes
 * an inflated claim with the job's arbiter, whose ruling replaces the claim; so only RequesterAccept and
 * Arbiter jobs take metered results (`JobInvalidSpec("verification")`), and only with redundancy 1.
 */
export async function submitMetered(
  ctx: MarketCtx,
  id: bigint,
  resultHash: Uint8Array,
  resultURI: string,
  earned: bigint,
): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.verification !== Verification.RequesterAccept && head.verification !== Verification.Arbiter) {
    throw MarketErrors.invalidSpec("verification");
  }
  if (earned > (await job.price())) throw MarketErrors.invalidSpec("earned");
  await submit(ctx, id, resultHash, resultURI, async (index) => {
    await job.slot(index).setMetered(earned);
    Events.ResultMetered(ctx.call, [id, ctx.caller], [earned]);
  });
}

async function deliver(ctx: MarketCtx, job: JobRecord, index: number, hash: Uint8Array, uri: string): Promise<void> {
  const slot = job.slot(index);
  await slot.setResultHash(hash);
  if (uri.length > 0) await slot.setResultURI(uri);
  await slot.setStatus(SlotStatus.Revealed);
  Events.ResultSubmitted(ctx.call, [job.id, ctx.caller], [BigInt(index), hash, uri]);
  await advance(ctx, job);
}

/**
 * Moves the job to the phase its slots are in, after any slot changed:
 * an empty slot → Open; a claimed, undelivered slot → Claimed; only commitments → Claimed with the
 * reveal window opened (once); only results → Submitted with the challenge window started; no live
 * slot at all (every slot expired or slashed) → the requester is refunded.
 */
async function advance(ctx: MarketCtx, job: JobRecord): Promise<void> {
  const head = await job.head();
  const n = { empty: 0, claimed: 0, committed: 0, revealed: 0 };
  for (let i = 0; i < head.redundancy; i++) {
    const s = (await job.slot(i).head()).status;
    if (s === SlotStatus.Empty) n.empty++;
    else if (s === SlotStatus.Claimed) n.claimed++;
    else if (s === SlotStatus.Committed) n.committed++;
    else if (s === SlotStatus.Revealed) n.revealed++;
  }
  const now = ctx.now();
  if (n.empty > 0) {
    await job.setStatus(JobStatus.Open);
  } else if (n.claimed > 0) {
    await job.setStatus(JobStatus.Claimed);
  } else if (n.committed > 0) {
    await job.setStatus(JobStatus.Claimed);
    const times = await job.times();
    if (times.revealEnds === 0n) {
      const revealEnds = now + (await job.windows()).deliverWindow;
      await job.setTimes({ ...times, revealEnds });
      Events.RevealOpened(ctx.call, [job.id], [revealEnds]);
    }
  } else if (n.revealed > 0) {
    await job.setStatus(JobStatus.Submitted);
    const times = await job.times();
    await job.setTimes({ ...times, challengeEnds: now + (await job.windows()).challengeWindow });
  } else {
    await refundAll(ctx, job, new Payouts());
  }
}

/**
 * Applies every timeout that has passed on an Open or Claimed job: empty slots close when the claim
 * window ends; a claim not delivered (committed or submitted) by its deadline, or a commitment not
 * revealed by the reveal deadline, is slashed (the non-burned share to the requester, who waited)
 * and its slot reopens while the claim window is open. Then the job moves on (advance).
 */
export async function reclaim(ctx: MarketCtx, id: bigint): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Open && head.status !== JobStatus.Claimed)
    throw MarketErrors.invalidState(id, head.status);
  const now = ctx.now();
  const claimEnds = await job.claimEnds();
  const { revealEnds } = await job.times();
  const bond = await job.bond();
  const payouts = new Payouts();
  let changed = false;
  let next = 0n;
  const later = (t: bigint) => {
    if (next === 0n || t < next) next = t;
  };
  for (let i = 0; i < head.redundancy; i++) {
    const slot = job.slot(i);
    const s = await slot.head();
    const expired =
      (s.status === SlotStatus.Claimed && now >= s.deliverBy) ||
      (s.status === SlotStatus.Committed && revealEnds !== 0n && now >= revealEnds);
    if (s.status === SlotStatus.Empty) {
      if (now < claimEnds) later(claimEnds);
      else {
        await slot.setHead({ ...s, status: SlotStatus.Expired });
        changed = true;
      }
    } else if (expired) {
      const reopen = s.status === SlotStatus.Claimed && now < claimEnds;
      await slot.setHead(
        reopen
          ? { worker: new Uint8Array(20), status: SlotStatus.Empty, deliverBy: 0n }
          : { ...s, status: SlotStatus.Slashed },
      );
      await slashBond(ctx, payouts, id, s.worker, bond, [head.requester]);
      Events.ClaimExpired(ctx.call, [id, s.worker], [BigInt(i)]);
      changed = true;
    } else if (s.status === SlotStatus.Claimed) later(s.deliverBy);
    else if (s.status === SlotStatus.Committed && revealEnds !== 0n) later(revealEnds);
  }
  if (!changed) throw MarketErrors.tooEarly(id, next);
  await advance(ctx, job);
  await payouts.apply(ctx);
}

export async function cancel(ctx: MarketCtx, id: bigint): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (!equalsBytes(ctx.caller, head.requester)) throw MarketErrors.unauthorized(ctx.caller);
  if (head.status !== JobStatus.Open) throw MarketErrors.invalidState(id, head.status);
  for (let i = 0; i < head.redundancy; i++) {
    const s = await job.slot(i).head();
    if (s.status !== SlotStatus.Empty) throw MarketErrors.alreadyClaimed(id, s.worker);
  }
  const amount = (await job.price()) * BigInt(head.redundancy) + (await job.fee());
  await job.setStatus(JobStatus.Cancelled);
  const payouts = new Payouts();
  payouts.credit(head.requester, head.learn, amount);
  await payouts.apply(ctx);
  Events.JobCancelled(ctx.call, [id, head.requester], [amount]);
}

export async function accept(ctx: MarketCtx, id: bigint): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (!equalsBytes(ctx.caller, head.requester)) throw MarketErrors.unauthorized(ctx.caller);
  if (head.status !== JobStatus.Submitted) throw MarketErrors.invalidState(id, head.status);
  Events.JobAccepted(ctx.call, [id, head.requester], []);
  await settleUnchallenged(ctx, job);
}

export async function challenge(ctx: MarketCtx, id: bigint, evidenceURI: string): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Submitted) throw MarketErrors.invalidState(id, head.status);
  if (head.verification === Verification.RequesterAccept) throw MarketErrors.notChallengeable(id, head.verification);
  const me = ctx.caller;
  // The job's own workers and its arbiter cannot challenge it.
  if ((await claimedSlot.get(ctx.call, id, me)) !== 0n || (await isArbiter(job, head.verification, me))) {
    throw MarketErrors.unauthorized(me);
  }
  const times = await job.times();
  if (ctx.now() >= times.challengeEnds) throw MarketErrors.tooLate(id, times.challengeEnds);
  const bond = await ctx.params.challengeBond();
  if (ctx.call.value !== bond) throw MarketErrors.invalidPayment(bond, ctx.call.value);
  if (utf8Length(evidenceURI) > MAX_URI_BYTES) throw MarketErrors.invalidSpec("evidenceURI");

  let verifiers: Uint8Array[] = [];
  if (head.verification === Verification.Replay || head.verification === Verification.Retrieval) {
    const jobBond = await job.bond();
    verifiers = await drawVerifiers(ctx, id, uintWord(await job.kind()), [head.requester, me], jobBond);
    if (verifiers.length < VERIFIERS) throw MarketErrors.notEnoughVerifiers(id, verifiers.length);
    for (const v of verifiers) await lockBond(ctx, v, jobBond);
  }
  const disputeEnds = ctx.now() + (await ctx.params.config()).disputeWindow;
  await job.setStatus(JobStatus.Challenged);
  // challengedAt: an upheld Retrieval challenge pays the worker for its custody up to this moment
  const challengedAt = head.verification === Verification.Retrieval ? ctx.now() : 0n;
  await job.setTimes({ ...times, disputeEnds, challengedAt });
  await job.setChallenge(me, bond, verifiers);
  Events.JobChallenged(ctx.call, [id, me], [bond, evidenceURI, verifiers]);
}

export async function vote(ctx: MarketCtx, id: bigint, resultHash: Uint8Array): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Challenged) throw MarketErrors.invalidState(id, head.status);
  const me = ctx.caller;
  const index = (await job.verifiers()).findIndex((v) => equalsBytes(v, me));
  if (index < 0) throw MarketErrors.notVerifier(id, me);
  if ((head.votedMask >> index) & 1) throw MarketErrors.alreadyVoted(id, me);
  const { disputeEnds } = await job.times();
  if (ctx.now() >= disputeEnds) throw MarketErrors.tooLate(id, disputeEnds);
  const mask = head.votedMask | (1 << index);
  await job.setVote(index, resultHash);
  await job.setVotedMask(mask);
  Events.VerifierVoted(ctx.call, [id, me], [resultHash]);
  if (mask === (1 << VERIFIERS) - 1) await tally(ctx, job, head.verification);
}

export async function resolve(ctx: MarketCtx, id: bigint, workerBps: bigint): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  if (head.status !== JobStatus.Challenged) throw MarketErrors.invalidState(id, head.status);
  if (head.verification !== Verification.Arbiter || !equalsBytes(ctx.caller, await job.arbiter())) {
    throw MarketErrors.unauthorized(ctx.caller);
  }
  const { disputeEnds } = await job.times();
  if (ctx.now() >= disputeEnds) throw MarketErrors.tooLate(id, disputeEnds);
  if (workerBps > BPS) throw MarketErrors.invalidSpec("workerBps");
  await settleArbiter(ctx, job, workerBps);
}

export async function finalize(ctx: MarketCtx, id: bigint): Promise<void> {
  const job = await ctx.existingJob(id);
  const head = await job.head();
  const times = await job.times();
  const now = ctx.now();
  if (head.status === JobStatus.Submitted) {
    if (now < times.challengeEnds) throw MarketErrors.tooEarly(id, times.challengeEnds);
    await settleUnchallenged(ctx, job);
  } else if (head.status === JobStatus.Challenged) {
    if (now < times.disputeEnds) throw MarketErrors.tooEarly(id, times.disputeEnds);
    if (head.verification === Verification.Arbiter) await settleSilentArbiter(ctx, job);
    else await tally(ctx, job, head.verification);
  } else {
    throw MarketErrors.invalidState(id, head.status);
  }
}

/** The verifiers' votes decide: a replay dispute ends the job; a retrieval round may return it to Submitted. */
function tally(ctx: MarketCtx, job: JobRecord, mode: Verification): Promise<void> {
  return mode === Verification.Retrieval ? tallyRetrieval(ctx, job) : tallyVotes(ctx, job);
}
