import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToHex } from "../../primitives/bytes.js";
import { validatorAddress } from "../../primitives/validatorSet.js";
import { type AbiType, type AbiValue, arrayOf, tupleOf, typeString, uintWord, wordToBigInt } from "../abi.js";
import type { FunctionDef, ModuleCall } from "../host.js";
import type { GenesisContext, NativeModule } from "../registry.js";
import { SystemCall } from "../system.js";
import { mintNativeSupply } from "../wazr/index.js";
import { StakingErrors } from "./errors.js";
import { StakingEvents } from "./events.js";
import { missedBlocks, resetSigning, stakingEndBlock } from "./hooks.js";
import { bond, delegatedAmount, enqueueUnbonding, STAKING_ADDRESS, selfStake, settle, unbond } from "./ledger.js";
import {
  BPS,
  POWER_REDUCTION,
  parseStakingGenesis,
  STAKING_PARAM_NAMES,
  StakingParamReader,
  writeStakingParams,
} from "./params.js";
import {
  activeSet,
  candidates,
  D,
  DelegationRecord,
  Flag,
  MAX_CANDIDATES,
  operatorOf,
  SLOTS,
  setActiveSet,
  setOperatorOf,
  V,
  ValidatorRecord,
} from "./storage.js";

export { stakingEndBlock } from "./hooks.js";
export { STAKING_ADDRESS } from "./ledger.js";
export {
  checkStakingParam,
  POWER_REDUCTION,
  type StakingParams,
  stakingParamByKey,
  writeStakingParam,
} from "./params.js";

/** Base gas per function (before storage and log costs; README.md). */
export const STAKING_GAS = {
  view: 300n,
  create: 20_000n,
  /** One ed25519 verification (the consensus key's proof of possession). */
  keyProof: 3_000n,
  edit: 3_000n,
  delegate: 5_000n,
  redelegate: 8_000n,
  withdraw: 3_000n,
  unjail: 3_000n,
} as const;

const MAX_MONIKER_BYTES = 64;
/** A commission may change once a day, and rise by at most 1 percentage point at a time. */
const COMMISSION_CHANGE_INTERVAL = 86_400n;
const MAX_COMMISSION_RISE_BPS = 100n;

/** The message a consensus key signs to prove its operator holds it (domain, chain id, operator). */
export function keyProofMessage(chainId: bigint, operator: Uint8Array): Uint8Array {
  const domain = new TextEncoder().encode("azora:validator-key:");
  const out = new Uint8Array(domain.length + 8 + 20);
  out.set(domain);
  new DataView(out.buffer).setBigUint64(domain.length, chainId);
  out.set(operator, domain.length + 8);
  return out;
}

class Ctx {
  readonly params: StakingParamReader;
  private readonly records = new Map<string, ValidatorRecord>();
  constructor(readonly call: ModuleCall) {
    this.params = new StakingParamReader(call);
  }
  get caller(): Uint8Array {
    return this.call.caller.bytes;
  }
  validator(op: Uint8Array): ValidatorRecord {
    const k = bytesToHex(op);
    let v = this.records.get(k);
    if (v === undefined) {
      v = new ValidatorRecord(this.call, op);
      this.records.set(k, v);
    }
    return v;
  }
  async existing(op: Uint8Array): Promise<ValidatorRecord> {
    const v = this.validator(op);
    if (!(await v.exists())) throw StakingErrors.validatorNotFound(op);
    return v;
  }
  async requireConfigured(): Promise<void> {
    if ((await this.params.get("maxValidators")) === 0n) throw StakingErrors.notConfigured();
  }
}

function checkMoniker(moniker: string): void {
  const n = new TextEncoder().encode(moniker).length;
  if (n === 0 || n > MAX_MONIKER_BYTES) throw StakingErrors.invalidMoniker();
}

