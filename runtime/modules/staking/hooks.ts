import type { BlockInfo, EndBlockContext, ValidatorUpdate } from "../../effects.js";
import { bytesToHex, equalsBytes } from "../../primitives/bytes.js";
import { validatorAddress } from "../../primitives/validatorSet.js";
import { uintWord } from "../abi.js";
import { GOVERNANCE_ADDRESS } from "../registry.js";
import type { ModuleState } from "../state.js";
import { SystemCall } from "../system.js";
import { mintNativeSupply, WAZR_ADDRESS, WAZR_SUPPLY_SLOT } from "../wazr/index.js";
import { payMatured, STAKING_ADDRESS, selfStake, slash } from "./ledger.js";
import { BPS, POWER_REDUCTION, StakingParamReader } from "./params.js";
import {
  ACC_SCALE,
  activeSet,
  candidates,
  Flag,
  operatorOf,
  SLOTS,
  setActiveSet,
  V,
  ValidatorRecord,
} from "./storage.js";

/** 365.25 days: inflation accrues per second of block time. */
const YEAR_SECONDS = 31_557_600n;

class Validators {
  private readonly cache = new Map<string, ValidatorRecord>();
  constructor(private readonly s: ModuleState) {}
  of = (operator: Uint8Array): ValidatorRecord => {
    const k = bytesToHex(operator);
    let v = this.cache.get(k);
    if (v === undefined) {
      v = new ValidatorRecord(this.s, operator);
      this.cache.set(k, v);
    }
    return v;
  };
}

/** Evidence: each equivocation slashes and tombstones (evidence older than the unbonding period is ignored). */
async function punishEquivocations(
  s: ModuleState,
  params: StakingParamReader,
  vs: Validators,
  misbehavior: BlockInfo["misbehavior"],
): Promise<void> {
  for (const m of misbehavior) {
    const op = await operatorOf(s, m.validator.address);
    if (op === null) continue;
    if (m.time !== undefined && s.blockTimestamp() > m.time + (await params.get("unbondingPeriod"))) continue;
    const v = vs.of(op);
    const st = await v.status();
    if ((st.flags & Flag.Tombstoned) !== 0) continue; // punished once per validator
    await slash(s, v, await params.get("doubleSignSlashBps"));
    await v.setStatus({ ...st, flags: st.flags | Flag.Jailed | Flag.Tombstoned, jailedUntil: 2n ** 64n - 1n });
    await candidates(s).remove(op);
  }
}

/**
 * End of block (after its transactions): equivocations punished, the block's tips and the inflation
 * since the last payment to the validators that signed its parent, downtime tracking, matured
 * unbondings paid, and at an epoch boundary the new active set. Work is bounded by the parent's set
 * size, the block's evidence, MATURE_PER_BLOCK and (at epochs) the candidate count — never by the
 * number of delegators.
 */
export async function stakingEndBlock(ctx: EndBlockContext): Promise<{ validatorUpdates: ValidatorUpdate[] }> {
  const s = new SystemCall(ctx.state, STAKING_ADDRESS, ctx.env);
  const params = new StakingParamReader(s);
  if ((await params.get("maxValidators")) === 0n) return { validatorUpdates: [] };
  const vs = new Validators(s);
  await punishEquivocations(s, params, vs, ctx.info.misbehavior);
  if (equalsBytes(ctx.env.miner, STAKING_ADDRESS.bytes) && ctx.tips > 0n) {
    await s.store(SLOTS.pendingFees, (await s.load(SLOTS.pendingFees)) + ctx.tips);
  }
  const votes = ctx.info.lastCommit.map((c) => ({
    address: c.validator.address,
    power: c.validator.votingPower,
    signed: c.signed,
  }));
  await distributeRewards(s, params, vs, votes);
  await trackDowntime(s, params, vs, votes);
  await payMatured(s, vs.of);
  if (s.blockNumber() % (await params.get("epochLength")) !== 0n) return { validatorUpdates: [] };
  return { validatorUpdates: await updateActiveSet(s, params, vs) };
}

interface CommitVote {
  address: Uint8Array;
  power: bigint;
  signed: boolean;
}

