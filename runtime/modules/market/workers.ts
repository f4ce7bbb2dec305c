import { assert } from "../../lib/assert.js";
import { equalsBytes } from "../../primitives/bytes.js";
import { keccak256 } from "../../primitives/hash.js";
import { concat, uintWord, wordToBigInt } from "../abi.js";
import { isZeroAddress } from "../erc20Events.js";
import { GAS } from "../host.js";
import type { MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { Events } from "./events.js";
import { type Payouts, payOut } from "./funds.js";
import { BPS } from "./params.js";
import { claimedSlot, kindIndex, MAX_KINDS, VERIFIERS } from "./storage.js";

/**
 * Workers: registration with kinds and an AZR stake, stake top-ups, unbonding, and the bond
 * operations settlements use (lock, unlock, slash). Invariant: `locked ≤ stake + unbonding`: every
 * bond is covered by bonded AZR, so a slash always finds its amount, first in the stake, then in
 * what is unbonding (which stays slashable until it is withdrawn).
 */
export const MAX_ENDPOINT_BYTES = 256;
/** Random draws a challenge may spend looking for VERIFIERS eligible workers of the kind. */
export const MAX_VERIFIER_DRAWS = 16;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

export async function registerWorker(ctx: MarketCtx, kinds: Uint8Array[], endpoint: string): Promise<void> {
  await ctx.requireConfigured();
  const me = ctx.caller;
  const w = ctx.worker(me);
  const head = await w.head();
  if (head.registered) throw MarketErrors.workerAlreadyRegistered(me);
  if (kinds.length === 0 || kinds.length > MAX_KINDS) throw MarketErrors.workerInvalidRegistration("kinds");
  const seen = new Set<bigint>();
  for (const k of kinds) {
    const v = wordToBigInt(k);
    if (v === 0n || seen.has(v)) throw MarketErrors.workerInvalidRegistration("kinds");
    seen.add(v);
  }
  const len = utf8Length(endpoint);
  if (len === 0 || len > MAX_ENDPOINT_BYTES) throw MarketErrors.workerInvalidRegistration("endpoint");
  const min = await ctx.params.minWorkerStake();
  if (ctx.call.value < min) throw MarketErrors.workerUnderBonded(me, ctx.call.value, min);

  // A worker that left withdrew everything: its stake words are zero, its job counters stay.
  const stake = (await w.stake()) + ctx.call.value;
  await w.setHead({ ...head, registered: true, kindCount: kinds.length, unbondingEnds: 0n });
  await w.setStake(stake);
  for (let i = 0; i < kinds.length; i++) await w.setKind(i, kinds[i]);
  await w.setEndpoint(endpoint);
  for (const k of kinds) await kindIndex.add(ctx.call, k, me);
  Events.WorkerRegistered(ctx.call, [me], [kinds, endpoint, stake]);
}

async function registered(ctx: MarketCtx) {
  const w = ctx.worker(ctx.caller);
  if (!(await w.head()).registered) throw MarketErrors.workerNotRegistered(ctx.caller);
  return w;
}

export async function addStake(ctx: MarketCtx): Promise<bigint> {
  const w = await registered(ctx);
  if (ctx.call.value === 0n) throw MarketErrors.invalidPayment(1n, 0n);
  const stake = (await w.stake()) + ctx.call.value;
  await w.setStake(stake);
  Events.StakeAdded(ctx.call, [ctx.caller], [ctx.call.value, stake]);
  return stake;
}

export async function beginUnbond(ctx: MarketCtx, amount: bigint): Promise<bigint> {
  const w = await registered(ctx);
  const stake = await w.stake();
  if (amount === 0n || amount > stake) throw MarketErrors.workerUnderBonded(ctx.caller, stake, amount);
  const ends = ctx.now() + (await ctx.params.unbondingPeriod());
  await w.setStake(stake - amount);
  await w.setUnbonding((await w.unbonding()) + amount);
  // One unbonding bucket per worker: a later beginUnbond restarts the clock for all of it.
  await w.setHead({ ...(await w.head()), unbondingEnds: ends });
  Events.UnbondStarted(ctx.call, [ctx.caller], [amount, ends]);
  return ends;
}

/**
 * Pays out what finished unbonding, except the part still needed to cover locked bonds (bonds stay
 * slashable until their jobs settle). A worker left with nothing bonded is deregistered.
 */
export async function withdrawUnbonded(ctx: MarketCtx): Promise<bigint> {
  const me = ctx.caller;
  const w = await registered(ctx);
  const head = await w.head();
  const unbonding = await w.unbonding();
  if (unbonding === 0n) throw MarketErrors.nothingToWithdraw(me, new Uint8Array(20));
  if (ctx.now() < head.unbondingEnds) throw MarketErrors.workerUnbonding(me, head.unbondingEnds);
  const stake = await w.stake();
  const locked = await w.locked();
  const uncovered = locked > stake ? locked - stake : 0n;
  const amount = unbonding > uncovered ? unbonding - uncovered : 0n;
  if (amount === 0n) throw MarketErrors.nothingToWithdraw(me, new Uint8Array(20));
  await w.setUnbonding(unbonding - amount);
  if (stake === 0n && unbonding === amount && locked === 0n) {
    for (const k of await w.kinds()) await kindIndex.remove(ctx.call, k, me);
    await w.setHead({ ...head, registered: false, kindCount: 0, unbondingEnds: 0n });
    Events.WorkerDeregistered(ctx.call, [me], []);
  }
  await payOut(ctx, me, false, amount);
  Events.UnbondWithdrawn(ctx.call, [me], [amount]);
  return amount;
}

/**
 * Can `worker` take on a bond of `bond` now? Registered, of the kind, stake at least the minimum,
 * and that much stake free. Returns the refusal (a custom error) or undefined.
 */
export async function bondRefusal(ctx: MarketCtx, worker: Uint8Array, kind: Uint8Array, bond: bigint) {
  const w = ctx.worker(worker);
  if (!(await w.head()).registered) return MarketErrors.workerNotRegistered(worker);
  if (!(await w.hasKind(kind))) return MarketErrors.workerKindMismatch(worker, kind);
  const min = await ctx.params.minWorkerStake();
  const stake = await w.stake();
  if (stake < min) return MarketErrors.workerUnderBonded(worker, stake, min);
  const free = await w.freeStake();
  if (free < bond) return MarketErrors.workerUnderBonded(worker, free, bond);
  return undefined;
}

export async function lockBond(ctx: MarketCtx, worker: Uint8Array, bond: bigint): Promise<void> {
  const w = ctx.worker(worker);
  await w.setLocked((await w.locked()) + bond);
}

/** Releases a bond and, for a paid worker, counts the job done. */
export async function unlockBond(ctx: MarketCtx, worker: Uint8Array, bond: bigint, done: boolean): Promise<void> {
  const w = ctx.worker(worker);
  const locked = await w.locked();
  assert(locked >= bond, "unlocking more than is locked");
  await w.setLocked(locked - bond);
  if (done) {
    const head = await w.head();
    await w.setHead({ ...head, jobsDone: head.jobsDone + 1n });
  }
}

/**
 * Slashes `worker`'s bond on job `id`: the bond leaves the worker's bonded AZR (stake first, then
 * unbonding), `slashBurnBps` of it is burned and the rest split evenly among `beneficiaries` (the
 * division's remainder is burned too; everything is burned when there is no beneficiary).
 */
export async function slashBond(
  ctx: MarketCtx,
  payouts: Payouts,
  id: bigint,
  worker: Uint8Array,
  bond: bigint,
  beneficiaries: Uint8Array[],
): Promise<void> {
  const w = ctx.worker(worker);
  const locked = await w.locked();
  assert(locked >= bond, "slashing more than is locked");
  await w.setLocked(locked - bond);
  const stake = await w.stake();
  const fromStake = stake < bond ? stake : bond;
  await w.setStake(stake - fromStake);
  if (fromStake < bond) {
    const unbonding = await w.unbonding();
    assert(unbonding >= bond - fromStake, "a locked bond not covered by stake + unbonding");
    await w.setUnbonding(unbonding - (bond - fromStake));
  }
  const head = await w.head();
  await w.setHead({ ...head, jobsSlashed: head.jobsSlashed + 1n });
  const burned = shareOut(payouts, bond, (await ctx.params.config()).slashBurnBps, beneficiaries);
  Events.WorkerSlashed(ctx.call, [id, worker], [bond, burned, beneficiaries.length === 1 ? beneficiaries[0] : ZERO]);
}

const ZERO = new Uint8Array(20);

/**
 * Splits a slashed AZR `amount`: `burnBps` burned, the rest evenly to `to` (remainder burned).
 * Returns everything burned.
 */
export function shareOut(payouts: Payouts, amount: bigint, burnBps: bigint, to: Uint8Array[]): bigint {
  let burned = (amount * burnBps) / BPS;
  const rest = amount - burned;
  if (to.length === 0) burned += rest;
  else {
    const each = rest / BigInt(to.length);
    burned += rest - each * BigInt(to.length);
    for (const a of to) payouts.credit(a, false, each);
  }
  payouts.burn(burned);
  return burned;
}

/**
 * Draws VERIFIERS workers of `kind` for a replay dispute: a partial Fisher–Yates shuffle of the
 * kind's worker list (a sample without replacement, in a virtual array whose swaps live in memory),
 * seeded by PREVRANDAO, the job id and the challenger. A drawn worker serves if it did not claim the
 * job, is neither requester nor challenger, has the minimum stake and can lock `bond` (being on the
 * kind's list means it is registered with the kind). At most MAX_VERIFIER_DRAWS draws: the work is
 * bounded whatever the size of the list. Returns fewer than VERIFIERS when not found.
 *
 * Gas does not depend on the draw: every draw makes the same four reads, and the draws left unused
 * are charged at that price, up to min(list length, MAX_VERIFIER_DRAWS). eth_estimateGas runs the
 * draw with the head block's PREVRANDAO, the transaction's block with its own; a cost that depended on
 * how many draws it took would make the estimate too low half of the time.
 */
export async function drawVerifiers(
  ctx: MarketCtx,
  id: bigint,
  kind: Uint8Array,
  exclude: Uint8Array[],
  bond: bigint,
): Promise<Uint8Array[]> {
  const n = await kindIndex.count(ctx.call, kind);
  const min = await ctx.params.minWorkerStake();
  const seed = keccak256(concat(ctx.call.prevRandao(), uintWord(id), uintWord(wordToBigInt(ctx.caller))));
  const swapped = new Map<bigint, bigint>();
  const at = (i: bigint) => swapped.get(i) ?? i;
  const chosen: Uint8Array[] = [];
  const draws = n < BigInt(MAX_VERIFIER_DRAWS) ? n : BigInt(MAX_VERIFIER_DRAWS);
  let j = 0n;
  for (; j < draws && chosen.length < VERIFIERS; j++) {
    const r = j + (wordToBigInt(keccak256(concat(seed, uintWord(j)))) % (n - j));
    const pick = at(r);
    swapped.set(r, at(j));
    swapped.set(j, pick);
    const candidate = await kindIndex.member(ctx.call, kind, pick);
    const claimed = await claimedSlot.get(ctx.call, id, candidate);
    const w = ctx.worker(candidate);
    const stake = await w.stake();
    const locked = await w.locked();
    const free = stake > locked ? stake - locked : 0n;
    const excluded = isZeroAddress(candidate) || exclude.some((e) => equalsBytes(e, candidate));
    if (!excluded && claimed === 0n && stake >= min && free >= bond) chosen.push(candidate);
  }
  ctx.call.charge((draws - j) * DRAW_GAS);
  return chosen;
}

/** What one draw reads: the list member, its claim on the job, its stake and its locked bonds. */
const DRAW_GAS = 4n * GAS.sload;