async function createValidator(ctx: Ctx, key: Uint8Array, commissionBps: bigint, moniker: string, proof: Uint8Array) {
  await ctx.requireConfigured();
  const op = ctx.caller;
  const v = ctx.validator(op);
  if (await v.exists()) throw StakingErrors.validatorExists(op);
  if (commissionBps > BPS) throw StakingErrors.invalidCommission(commissionBps);
  checkMoniker(moniker);
  const consensus = validatorAddress(key);
  if ((await operatorOf(ctx.call, consensus)) !== null) throw StakingErrors.keyInUse(key);
  ctx.call.charge(STAKING_GAS.keyProof);
  let ok = false;
  try {
    ok = proof.length === 64 && ed25519.verify(proof, keyProofMessage(ctx.call.evm.common.chainId(), op), key);
  } catch {
    ok = false; // not a point on the curve
  }
  if (!ok) throw StakingErrors.invalidKeyProof();
  const min = await ctx.params.get("minSelfStake");
  if (ctx.call.value < min) throw StakingErrors.selfStakeTooLow(ctx.call.value, min);
  const list = candidates(ctx.call);
  if ((await list.count()) >= MAX_CANDIDATES) throw StakingErrors.tooManyValidators(BigInt(MAX_CANDIDATES));
  await v.set(V.PubKey, wordToBigInt(key));
  await v.setStatus({
    commissionBps,
    flags: Flag.Exists,
    jailedUntil: 0n,
    lastCommissionChange: ctx.call.blockTimestamp(),
    power: 0n,
  });
  await v.w.setString(V.Moniker, moniker);
  await setOperatorOf(ctx.call, consensus, op);
  await list.add(op);
  await bond(ctx.call, v, new DelegationRecord(ctx.call, op, op), ctx.call.value);
  StakingEvents.ValidatorCreated(ctx.call, [op], [key, commissionBps, moniker, ctx.call.value]);
  return [true];
}

async function editValidator(ctx: Ctx, commissionBps: bigint, moniker: string) {
  const v = await ctx.existing(ctx.caller);
  const st = await v.status();
  if ((st.flags & Flag.Tombstoned) !== 0) throw StakingErrors.tombstoned(ctx.caller);
  if (commissionBps > BPS) throw StakingErrors.invalidCommission(commissionBps);
  if (commissionBps !== st.commissionBps) {
    const notBefore = st.lastCommissionChange + COMMISSION_CHANGE_INTERVAL;
    if (ctx.call.blockTimestamp() < notBefore || commissionBps > st.commissionBps + MAX_COMMISSION_RISE_BPS) {
      throw StakingErrors.commissionChange(st.commissionBps, commissionBps, notBefore);
    }
    await v.setStatus({ ...st, commissionBps, lastCommissionChange: ctx.call.blockTimestamp() });
  }
  if (moniker.length > 0) {
    checkMoniker(moniker);
    await v.w.setString(V.Moniker, moniker);
  }
  StakingEvents.ValidatorEdited(
    ctx.call,
    [ctx.caller],
    [commissionBps, moniker.length > 0 ? moniker : await v.w.getString(V.Moniker)],
  );
  return [true];
}

async function delegate(ctx: Ctx, op: Uint8Array) {
  await ctx.requireConfigured();
  const v = await ctx.existing(op);
  if (((await v.status()).flags & Flag.Tombstoned) !== 0) throw StakingErrors.tombstoned(op);
  const shares = await bond(ctx.call, v, new DelegationRecord(ctx.call, ctx.caller, op), ctx.call.value);
  StakingEvents.Delegated(ctx.call, [ctx.caller, op], [ctx.call.value, shares]);
  return [shares];
}

async function undelegate(ctx: Ctx, op: Uint8Array, amount: bigint) {
  const v = await ctx.existing(op);
  const d = new DelegationRecord(ctx.call, ctx.caller, op);
  await unbond(ctx.call, v, d, amount);
  const completion = await enqueueUnbonding(ctx.call, ctx.params, v, d, amount);
  StakingEvents.Undelegated(ctx.call, [ctx.caller, op], [amount, completion]);
  return [completion];
}