/** Pays pending tips plus inflation since the last payment to the signers, pro rata to power. */
async function distributeRewards(
  s: ModuleState,
  params: StakingParamReader,
  vs: Validators,
  votes: CommitVote[],
): Promise<void> {
  const signers: { v: ValidatorRecord; power: bigint }[] = [];
  let signedPower = 0n;
  for (const vote of votes) {
    if (!vote.signed || vote.power === 0n) continue;
    const op = await operatorOf(s, vote.address);
    if (op === null) continue;
    signers.push({ v: vs.of(op), power: vote.power });
    signedPower += vote.power;
  }
  // Nobody to pay (height 1, or a set the module does not know): tips and time carry over.
  if (signedPower === 0n) return;
  const now = s.blockTimestamp();
  const last = await s.load(SLOTS.lastRewardTime);
  let minted = 0n;
  if (now > last) {
    const supply = await s.load(WAZR_SUPPLY_SLOT, WAZR_ADDRESS);
    minted = (supply * (await params.get("inflationBps")) * (now - last)) / (BPS * YEAR_SECONDS);
    await s.store(SLOTS.lastRewardTime, now);
  }
  if (minted > 0n) {
    await mintNativeSupply(s, STAKING_ADDRESS, minted);
    await s.store(SLOTS.totalMinted, (await s.load(SLOTS.totalMinted)) + minted);
  }
  const fees = await s.load(SLOTS.pendingFees);
  if (fees > 0n) await s.store(SLOTS.pendingFees, 0n);
  const total = fees + minted;
  if (total === 0n) return;
  const tax = (total * (await params.get("communityTaxBps"))) / BPS;
  const pot = total - tax;
  let paid = 0n;
  for (const { v, power } of signers) {
    const share = (pot * power) / signedPower;
    if (share === 0n) continue;
    paid += share;
    const commission = (share * (await v.status()).commissionBps) / BPS;
    const shares = await v.get(V.Shares);
    const toDelegators = shares === 0n ? 0n : share - commission;
    await v.set(V.Commission, (await v.get(V.Commission)) + share - toDelegators);
    if (toDelegators > 0n) {
      await v.set(V.Acc, (await v.get(V.Acc)) + (toDelegators * ACC_SCALE) / shares);
      await v.set(V.RewardPool, (await v.get(V.RewardPool)) + toDelegators);
    }
  }
  // The tax and the rounding remainder of the split go to the community treasury.
  await s.moveNative(STAKING_ADDRESS, GOVERNANCE_ADDRESS, total - paid);
}

/** The downtime window: one bit per block each validator of the parent's set was expected to sign. */
async function trackDowntime(
  s: ModuleState,
  params: StakingParamReader,
  vs: Validators,
  votes: CommitVote[],
): Promise<void> {
  const window = await params.get("signedBlocksWindow");
  // Jailed once the missed blocks reach the allowed share ("missed ≥ 50 % of the window" by default).
  const limitRaw = window * (BPS - (await params.get("minSignedBps")));
  const limit = limitRaw === 0n ? 1n : (limitRaw + BPS - 1n) / BPS;
  for (const vote of votes) {
    const op = await operatorOf(s, vote.address);
    if (op === null) continue;
    const v = vs.of(op);
    const st = await v.status();
    if ((st.flags & Flag.Jailed) !== 0) continue;
    let signing = await v.get(V.Signing);
    const recordedWindow = signingWindow(signing);
    if (recordedWindow !== 0n && recordedWindow !== window) {
      // Governance changed the window: the bitmap's positions and the missed count belong to the old one, and a
      // shrink would leave stale misses counted (jailing an honest validator). Start the new window clean.
      await resetSigning(v, recordedWindow > window ? recordedWindow : window);
      signing = 0n;
    }
    const counted = signing & U64;
    let missed = (signing >> 64n) & U32;
    const index = counted % window;
    const field = V.Bitmap + Number(index / 256n);
    const bit = 1n << (index % 256n);
    const word = await v.get(field);
    const wasMissed = (word & bit) !== 0n;
    if (wasMissed !== !vote.signed) {
      await v.set(field, vote.signed ? word & ~bit : word | bit);
      missed = vote.signed ? missed - 1n : missed + 1n;
    }
    if (counted + 1n >= window && missed >= limit) {
      await slash(s, v, await params.get("downtimeSlashBps"));
      const until = s.blockTimestamp() + (await params.get("downtimeJailSeconds"));
      await v.setStatus({ ...st, flags: st.flags | Flag.Jailed, jailedUntil: until });
      await resetSigning(v, window);
      continue;
    }
    await v.set(V.Signing, (counted + 1n) | (missed << 64n) | (window << 96n));
  }
}

