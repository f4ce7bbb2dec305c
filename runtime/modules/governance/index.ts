import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import type { BlockEffects, EndBlockContext, UpgradePlan } from "../../effects.js";
import type { ChainParamsPatch } from "../../params.js";
import { keccak256 } from "../../primitives/hash.js";
import { type AbiType, type AbiValue, arrayOf, encodeArgs, tupleOf, typeString } from "../abi.js";
import { addressTopic, isZeroAddress } from "../erc20Events.js";
import type { FunctionDef, ModuleCall } from "../host.js";
import { issuerSlot } from "../learn/ledger.js";
import { MARKET_PARAM_BOUNDS, type MarketParams, setMarketParam } from "../market/params.js";
import { GOVERNANCE_ADDRESS, MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";
import { checkStakingParam, stakingParamByKey, writeStakingParam } from "../staking/params.js";
import { atAccount, type ModuleState } from "../state.js";
import { SystemCall } from "../system.js";
import { burnNativeSupply } from "../wazr/index.js";
import { GovErrors } from "./errors.js";
import { GovEvents } from "./events.js";
import {
  CHAIN_PARAM_DEFS,
  CHAIN_PARAM_NAMES,
  dropDue,
  GOV_BPS,
  GOV_PARAM_DEFS,
  GOV_PARAM_NAMES,
  GovParamReader,
  type GovParams,
  PARAM_CHANGE_DELAY,
  pendingChanges,
  schedule,
  writeGovParam,
} from "./params.js";
import {
  type Action,
  ActionKind,
  depositSlot,
  GOV,
  MAX_ACTIONS,
  MAX_VOTING,
  ProposalRecord,
  Status,
  setVotingIds,
  VoteOption,
  voteOfSlot,
  votingIds,
} from "./storage.js";
import { castVote, tally } from "./votes.js";

export { CHAIN_PARAM_DEFS, CHAIN_PARAM_NAMES, PARAM_CHANGE_DELAY } from "./params.js";
export { ActionKind, Status as ProposalStatus, VoteOption } from "./storage.js";
export { GOVERNANCE_ADDRESS };

/**
 * Governance (`0x…0A07`, `contracts/interfaces/IGovernance.sol`): proposals with a deposit, votes
 * weighted by bonded stake (delegators inherit their validator's vote unless they vote), Cosmos
 * x/gov's rules (quorum, threshold, veto), a timelock, then actions: chain parameters, staking,
 * slashing, market and governance parameters, LEARN issuers, treasury spends and upgrade plans.
 */
export const GOV_GAS = {
  view: 300n,
  propose: 10_000n,
  deposit: 3_000n,
  vote: 3_000n,
  execute: 10_000n,
  claim: 2_000n,
} as const;

const MAX_DESCRIPTION_BYTES = 1024;
/** Proposals tallied per block at most (the rest wait for the next blocks). */
const TALLIES_PER_BLOCK = 2;
const STAKING = moduleAddress(MODULE_ADDRESS.staking);
const MARKET = moduleAddress(MODULE_ADDRESS.market);
const LEARN = moduleAddress(MODULE_ADDRESS.learn);
const ISSUER_SET_TOPIC = keccak256(new TextEncoder().encode("IssuerSet(address,bool)"));

export const ACTION = tupleOf("uint8", "bytes32", "uint256", "address", "string");
export const PROPOSAL_VIEW = tupleOf(
  "uint256",
  "address",
  "uint8",
  arrayOf(ACTION),
  "string",
  "uint64",
  "uint64",
  "uint64",
  "uint64",
  "uint64",
  "uint256",
  "uint256",
  "uint256",
  "uint256",
  "uint256",
);

/** A bytes32 key as its text (trailing zero bytes dropped). */
export function keyText(key: Uint8Array): string {
  let n = key.length;
  while (n > 0 && key[n - 1] === 0) n--;
  return new TextDecoder().decode(key.subarray(0, n));
}

type Target =
  | { kind: "chain"; name: string }
  | { kind: "gov"; name: keyof GovParams }
  | { kind: "staking"; name: Parameters<typeof writeStakingParam>[1] }
  | { kind: "market"; name: keyof MarketParams };

function paramTarget(key: string): Target | null {
  for (const n of CHAIN_PARAM_NAMES) if (CHAIN_PARAM_DEFS[n].key === key) return { kind: "chain", name: n };
  for (const n of GOV_PARAM_NAMES) if (GOV_PARAM_DEFS[n].key === key) return { kind: "gov", name: n };
  const st = stakingParamByKey(key);
  if (st !== undefined) return { kind: "staking", name: st.name };
  if (key.startsWith("market.")) return { kind: "market", name: key.slice(7) as keyof MarketParams };
  return null;
}

/**
 * Why `a` cannot be executed now, or null. `spent` accumulates treasury spends of earlier actions;
 * `incoming` is AZR already credited to the account by the running call (a deposit, not treasury).
 */
async function checkAction(
  s: ModuleState,
  a: Action,
  spent: { total: bigint; incoming: bigint },
): Promise<string | null> {
  switch (a.kind) {
    case ActionKind.SetParam: {
      const key = keyText(a.key);
      const t = paramTarget(key);
      if (t === null) return `unknown parameter ${key}`;
      if (t.kind === "chain" || t.kind === "gov") {
        const d = t.kind === "chain" ? CHAIN_PARAM_DEFS[t.name] : GOV_PARAM_DEFS[t.name];
        if (a.value < d.min || a.value > d.max) return `${key} must be between ${d.min} and ${d.max}`;
        return null;
      }
      if (t.kind === "staking") return checkStakingParam(t.name, a.value);
      if (t.name !== "feeRecipient" && !(t.name in MARKET_PARAM_BOUNDS)) return `unknown parameter ${key}`;
      return setMarketParam(atAccount(s, MARKET) as unknown as ModuleCall, t.name, a.value, true);
    }
    case ActionKind.SetLearnIssuer:
      if (isZeroAddress(a.target)) return "issuer must not be the zero address";
      if (a.value > 1n) return "value must be 1 (grant) or 0 (revoke)";
      return null;
    case ActionKind.TreasurySpend: {
      if (isZeroAddress(a.target)) return "recipient must not be the zero address";
      if (a.value === 0n) return "amount must not be zero";
      spent.total += a.value;
      const treasury = (await treasuryBalance(s)) - spent.incoming;
      if (spent.total > treasury) return `treasury holds ${treasury}, the proposal spends ${spent.total}`;
      return null;
    }
    case ActionKind.SoftwareUpgrade: {
      const name = keyText(a.key);
      if (!/^[\x21-\x7e]{1,32}$/.test(name)) return "upgrade name (key) must be 1 to 32 printable ASCII characters";
      if (!/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/.test(a.info)) {
        return "info must be the version nodes need from the upgrade height on (MAJOR.MINOR.PATCH)";
      }
      if (a.value <= s.blockNumber() + PARAM_CHANGE_DELAY) return "upgrade height must be more than 2 blocks ahead";
      if (a.value >= 2n ** 64n) return "upgrade height must fit 64 bits";
      return null;
    }
    default:
      return "unknown action kind";
  }
}

async function applyAction(s: ModuleState, a: Action): Promise<void> {
  const number = s.blockNumber();
  switch (a.kind) {
    case ActionKind.SetParam: {
      const t = paramTarget(keyText(a.key)) as Target;
      let height = number;
      if (t.kind === "chain") {
        height = number + PARAM_CHANGE_DELAY;
        await schedule(s, { name: t.name, value: a.value, height, scheduledAt: number });
      } else if (t.kind === "gov") await writeGovParam(s, t.name, a.value);
      else if (t.kind === "staking") await writeStakingParam(atAccount(s, STAKING), t.name, a.value);
      else await setMarketParam(atAccount(s, MARKET) as unknown as ModuleCall, t.name, a.value);
      GovEvents.ParamChangeScheduled(s, [a.key], [a.value, height]);
      return;
    }
    case ActionKind.SetLearnIssuer:
      await s.store(issuerSlot(a.target), a.value, LEARN);
      s.emit([ISSUER_SET_TOPIC, addressTopic(a.target)], encodeArgs(["bool"], [a.value === 1n]), LEARN);
      return;
    case ActionKind.TreasurySpend:
      await s.moveNative(GOVERNANCE_ADDRESS, new Address(a.target), a.value);
      GovEvents.TreasurySpent(s, [a.target], [a.value]);
      return;
    case ActionKind.SoftwareUpgrade:
      await s.storeString(GOV.upgradeName, keyText(a.key));
      await s.storeString(GOV.upgradeInfo, a.info);
      await s.store(GOV.upgradeWhen, a.value | (number << 64n));
      GovEvents.UpgradeScheduled(s, [], [keyText(a.key), a.value, a.info]);
      return;
  }
}

async function treasuryBalance(s: ModuleState): Promise<bigint> {
  return (await s.balanceOf(GOVERNANCE_ADDRESS)) - (await s.load(GOV.depositsHeld, GOVERNANCE_ADDRESS));
}

function decodeActions(raw: AbiValue[]): Action[] {
  return raw.map((r) => {
    const [kind, key, value, target, info] = r as AbiValue[];
    return {
      kind: Number(kind as bigint),
      key: key as Uint8Array,
      value: value as bigint,
      target: target as Uint8Array,
      info: info as string,
    };
  });
}

async function requireConfigured(s: ModuleState, params: GovParamReader): Promise<void> {
  if ((await params.get("minDeposit")) === 0n) throw GovErrors.notConfigured();
  void s;
}

async function existing(call: ModuleCall, id: bigint): Promise<ProposalRecord> {
  const p = new ProposalRecord(call, id);
  if ((await p.head()).status === Status.None) throw GovErrors.notFound(id);
  return p;
}

/** Adds `amount` to `id`'s deposits; voting starts when they reach minDeposit. */
async function addDeposit(call: ModuleCall, params: GovParamReader, p: ProposalRecord, amount: bigint): Promise<void> {
  const me = call.caller.bytes;
  await call.store(depositSlot(p.id, me), (await call.load(depositSlot(p.id, me))) + amount);
  await call.store(GOV.depositsHeld, (await call.load(GOV.depositsHeld)) + amount);
  const total = (await p.totalDeposit()) + amount;
  await p.setTotalDeposit(total);
  GovEvents.DepositAdded(call, [p.id, me], [amount, total]);
  if (total < (await params.get("minDeposit"))) return;
  const ids = await votingIds(call);
  if (ids.length >= MAX_VOTING) throw GovErrors.votingFull(BigInt(MAX_VOTING));
  const now = call.blockTimestamp();
  const votingEnd = now + (await params.get("votingPeriod"));
  await p.setTimes({ ...(await p.times()), votingStart: now, votingEnd });
  await p.setStatus(Status.VotingPeriod);
  await setVotingIds(call, [...ids, p.id], ids.length);
  GovEvents.VotingStarted(call, [p.id], [votingEnd]);
}

async function propose(call: ModuleCall, raw: AbiValue[], description: string): Promise<AbiValue[]> {
  const params = new GovParamReader(call);
  await requireConfigured(call, params);
  const actions = decodeActions(raw);
  if (actions.length === 0) throw GovErrors.noActions();
  if (actions.length > MAX_ACTIONS) throw GovErrors.tooManyActions(BigInt(MAX_ACTIONS));
  if (new TextEncoder().encode(description).length > MAX_DESCRIPTION_BYTES) throw GovErrors.descriptionTooLong();
  const spent = { total: 0n, incoming: call.value };
  for (const [i, a] of actions.entries()) {
    const why = await checkAction(call, a, spent);
    if (why !== null) throw GovErrors.invalidAction(BigInt(i), why);
  }
  const id = (await call.load(GOV.proposalCount)) + 1n;
  await call.store(GOV.proposalCount, id);
  const p = new ProposalRecord(call, id);
  await p.setHead({ proposer: call.caller.bytes, status: Status.DepositPeriod, actionCount: actions.length });
  const now = call.blockTimestamp();
  await p.setTimes({
    submitTime: now,
    depositEnd: now + (await params.get("depositPeriod")),
    votingStart: 0n,
    votingEnd: 0n,
  });
  for (const [i, a] of actions.entries()) await p.setAction(i, a);
  if (description.length > 0) await p.setDescription(description);
  GovEvents.ProposalSubmitted(call, [id, call.caller.bytes], [call.value, description]);
  if (call.value > 0n) await addDeposit(call, params, p, call.value);
  return [id];
}

async function deposit(call: ModuleCall, id: bigint): Promise<AbiValue[]> {
  const params = new GovParamReader(call);
  const p = await existing(call, id);
  const { status } = await p.head();
  if (status !== Status.DepositPeriod) throw GovErrors.invalidState(id, status);
  const { depositEnd } = await p.times();
  if (call.blockTimestamp() >= depositEnd) throw GovErrors.tooLate(id, depositEnd);
  if (call.value === 0n) throw GovErrors.zeroDeposit();
  await addDeposit(call, params, p, call.value);
  return [await p.totalDeposit()];
}

async function vote(call: ModuleCall, id: bigint, option: bigint): Promise<AbiValue[]> {
  if (option < BigInt(VoteOption.Yes) || option > BigInt(VoteOption.Abstain)) throw GovErrors.invalidOption(option);
  const p = await existing(call, id);
  const { status } = await p.head();
  if (status !== Status.VotingPeriod) throw GovErrors.invalidState(id, status);
  const { votingEnd } = await p.times();
  if (call.blockTimestamp() >= votingEnd) throw GovErrors.tooLate(id, votingEnd);
  await castVote(call, id, call.caller.bytes, Number(option));
  GovEvents.VoteCast(call, [id, call.caller.bytes], [option]);
  return [true];
}

async function execute(call: ModuleCall, id: bigint): Promise<AbiValue[]> {
  const p = await existing(call, id);
  const head = await p.head();
  if (head.status !== Status.Passed) throw GovErrors.invalidState(id, head.status);
  const at = await p.executableAt();
  if (call.blockTimestamp() < at) throw GovErrors.tooEarly(id, at);
  const actions: Action[] = [];
  for (let i = 0; i < head.actionCount; i++) actions.push(await p.action(i));
  // Validate all, then apply all: a proposal runs whole or not at all.
  const spent = { total: 0n, incoming: 0n };
  for (const [i, a] of actions.entries()) {
    const why = await checkAction(call, a, spent);
    if (why !== null) {
      await p.setStatus(Status.Failed);
      GovEvents.ProposalFailed(call, [id], [`action ${i}: ${why}`]);
      return [false];
    }
  }
  for (const a of actions) await applyAction(call, a);
  await p.setStatus(Status.Executed);
  GovEvents.ProposalExecuted(call, [id], []);
  return [true];
}

async function claimDeposit(call: ModuleCall, id: bigint): Promise<AbiValue[]> {
  const p = await existing(call, id);
  const { status } = await p.head();
  const expired = status === Status.DepositPeriod && call.blockTimestamp() >= (await p.times()).depositEnd;
  const over = [Status.Passed, Status.Rejected, Status.Executed, Status.Failed].includes(status);
  if (!expired && !over) throw GovErrors.invalidState(id, status);
  const me = call.caller.bytes;
  const amount = await call.load(depositSlot(id, me));
  if (amount === 0n) throw GovErrors.nothingToClaim(id, me);
  await call.store(depositSlot(id, me), 0n);
  await call.store(GOV.depositsHeld, (await call.load(GOV.depositsHeld)) - amount);
  await call.moveNative(GOVERNANCE_ADDRESS, call.caller, amount);
  GovEvents.DepositClaimed(call, [id, me], [amount]);
  return [amount];
}

async function proposalView(call: ModuleCall, id: bigint): Promise<AbiValue> {
  const p = await existing(call, id);
  const head = await p.head();
  const t = await p.times();
  let status = head.status;
  if (status === Status.DepositPeriod && call.blockTimestamp() >= t.depositEnd) status = Status.Expired;
  const actions: AbiValue[] = [];
  for (let i = 0; i < head.actionCount; i++) {
    const a = await p.action(i);
    actions.push([BigInt(a.kind), a.key, a.value, a.target, a.info]);
  }
  let votes: bigint[] = await p.tally();
  if (status === Status.VotingPeriod) {
    const live = await tally(call, id);
    votes = [live.yes, live.no, live.veto, live.abstain];
  }
  return [
    id,
    head.proposer,
    BigInt(status),
    actions,
    await p.description(),
    t.submitTime,
    t.depositEnd,
    t.votingStart,
    t.votingEnd,
    await p.executableAt(),
    await p.totalDeposit(),
    ...votes,
  ];
}

/** The upgrade plan in state (null when none was ever scheduled). */
export async function readUpgradePlan(
  s: Pick<ModuleState, "load" | "loadString">,
): Promise<(UpgradePlan & { scheduledAt: bigint }) | null> {
  const when = await s.load(GOV.upgradeWhen, GOVERNANCE_ADDRESS);
  if (when === 0n) return null;
  return {
    name: await s.loadString(GOV.upgradeName, GOVERNANCE_ADDRESS),
    version: await s.loadString(GOV.upgradeInfo, GOVERNANCE_ADDRESS),
    height: when & (2n ** 64n - 1n),
    scheduledAt: when >> 64n,
  };
}

// --- block hook ----------------------------------------------------------------------------------

/**
 * End of block: chain-parameter changes due at the next block become current; proposals whose
 * voting ended are tallied (≤ TALLIES_PER_BLOCK per block, O(active set) each); reports what this
 * block scheduled.
 */
export async function governanceEndBlock(ctx: EndBlockContext): Promise<Partial<BlockEffects>> {
  const s = new SystemCall(ctx.state, GOVERNANCE_ADDRESS, ctx.env);
  const number = ctx.env.number;
  const params = new GovParamReader(s);
  if ((await params.get("minDeposit")) === 0n) return {};
  await dropDue(s, number);
  const ids = await votingIds(s);
  const due: bigint[] = [];
  for (const id of ids) {
    if (due.length >= TALLIES_PER_BLOCK) break;
    if ((await new ProposalRecord(s, id).times()).votingEnd <= ctx.env.timestamp) due.push(id);
  }
  for (const id of due) await finishVoting(s, params, id);
  if (due.length > 0) {
    await setVotingIds(
      s,
      ids.filter((id) => !due.includes(id)),
      ids.length,
    );
  }
  // What this block scheduled (a proposal executed in it): one patch per height.
  const byHeight = new Map<bigint, ChainParamsPatch>();
  for (const c of await pendingChanges(s)) {
    if (c.scheduledAt !== number) continue;
    const patch = byHeight.get(c.height) ?? {};
    addToPatch(patch, c.name, c.value);
    byHeight.set(c.height, patch);
  }
  const plan = await readUpgradePlan(s);
  return {
    paramChanges: [...byHeight].map(([height, changes]) => ({ height, changes })),
    upgradePlan:
      plan !== null && plan.scheduledAt === number
        ? { name: plan.name, height: plan.height, version: plan.version }
        : null,
  };
}

/** Adds one chain parameter (by its governance name) to a patch of `runtime/params.ts`'s shape. */
function addToPatch(patch: ChainParamsPatch, name: string, value: bigint): void {
  if (name === "gasLimit") patch.gasLimit = value;
  else if (name === "minBaseFeePerGas" || name === "elasticityMultiplier" || name === "baseFeeChangeDenominator") {
    patch.fees = { ...patch.fees, [name]: value };
  } else patch.consensus = { ...patch.consensus, [name]: Number(value) };
}

async function finishVoting(s: ModuleState, params: GovParamReader, id: bigint): Promise<void> {
  const p = new ProposalRecord(s, id);
  const t = await tally(s, id);
  await p.setTally([t.yes, t.no, t.veto, t.abstain]);
  const voted = t.yes + t.no + t.veto + t.abstain;
  let status = Status.Rejected;
  if (t.bonded > 0n && voted * GOV_BPS >= t.bonded * (await params.get("quorumBps"))) {
    if (voted > 0n && t.veto * GOV_BPS > voted * (await params.get("vetoBps"))) status = Status.Vetoed;
    else if (voted > t.abstain && t.yes * GOV_BPS > (voted - t.abstain) * (await params.get("thresholdBps"))) {
      status = Status.Passed;
    }
  }
  if (status === Status.Passed) await p.setExecutableAt(s.blockTimestamp() + (await params.get("timelock")));
  if (status === Status.Vetoed) {
    const burnt = await p.totalDeposit();
    await burnNativeSupply(s, GOVERNANCE_ADDRESS, burnt);
    await s.store(GOV.depositsHeld, (await s.load(GOV.depositsHeld)) - burnt);
    await s.store(GOV.totalBurned, (await s.load(GOV.totalBurned)) + burnt);
  }
  await p.setStatus(status);
}

// --- functions -----------------------------------------------------------------------------------

function fn(
  name: string,
  inputs: AbiType[],
  outputs: AbiType[],
  gas: bigint,
  run: (call: ModuleCall, args: AbiValue[]) => Promise<AbiValue[]>,
  opts: { view?: boolean; payable?: boolean } = {},
): FunctionDef {
  return {
    sig: `${name}(${inputs.map(typeString).join(",")})`,
    inputs,
    outputs,
    mutates: opts.view !== true,
    payable: opts.payable,
    gas,
    run,
  };
}

const G = GOV_GAS;
const N = (x: AbiValue) => x as bigint;

const functions: FunctionDef[] = [
  fn(
    "propose",
    [arrayOf(ACTION), "string"],
    ["uint256"],
    G.propose,
    (c, [a, d]) => propose(c, a as AbiValue[], d as string),
    {
      payable: true,
    },
  ),
  fn("deposit", ["uint256"], ["uint256"], G.deposit, (c, [id]) => deposit(c, N(id)), { payable: true }),
  fn("vote", ["uint256", "uint8"], ["bool"], G.vote, (c, [id, o]) => vote(c, N(id), N(o))),
  fn("execute", ["uint256"], ["bool"], G.execute, (c, [id]) => execute(c, N(id))),
  fn("claimDeposit", ["uint256"], ["uint256"], G.claim, (c, [id]) => claimDeposit(c, N(id))),
  fn("proposal", ["uint256"], [PROPOSAL_VIEW], G.view, async (c, [id]) => [await proposalView(c, N(id))], {
    view: true,
  }),
  fn("proposalCount", [], ["uint256"], G.view, async (c) => [await c.load(GOV.proposalCount)], { view: true }),
  fn(
    "getVote",
    ["uint256", "address"],
    ["uint8"],
    G.view,
    async (c, [id, v]) => [await c.load(voteOfSlot(N(id), v as Uint8Array))],
    {
      view: true,
    },
  ),
  fn(
    "depositOf",
    ["uint256", "address"],
    ["uint256"],
    G.view,
    async (c, [id, d]) => [await c.load(depositSlot(N(id), d as Uint8Array))],
    { view: true },
  ),
  fn("treasury", [], ["uint256"], G.view, async (c) => [await treasuryBalance(c)], { view: true }),
  fn(
    "params",
    [],
    [tupleOf(...GOV_PARAM_NAMES.map(() => "uint256" as AbiType))],
    G.view,
    async (c) => [Object.values(await new GovParamReader(c).all())],
    { view: true },
  ),
  fn(
    "pendingChanges",
    [],
    [arrayOf("bytes32"), arrayOf("uint256"), arrayOf("uint64")],
    G.view,
    async (c) => {
      const list = await pendingChanges(c);
      return [
        list.map((x) => keyBytes(CHAIN_PARAM_DEFS[x.name].key)),
        list.map((x) => x.value),
        list.map((x) => x.height),
      ];
    },
    { view: true },
  ),
  fn(
    "upgradePlan",
    [],
    ["string", "uint64", "string"],
    G.view,
    async (c) => {
      const plan = await readUpgradePlan(c);
      return plan === null ? ["", 0n, ""] : [plan.name, plan.height, plan.version];
    },
    { view: true },
  ),
];

export function keyBytes(text: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(new TextEncoder().encode(text).subarray(0, 32));
  return out;
}

// --- genesis -------------------------------------------------------------------------------------

const FIELD = "modules.governance";

function parseGovGenesis(v: unknown): GovParams {
  const fail = (f: string, why: string): never => {
    throw new Error(`invalid genesis: ${f}: ${why}`);
  };
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(FIELD, "expected an object");
  const p = v as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!(GOV_PARAM_NAMES as string[]).includes(k)) fail(`${FIELD}.${k}`, "unknown parameter");
  const out = {} as GovParams;
  for (const n of GOV_PARAM_NAMES) {
    const raw = p[n];
    const f = `${FIELD}.${n}`;
    if (raw === undefined) fail(f, "required");
    let x: bigint;
    if (n === "minDeposit") {
      if (typeof raw !== "string" || !/^(0|[1-9][0-9]*)$/.test(raw)) fail(f, "expected a decimal integer string");
      x = BigInt(raw as string);
    } else {
      if (typeof raw !== "number" || !Number.isSafeInteger(raw)) fail(f, "expected an integer");
      x = BigInt(raw as number);
    }
    const d = GOV_PARAM_DEFS[n];
    if (x < d.min || x > d.max) fail(f, `must be between ${d.min} and ${d.max}`);
    out[n] = x;
  }
  return out;
}

async function governanceGenesis(state: MerkleStateManager, raw: unknown): Promise<void> {
  if (raw === undefined) return;
  const params = parseGovGenesis(raw);
  const s = new SystemCall(state, GOVERNANCE_ADDRESS, { number: 0n, timestamp: 0n });
  for (const n of GOV_PARAM_NAMES) await writeGovParam(s, n, params[n]);
}

export const governanceModule: NativeModule = {
  address: GOVERNANCE_ADDRESS,
  def: { name: "Governance", functions },
  genesis: governanceGenesis,
  endBlock: governanceEndBlock,
};