async function redelegate(ctx: Ctx, from: Uint8Array, to: Uint8Array, amount: bigint) {
  if (bytesToHex(from) === bytesToHex(to)) throw StakingErrors.sameValidator();
  const src = await ctx.existing(from);
  const dst = await ctx.existing(to);
  const srcFlags = (await src.status()).flags;
  // Stake of a jailed validator leaves only through unbonding, which stays slashable.
  if ((srcFlags & Flag.Tombstoned) !== 0) throw StakingErrors.tombstoned(from);
  if ((srcFlags & Flag.Jailed) !== 0) throw StakingErrors.jailed(from);
  if (((await dst.status()).flags & Flag.Tombstoned) !== 0) throw StakingErrors.tombstoned(to);
  await unbond(ctx.call, src, new DelegationRecord(ctx.call, ctx.caller, from), amount);
  await bond(ctx.call, dst, new DelegationRecord(ctx.call, ctx.caller, to), amount);
  StakingEvents.Redelegated(ctx.call, [ctx.caller, from, to], [amount]);
  return [true];
}

async function withdrawRewards(ctx: Ctx, op: Uint8Array) {
  const v = await ctx.existing(op);
  const d = new DelegationRecord(ctx.call, ctx.caller, op);
  await settle(v, d);
  const rewards = await d.get(D.Credited);
  let commission = 0n;
  if (bytesToHex(op) === bytesToHex(ctx.caller)) commission = await v.get(V.Commission);
  if (rewards === 0n && commission === 0n) throw StakingErrors.nothingToWithdraw();
  const me = new Address(ctx.caller);
  if (rewards > 0n) {
    await d.set(D.Credited, 0n);
    await v.set(V.RewardPool, (await v.get(V.RewardPool)) - rewards);
    await ctx.call.moveNative(STAKING_ADDRESS, me, rewards);
    StakingEvents.RewardsWithdrawn(ctx.call, [ctx.caller, op], [rewards]);
  }
  if (commission > 0n) {
    await v.set(V.Commission, 0n);
    await ctx.call.moveNative(STAKING_ADDRESS, me, commission);
    StakingEvents.CommissionWithdrawn(ctx.call, [op], [commission]);
  }
  return [rewards + commission];
}

async function unjail(ctx: Ctx) {
  const op = ctx.caller;
  const v = await ctx.existing(op);
  const st = await v.status();
  if ((st.flags & Flag.Tombstoned) !== 0) throw StakingErrors.tombstoned(op);
  if ((st.flags & Flag.Jailed) === 0) throw StakingErrors.notJailed(op);
  if (ctx.call.blockTimestamp() < st.jailedUntil) throw StakingErrors.stillJailed(op, st.jailedUntil);
  const min = await ctx.params.get("minSelfStake");
  const own = await selfStake(ctx.call, v);
  if (own < min) throw StakingErrors.selfStakeTooLow(own, min);
  await v.setStatus({ ...st, flags: st.flags & ~Flag.Jailed, jailedUntil: 0n });
  await resetSigning(v, await ctx.params.get("signedBlocksWindow"));
  StakingEvents.Unjailed(ctx.call, [op], []);
  return [true];
}

// --- views ---------------------------------------------------------------------------------------

export const VALIDATOR_INFO = tupleOf(
  "address",
  "bytes32",
  "address",
  "string",
  "uint16",
  "uint256",
  "uint256",
  "uint256",
  "uint256",
  "uint256",
  "uint64",
  "bool",
  "bool",
  "bool",
  "uint64",
  "uint64",
);
export const DELEGATION_INFO = tupleOf("uint256", "uint256", "uint256", "uint256", "uint8");
export const STAKING_PARAMS_TUPLE = tupleOf(...STAKING_PARAM_NAMES.map(() => "uint256" as AbiType));
export const STAKING_TOTALS = tupleOf("uint256", "uint256", "uint256", "uint256");