const U64 = (1n << 64n) - 1n;
const U32 = (1n << 32n) - 1n;

/** The window a signing record was counted under (0: cleared, or written before the window was recorded). */
function signingWindow(signing: bigint): bigint {
  return (signing >> 96n) & U64;
}

/** The blocks a validator missed in its current downtime window. */
export function missedBlocks(signing: bigint): bigint {
  return (signing >> 64n) & U32;
}

/** Clears a validator's downtime window (on jailing, unjailing, joining the set and a change of the window). */
export async function resetSigning(v: ValidatorRecord, window: bigint): Promise<void> {
  await v.set(V.Signing, 0n);
  for (let i = 0n; i * 256n < window; i++) await v.set(V.Bitmap + Number(i), 0n);
}

/**
 * The epoch's set: eligible candidates (not jailed, self-stake ≥ minSelfStake, at least one power)
 * ranked by bonded stake (ties by consensus address), the top `maxValidators`; the differences from
 * the current set are returned as updates. A set that would be empty is not applied.
 */
async function updateActiveSet(s: ModuleState, params: StakingParamReader, vs: Validators): Promise<ValidatorUpdate[]> {
  const minSelf = await params.get("minSelfStake");
  const ranked: { op: Uint8Array; tokens: bigint; key: Uint8Array; addr: Uint8Array }[] = [];
  for (const op of await candidates(s).all()) {
    const v = vs.of(op);
    const st = await v.status();
    if ((st.flags & (Flag.Jailed | Flag.Tombstoned)) !== 0) continue;
    const tokens = await v.get(V.Tokens);
    if (tokens < POWER_REDUCTION) continue;
    if ((await selfStake(s, v)) < minSelf) continue;
    const key = uintWord(await v.get(V.PubKey));
    ranked.push({ op, tokens, key, addr: validatorAddress(key) });
  }
  ranked.sort((a, b) => (a.tokens !== b.tokens ? (a.tokens > b.tokens ? -1 : 1) : Buffer.compare(a.addr, b.addr)));
  const next = ranked.slice(0, Number(await params.get("maxValidators")));
  if (next.length === 0) return [];
  const window = await params.get("signedBlocksWindow");
  const updates: ValidatorUpdate[] = [];
  const chosen = new Set(next.map((n) => bytesToHex(n.op)));
  for (const op of await activeSet(s)) {
    if (chosen.has(bytesToHex(op))) continue;
    const v = vs.of(op);
    const st = await v.status();
    await v.setStatus({ ...st, flags: st.flags & ~Flag.Active, power: 0n });
    const key = uintWord(await v.get(V.PubKey));
    updates.push({ publicKey: key, power: 0n, feeRecipient: STAKING_ADDRESS.bytes });
  }
  for (const n of next) {
    const v = vs.of(n.op);
    const st = await v.status();
    const power = n.tokens / POWER_REDUCTION;
    if ((st.flags & Flag.Active) === 0) await resetSigning(v, window);
    if ((st.flags & Flag.Active) !== 0 && st.power === power) continue;
    await v.setStatus({ ...st, flags: st.flags | Flag.Active, power });
    updates.push({ publicKey: n.key, power, feeRecipient: STAKING_ADDRESS.bytes });
  }
  await setActiveSet(
    s,
    next.map((n) => n.op),
  );
  return updates.sort((a, b) => Buffer.compare(validatorAddress(a.publicKey), validatorAddress(b.publicKey)));
}
