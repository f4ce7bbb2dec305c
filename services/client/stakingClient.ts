/**
 * Typed clients of the staking (0x…0A06) and governance (0x…0A07) modules for dApps, scripts and the
 * `azora validator|stake|gov` commands (ethers v6): encode calls from the generated ABIs, decode the
 * modules' custom errors, and read validators, delegations, proposals and parameters.
 */
import {
  Contract,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  encodeBytes32String,
  Interface,
  type Result,
} from "ethers";
import { IGovernanceAbi } from "../../contracts/artifacts/IGovernance.js";
import { IStakingAbi } from "../../contracts/artifacts/IStaking.js";
import { ClientError, ClientErrorCode } from "./errors.js";

export const STAKING_ADDRESS = "0x0000000000000000000000000000000000000A06";
export const GOVERNANCE_ADDRESS = "0x0000000000000000000000000000000000000A07";
export const stakingInterface = new Interface(IStakingAbi);
export const governanceInterface = new Interface(IGovernanceAbi);

export enum ActionKind {
  SetParam = 0,
  SetLearnIssuer = 1,
  TreasurySpend = 2,
  SoftwareUpgrade = 3,
}

export enum ProposalStatus {
  None = 0,
  DepositPeriod = 1,
  VotingPeriod = 2,
  Passed = 3,
  Rejected = 4,
  Vetoed = 5,
  Executed = 6,
  Failed = 7,
  Expired = 8,
}

export enum VoteOption {
  None = 0,
  Yes = 1,
  No = 2,
  NoWithVeto = 3,
  Abstain = 4,
}

export interface GovAction {
  kind: ActionKind;
  /** Parameter name (`block.gasLimit`) or upgrade name; at most 31 bytes. */
  key: string;
  value: bigint;
  target: string;
  info: string;
}

export interface ValidatorView {
  operator: string;
  consensusPubKey: string;
  consensusAddress: string;
  moniker: string;
  commissionBps: number;
  tokens: bigint;
  delegatorShares: bigint;
  selfStake: bigint;
  unbonding: bigint;
  commission: bigint;
  power: bigint;
  active: boolean;
  jailed: boolean;
  tombstoned: boolean;
  jailedUntil: bigint;
  missedBlocks: bigint;
}

export interface DelegationView {
  shares: bigint;
  amount: bigint;
  rewards: bigint;
  unbonding: bigint;
  unbondingEntries: number;
}

export interface ProposalView {
  id: bigint;
  proposer: string;
  status: ProposalStatus;
  actions: GovAction[];
  descriptionURI: string;
  submitTime: bigint;
  depositEnd: bigint;
  votingStart: bigint;
  votingEnd: bigint;
  executableAt: bigint;
  totalDeposit: bigint;
  yes: bigint;
  no: bigint;
  noWithVeto: bigint;
  abstain: bigint;
}

/** The custom error a module reverted with, by name (ValidatorNotFound, ProposalTooEarly, …). */
export function decodeModuleRevert(data: string | undefined): { name: string; args: string[] } | undefined {
  if (data === undefined || data === null || data.length < 10) return undefined;
  for (const iface of [stakingInterface, governanceInterface]) {
    try {
      const e = iface.parseError(data);
      if (e !== null) return { name: e.name, args: e.args.map((a) => String(a)) };
    } catch {
      // not this module's
    }
  }
  return undefined;
}

function toPlain<T>(r: Result, keys: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = r[k];
  return out as T;
}

const VALIDATOR_KEYS = [
  "operator",
  "consensusPubKey",
  "consensusAddress",
  "moniker",
  "commissionBps",
  "tokens",
  "delegatorShares",
  "selfStake",
  "unbonding",
  "commission",
  "power",
  "active",
  "jailed",
  "tombstoned",
  "jailedUntil",
  "missedBlocks",
] as const;

function decodeAction(a: Result): GovAction {
  const raw = a.key as string;
  let key: string;
  try {
    key =
      Number(a.kind) === ActionKind.SetParam || Number(a.kind) === ActionKind.SoftwareUpgrade ? decodeKey(raw) : raw;
  } catch {
    key = raw;
  }
  return { kind: Number(a.kind), key, value: a.value as bigint, target: a.target as string, info: a.info as string };
}

function decodeKey(b: string): string {
  const bytes = Buffer.from(b.slice(2), "hex");
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
}

/** A parameter or upgrade name as the module keys it: UTF-8, zero-padded to 32 bytes. */
export function actionKey(name: string): string {
  return encodeBytes32String(name);
}

abstract class ModuleClient {
  protected readonly contract: Contract;
  constructor(
    address: string,
    iface: Interface,
    readonly runner: ContractRunner,
  ) {
    this.contract = new Contract(address, iface, runner);
  }

