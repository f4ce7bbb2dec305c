import { Address } from "@ethereumjs/util";
import { sharesChanged } from "../governance/votes.js";
import { MODULE_ADDRESS, moduleAddress } from "../registry.js";
import type { ModuleState } from "../state.js";
import { burnNativeSupply } from "../wazr/index.js";
import { StakingErrors } from "./errors.js";
import { BPS, type StakingParamReader } from "./params.js";
import {
  ACC_SCALE,
  D,
  DelegationRecord,
  delegationsOf,
  MATURE_PER_BLOCK,
  MAX_DELEGATIONS,
  MAX_UNBONDINGS_PER_PAIR,
  readEntry,
  SLOTS,
  V,
  type ValidatorRecord,
  writeEntry,
} from "./storage.js";

/**
 * The staking ledger's rules, shared by transactions and block hooks. Stake is held as shares of a
 * validator's bonded tokens (a slash lowers every share's value at once, no loop over delegators);
 * undelegated stake moves into the validator's unbonding pool, also held as shares, so it stays
 * slashable until the queue pays it out. Rewards accrue per share (F1-style: an accumulator per
 * validator, a start value per delegation), so a block pays its signers in O(signers).
 */
export const STAKING_ADDRESS: Address = moduleAddress(MODULE_ADDRESS.staking);

/** Moves the rewards a delegation earned since its last settlement into its credited rewards. */
export async function settle(v: ValidatorRecord, d: DelegationRecord): Promise<void> {
  const acc = await v.get(V.Acc);
  const start = await d.get(D.AccStart);
  if (acc === start) return;
  const shares = await d.get(D.Shares);
  if (shares > 0n) await d.set(D.Credited, (await d.get(D.Credited)) + (shares * (acc - start)) / ACC_SCALE);
  await d.set(D.AccStart, acc);
}

/** Adds `amount` AZR (already held by the module) to `d`'s stake with `v`; returns the shares issued. */
export async function bond(s: ModuleState, v: ValidatorRecord, d: DelegationRecord, amount: bigint): Promise<bigint> {
  if (amount === 0n) throw StakingErrors.zeroAmount();
  const tokens = await v.get(V.Tokens);
  const total = await v.get(V.Shares);
  if (total > 0n && tokens === 0n) throw StakingErrors.worthless(v.operator);
  const shares = total === 0n ? amount : (amount * total) / tokens;
  if (shares === 0n) throw StakingErrors.zeroAmount();
  const list = delegationsOf(s, d.delegator);
  if (!(await list.has(v.operator))) {
    if ((await list.count()) >= MAX_DELEGATIONS) throw StakingErrors.tooManyDelegations(BigInt(MAX_DELEGATIONS));
    await list.add(v.operator);
  }
  await settle(v, d);
  await d.set(D.Shares, (await d.get(D.Shares)) + shares);
  await v.set(V.Tokens, tokens + amount);
  await v.set(V.Shares, total + shares);
  await sharesChanged(s, d.delegator, v.operator, shares);
  return shares;
}

/** The AZR value of `d`'s stake with `v`. */
export async function delegatedAmount(v: ValidatorRecord, d: DelegationRecord): Promise<bigint> {
  return v.tokensOf(await d.get(D.Shares));
}

/**
 * Takes `amount` AZR off `d`'s bonded stake with `v` (the shares burnt are rounded up, against the
 * delegator); the tokens leave the validator's bonded stake, the caller decides where they go.
 */
export async function unbond(s: ModuleState, v: ValidatorRecord, d: DelegationRecord, amount: bigint): Promise<void> {
  if (amount === 0n) throw StakingErrors.zeroAmount();
  const mine = await d.get(D.Shares);
  const tokens = await v.get(V.Tokens);
  const total = await v.get(V.Shares);
  const available = total === 0n ? 0n : (mine * tokens) / total;
  if (amount > available) throw StakingErrors.insufficientDelegation(available, amount);
  let burnt = amount === available ? mine : (amount * total + tokens - 1n) / tokens;
  if (burnt > mine) burnt = mine;
  await settle(v, d);
  await d.set(D.Shares, mine - burnt);
  await v.set(V.Tokens, tokens - amount);
  await v.set(V.Shares, total - burnt);
  if (mine === burnt) await delegationsOf(s, d.delegator).remove(v.operator);
  await sharesChanged(s, d.delegator, v.operator, -burnt);
}