async function validatorView(ctx: Ctx, op: Uint8Array): Promise<AbiValue> {
  const v = ctx.validator(op);
  const st = await v.status();
  if ((st.flags & Flag.Exists) === 0) throw StakingErrors.validatorNotFound(op);
  const key = uintWord(await v.get(V.PubKey));
  const signing = await v.get(V.Signing);
  return [
    op,
    key,
    validatorAddress(key),
    await v.w.getString(V.Moniker),
    st.commissionBps,
    await v.get(V.Tokens),
    await v.get(V.Shares),
    await selfStake(ctx.call, v),
    await v.get(V.UnbondTokens),
    await v.get(V.Commission),
    st.power,
    (st.flags & Flag.Active) !== 0,
    (st.flags & Flag.Jailed) !== 0,
    (st.flags & Flag.Tombstoned) !== 0,
    st.jailedUntil > 2n ** 64n - 1n ? 2n ** 64n - 1n : st.jailedUntil,
    missedBlocks(signing),
  ];
}

async function delegationView(ctx: Ctx, delegator: Uint8Array, op: Uint8Array): Promise<AbiValue> {
  const v = ctx.validator(op);
  const d = new DelegationRecord(ctx.call, delegator, op);
  const shares = await d.get(D.Shares);
  const acc = await v.get(V.Acc);
  const pending = (await d.get(D.Credited)) + (shares * (acc - (await d.get(D.AccStart)))) / 10n ** 36n;
  const poolShares = await v.get(V.UnbondShares);
  const mine = await d.get(D.UnbondShares);
  const unbonding = poolShares === 0n ? 0n : (mine * (await v.get(V.UnbondTokens))) / poolShares;
  return [shares, await delegatedAmount(v, d), pending, unbonding, await d.get(D.UnbondEntries)];
}

async function totalsView(ctx: Ctx): Promise<AbiValue> {
  let bonded = 0n;
  for (const op of await activeSet(ctx.call)) bonded += await ctx.validator(op).get(V.Tokens);
  return [
    bonded,
    await ctx.call.load(SLOTS.totalMinted),
    await ctx.call.load(SLOTS.totalSlashed),
    await ctx.call.load(SLOTS.pendingFees),
  ];
}

type Run = (ctx: Ctx, args: AbiValue[]) => Promise<AbiValue[]>;

function fn(
  name: string,
  inputs: AbiType[],
  outputs: AbiType[],
  gas: bigint,
  run: Run,
  opts: { view?: boolean; payable?: boolean } = {},
): FunctionDef {
  return {
    sig: `${name}(${inputs.map(typeString).join(",")})`,
    inputs,
    outputs,
    mutates: opts.view !== true,
    payable: opts.payable,
    gas,
    run: (call: ModuleCall, args: AbiValue[]) => run(new Ctx(call), args),
  };
}

const G = STAKING_GAS;
const A = (x: AbiValue) => x as Uint8Array;
const N = (x: AbiValue) => x as bigint;