  /** Sends `fn(args)` (simulated first, so a revert is reported by name without paying gas) and waits for the receipt. */
  protected async send(fn: string, args: unknown[], value?: bigint): Promise<ContractTransactionReceipt> {
    if (this.runner.sendTransaction === undefined) throw new ClientError({ code: ClientErrorCode.NO_SIGNER });
    const overrides = value === undefined ? {} : { value };
    try {
      await this.contract.getFunction(fn).staticCall(...args, overrides);
      const tx = (await this.contract.getFunction(fn).send(...args, overrides)) as ContractTransactionResponse;
      const rc = await tx.wait();
      if (rc === null) throw new Error(`${fn}: no receipt`);
      return rc;
    } catch (e) {
      const data = (e as { data?: string }).data ?? (e as { info?: { error?: { data?: string } } }).info?.error?.data;
      const decoded = decodeModuleRevert(data);
      if (decoded !== undefined) {
        throw new ClientError(
          { code: ClientErrorCode.MODULE_REVERT, fn, error: decoded.name, args: decoded.args },
          `${fn} refused: ${decoded.name}(${decoded.args.join(", ")})`,
        );
      }
      throw e;
    }
  }
}

export class StakingClient extends ModuleClient {
  constructor(runner: ContractRunner) {
    super(STAKING_ADDRESS, stakingInterface, runner);
  }

  createValidator(o: {
    consensusPubKey: string;
    commissionBps: number;
    moniker: string;
    keyProof: string;
    selfStake: bigint;
  }): Promise<ContractTransactionReceipt> {
    return this.send("createValidator", [o.consensusPubKey, o.commissionBps, o.moniker, o.keyProof], o.selfStake);
  }
  editValidator(commissionBps: number, moniker: string): Promise<ContractTransactionReceipt> {
    return this.send("editValidator", [commissionBps, moniker]);
  }
  unjail(): Promise<ContractTransactionReceipt> {
    return this.send("unjail", []);
  }
  delegate(validator: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send("delegate", [validator], amount);
  }
  undelegate(validator: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send("undelegate", [validator, amount]);
  }
  redelegate(from: string, to: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send("redelegate", [from, to, amount]);
  }
  withdrawRewards(validator: string): Promise<ContractTransactionReceipt> {
    return this.send("withdrawRewards", [validator]);
  }

  async validator(operator: string): Promise<ValidatorView> {
    const r = (await this.contract.validator(operator)) as Result;
    const v = toPlain<ValidatorView>(r, VALIDATOR_KEYS);
    return { ...v, commissionBps: Number(v.commissionBps) };
  }
  async delegation(delegator: string, validator: string): Promise<DelegationView> {
    const r = (await this.contract.delegation(delegator, validator)) as Result;
    return {
      shares: r.shares,
      amount: r.amount,
      rewards: r.rewards,
      unbonding: r.unbonding,
      unbondingEntries: Number(r.unbondingEntries),
    };
  }
  async validators(): Promise<string[]> {
    return [...((await this.contract.validators()) as string[])];
  }
  async activeValidators(): Promise<string[]> {
    return [...((await this.contract.activeValidators()) as string[])];
  }
}

export class GovernanceClient extends ModuleClient {
  constructor(runner: ContractRunner) {
    super(GOVERNANCE_ADDRESS, governanceInterface, runner);
  }

  /** Submits a proposal with `deposit`; returns its id (from ProposalSubmitted) and the receipt. */
  async propose(
    actions: GovAction[],
    descriptionURI: string,
    deposit: bigint,
  ): Promise<{ id: bigint; receipt: ContractTransactionReceipt }> {
    const encoded = actions.map((a) => [
      a.kind,
      a.kind === ActionKind.SetParam || a.kind === ActionKind.SoftwareUpgrade ? actionKey(a.key) : a.key,
      a.value,
      a.target,
      a.info,
    ]);
    const receipt = await this.send("propose", [encoded, descriptionURI], deposit);
    for (const log of receipt.logs) {
      const parsed = governanceInterface.parseLog(log);
      if (parsed?.name === "ProposalSubmitted") return { id: parsed.args.id as bigint, receipt };
    }
    throw new Error("propose: no ProposalSubmitted event in the receipt");
  }
  deposit(id: bigint, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send("deposit", [id], amount);
  }
  vote(id: bigint, option: VoteOption): Promise<ContractTransactionReceipt> {
    return this.send("vote", [id, option]);
  }
  execute(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send("execute", [id]);
  }
  claimDeposit(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send("claimDeposit", [id]);
  }

  async proposal(id: bigint): Promise<ProposalView> {
    const p = (await this.contract.proposal(id)) as Result;
    return {
      id: p.id,
      proposer: p.proposer,
      status: Number(p.status),
      actions: (p.actions as Result[]).map(decodeAction),
      descriptionURI: p.descriptionURI,
      submitTime: p.submitTime,
      depositEnd: p.depositEnd,
      votingStart: p.votingStart,
      votingEnd: p.votingEnd,
      executableAt: p.executableAt,
      totalDeposit: p.totalDeposit,
      yes: p.yes,
      no: p.no,
      noWithVeto: p.noWithVeto,
      abstain: p.abstain,
    };
  }
  async proposalCount(): Promise<bigint> {
    return (await this.contract.proposalCount()) as bigint;
  }
  async getVote(id: bigint, voter: string): Promise<VoteOption> {
    return Number(await this.contract.getVote(id, voter));
  }
}