/** Puts `amount` (just unbonded from `v`) into `v`'s unbonding pool and the queue; returns its completion time. */
export async function enqueueUnbonding(
  s: ModuleState,
  params: StakingParamReader,
  v: ValidatorRecord,
  d: DelegationRecord,
  amount: bigint,
): Promise<bigint> {
  const entries = await d.get(D.UnbondEntries);
  if (entries >= BigInt(MAX_UNBONDINGS_PER_PAIR))
    throw StakingErrors.tooManyUnbondings(BigInt(MAX_UNBONDINGS_PER_PAIR));
  const poolTokens = await v.get(V.UnbondTokens);
  const poolShares = await v.get(V.UnbondShares);
  const shares = poolShares === 0n ? amount : (amount * poolShares) / poolTokens;
  // The queue stays sorted by completion even when governance shortens the period.
  const lastEnd = await s.load(SLOTS.queueLastEnd);
  let completion = s.blockTimestamp() + (await params.get("unbondingPeriod"));
  if (completion < lastEnd) completion = lastEnd;
  await s.store(SLOTS.queueLastEnd, completion);
  const tail = await s.load(SLOTS.queueTail);
  await writeEntry(s, tail, { delegator: d.delegator, validator: v.operator, completion, poolShares: shares });
  await s.store(SLOTS.queueTail, tail + 1n);
  await v.set(V.UnbondTokens, poolTokens + amount);
  await v.set(V.UnbondShares, poolShares + shares);
  await d.set(D.UnbondEntries, entries + 1n);
  await d.set(D.UnbondShares, (await d.get(D.UnbondShares)) + shares);
  return completion;
}

/** Pays out at most MATURE_PER_BLOCK matured unbonding entries (a block hook). */
export async function payMatured(s: ModuleState, validator: (op: Uint8Array) => ValidatorRecord): Promise<number> {
  let head = await s.load(SLOTS.queueHead);
  const tail = await s.load(SLOTS.queueTail);
  let paid = 0;
  while (head < tail && paid < MATURE_PER_BLOCK) {
    const e = await readEntry(s, head);
    if (e.completion > s.blockTimestamp()) break;
    const v = validator(e.validator);
    const poolTokens = await v.get(V.UnbondTokens);
    const poolShares = await v.get(V.UnbondShares);
    const amount = poolShares === 0n ? 0n : (e.poolShares * poolTokens) / poolShares;
    let leftTokens = poolTokens - amount;
    const leftShares = poolShares - e.poolShares;
    if (leftShares === 0n && leftTokens > 0n) {
      // Rounding dust of an emptied pool joins the delegators' rewards rather than a later entry.
      await v.set(V.RewardPool, (await v.get(V.RewardPool)) + leftTokens);
      leftTokens = 0n;
    }
    await v.set(V.UnbondTokens, leftTokens);
    await v.set(V.UnbondShares, leftShares);
    const d = new DelegationRecord(s, e.delegator, e.validator);
    await d.set(D.UnbondEntries, (await d.get(D.UnbondEntries)) - 1n);
    await d.set(D.UnbondShares, (await d.get(D.UnbondShares)) - e.poolShares);
    await s.moveNative(STAKING_ADDRESS, new Address(e.delegator), amount);
    await writeEntry(s, head, null);
    head++;
    paid++;
  }
  await s.store(SLOTS.queueHead, head);
  return paid;
}

/** Burns `bps` of `v`'s bonded stake and of its unbonding pool; returns the AZR burnt. */
export async function slash(s: ModuleState, v: ValidatorRecord, bps: bigint): Promise<bigint> {
  const tokens = await v.get(V.Tokens);
  const pool = await v.get(V.UnbondTokens);
  const fromBonded = (tokens * bps) / BPS;
  const fromPool = (pool * bps) / BPS;
  await v.set(V.Tokens, tokens - fromBonded);
  await v.set(V.UnbondTokens, pool - fromPool);
  const total = fromBonded + fromPool;
  await burnNativeSupply(s, STAKING_ADDRESS, total);
  await s.store(SLOTS.totalSlashed, (await s.load(SLOTS.totalSlashed)) + total);
  return total;
}

/** The operator's own stake with its validator. */
export async function selfStake(s: ModuleState, v: ValidatorRecord): Promise<bigint> {
  return delegatedAmount(v, new DelegationRecord(s, v.operator, v.operator));
}