const functions: FunctionDef[] = [
  fn(
    "createValidator",
    ["bytes32", "uint16", "string", "bytes"],
    ["bool"],
    G.create,
    (ctx, [key, c, m, proof]) => createValidator(ctx, A(key), N(c), m as string, A(proof)),
    { payable: true },
  ),
  fn("editValidator", ["uint16", "string"], ["bool"], G.edit, (ctx, [c, m]) => editValidator(ctx, N(c), m as string)),
  fn("delegate", ["address"], ["uint256"], G.delegate, (ctx, [v]) => delegate(ctx, A(v)), { payable: true }),
  fn("undelegate", ["address", "uint256"], ["uint64"], G.delegate, (ctx, [v, a]) => undelegate(ctx, A(v), N(a))),
  fn("redelegate", ["address", "address", "uint256"], ["bool"], G.redelegate, (ctx, [f, t, a]) =>
    redelegate(ctx, A(f), A(t), N(a)),
  ),
  fn("withdrawRewards", ["address"], ["uint256"], G.withdraw, (ctx, [v]) => withdrawRewards(ctx, A(v))),
  fn("unjail", [], ["bool"], G.unjail, (ctx) => unjail(ctx)),
  fn("validator", ["address"], [VALIDATOR_INFO], G.view, async (ctx, [v]) => [await validatorView(ctx, A(v))], {
    view: true,
  }),
  fn(
    "delegation",
    ["address", "address"],
    [DELEGATION_INFO],
    G.view,
    async (ctx, [d, v]) => [await delegationView(ctx, A(d), A(v))],
    { view: true },
  ),
  fn("validators", [], [arrayOf("address")], G.view, async (ctx) => [await candidates(ctx.call).all()], { view: true }),
  fn("activeValidators", [], [arrayOf("address")], G.view, async (ctx) => [await activeSet(ctx.call)], {
    view: true,
  }),
  fn(
    "validatorByConsensusAddress",
    ["address"],
    ["address"],
    G.view,
    async (ctx, [a]) => [(await operatorOf(ctx.call, A(a))) ?? new Uint8Array(20)],
    { view: true },
  ),
  fn("params", [], [STAKING_PARAMS_TUPLE], G.view, async (ctx) => [Object.values(await ctx.params.all())], {
    view: true,
  }),
  fn("totals", [], [STAKING_TOTALS], G.view, async (ctx) => [await totalsView(ctx)], { view: true }),
];

/**
 * Genesis: parameters from `modules.staking`; every genesis validator becomes a self-staked
 * validator of the module (power p = p AZR of self-stake, minted into the module and the supply),
 * active from block 1. Each needs `operator` in genesis.
 */
async function stakingGenesis(state: MerkleStateManager, raw: unknown, context: GenesisContext): Promise<void> {
  if (raw === undefined) return;
  const g = parseStakingGenesis(raw);
  if (BigInt(context.validators.length) > g.params.maxValidators) {
    throw new Error("invalid genesis: modules.staking.maxValidators: below the number of genesis validators");
  }
  const s = new SystemCall(state, STAKING_ADDRESS, { number: 0n, timestamp: 0n });
  await writeStakingParams(s, g.params);
  const ops: Uint8Array[] = [];
  for (const [i, gv] of context.validators.entries()) {
    if (gv.operator === null)
      throw new Error(`invalid genesis: validators[${i}].operator: required with modules.staking`);
    const stake = gv.power * POWER_REDUCTION;
    if (stake < g.params.minSelfStake) {
      throw new Error(`invalid genesis: validators[${i}].power: its self-stake is below modules.staking.minSelfStake`);
    }
    const v = new ValidatorRecord(s, gv.operator);
    if (await v.exists()) throw new Error(`invalid genesis: validators[${i}].operator: operates two validators`);
    await v.set(V.PubKey, wordToBigInt(gv.publicKey));
    await v.setStatus({
      commissionBps: g.genesisCommissionBps,
      flags: Flag.Exists | Flag.Active,
      jailedUntil: 0n,
      lastCommissionChange: 0n,
      power: gv.power,
    });
    await v.w.setString(V.Moniker, gv.name.length > 0 ? gv.name.slice(0, MAX_MONIKER_BYTES) : `validator-${i}`);
    await setOperatorOf(s, validatorAddress(gv.publicKey), gv.operator);
    await candidates(s).add(gv.operator);
    await mintNativeSupply(s, STAKING_ADDRESS, stake);
    await bond(s, v, new DelegationRecord(s, gv.operator, gv.operator), stake);
    ops.push(gv.operator);
  }
  await setActiveSet(s, ops);
  await s.store(SLOTS.lastRewardTime, context.genesisTime);
}

export const stakingModule: NativeModule = {
  address: STAKING_ADDRESS,
  def: { name: "Staking", functions },
  genesis: stakingGenesis,
  endBlock: stakingEndBlock,
};
