import { wordToBigInt } from "../abi.js";
import { namedSlot, storageSlot } from "../host.js";
import { addressOfWord, bitsOf, type ModuleState, Words, withBits } from "../state.js";
import { uintToWord } from "../words.js";

/** Governance's storage layout (README.md, "Storage layout"). */
export const GOV = {
  proposalCount: namedSlot("azora.governance.proposalCount"),
  proposals: namedSlot("azora.governance.proposals"),
  deposits: namedSlot("azora.governance.deposits"),
  /** option(8) of a voter on a proposal */
  voteOf: namedSlot("azora.governance.voteOf"),
  /** delegator shares counted for (proposal, option, validator) */
  voteShares: namedSlot("azora.governance.voteShares"),
  /** shares a delegator's vote counted with a validator (proposal, voter, validator) */
  recorded: namedSlot("azora.governance.recorded"),
  votingCount: namedSlot("azora.governance.votingCount"),
  voting: namedSlot("azora.governance.voting"),
  /** AZR of the account held as deposits (the rest is the community treasury). */
  depositsHeld: namedSlot("azora.governance.depositsHeld"),
  totalBurned: namedSlot("azora.governance.totalBurned"),
  upgradeName: namedSlot("azora.governance.upgrade.name"),
  upgradeInfo: namedSlot("azora.governance.upgrade.info"),
  /** height(64) | scheduledAt(64)<<64 */
  upgradeWhen: namedSlot("azora.governance.upgrade.when"),
} as const;

/** Proposals in their voting period at once (bounds per-vote and per-delegation work). */
export const MAX_VOTING = 16;
export const MAX_ACTIONS = 8;

/** IGovernance.ProposalStatus. */
export enum Status {
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

/** IGovernance.VoteOption. */
export enum VoteOption {
  None = 0,
  Yes = 1,
  No = 2,
  NoWithVeto = 3,
  Abstain = 4,
}

/** IGovernance.ActionKind. */
export enum ActionKind {
  SetParam = 0,
  SetLearnIssuer = 1,
  TreasurySpend = 2,
  SoftwareUpgrade = 3,
}

export interface Action {
  kind: ActionKind;
  key: Uint8Array;
  value: bigint;
  target: Uint8Array;
  info: string;
}

/** Words of a proposal (at `keccak256(proposals ‖ id) + field`). */
enum P {
  /** proposer | status(8)<<160 | actionCount(8)<<168 */
  Head = 0,
  /** submitTime | depositEnd<<64 | votingStart<<128 | votingEnd<<192 */
  Times = 1,
  TotalDeposit = 2,
  Yes = 3,
  No = 4,
  Veto = 5,
  Abstain = 6,
  ExecutableAt = 7,
  Description = 8,
  Actions = 16,
}

export interface ProposalHead {
  proposer: Uint8Array;
  status: Status;
  actionCount: number;
}

export interface ProposalTimes {
  submitTime: bigint;
  depositEnd: bigint;
  votingStart: bigint;
  votingEnd: bigint;
}

const M64 = 64n;

export class ProposalRecord {
  readonly w: Words;
  constructor(
    readonly s: ModuleState,
    readonly id: bigint,
  ) {
    this.w = new Words(s, wordToBigInt(storageSlot(GOV.proposals, id)));
  }

  async head(): Promise<ProposalHead> {
    const w = await this.w.get(P.Head);
    return {
      proposer: addressOfWord(w),
      status: Number(bitsOf(w, 160n, 8n)),
      actionCount: Number(bitsOf(w, 168n, 8n)),
    };
  }

  async setHead(h: ProposalHead): Promise<void> {
    await this.w.set(P.Head, wordToBigInt(h.proposer) | (BigInt(h.status) << 160n) | (BigInt(h.actionCount) << 168n));
  }

  async setStatus(status: Status): Promise<void> {
    await this.setHead({ ...(await this.head()), status });
  }

  async times(): Promise<ProposalTimes> {
    const w = await this.w.get(P.Times);
    return {
      submitTime: bitsOf(w, 0n, M64),
      depositEnd: bitsOf(w, 64n, M64),
      votingStart: bitsOf(w, 128n, M64),
      votingEnd: bitsOf(w, 192n, M64),
    };
  }

  async setTimes(t: ProposalTimes): Promise<void> {
    let w = withBits(0n, 0n, M64, t.submitTime);
    w = withBits(w, 64n, M64, t.depositEnd);
    w = withBits(w, 128n, M64, t.votingStart);
    w = withBits(w, 192n, M64, t.votingEnd);
    await this.w.set(P.Times, w);
  }

  totalDeposit = () => this.w.get(P.TotalDeposit);
  setTotalDeposit = (v: bigint) => this.w.set(P.TotalDeposit, v);
  executableAt = () => this.w.get(P.ExecutableAt);
  setExecutableAt = (v: bigint) => this.w.set(P.ExecutableAt, v);
  description = () => this.w.getString(P.Description);
  setDescription = (v: string) => this.w.setString(P.Description, v);

  async tally(): Promise<[bigint, bigint, bigint, bigint]> {
    return [await this.w.get(P.Yes), await this.w.get(P.No), await this.w.get(P.Veto), await this.w.get(P.Abstain)];
  }

  async setTally(t: readonly bigint[]): Promise<void> {
    await this.w.set(P.Yes, t[0]);
    await this.w.set(P.No, t[1]);
    await this.w.set(P.Veto, t[2]);
    await this.w.set(P.Abstain, t[3]);
  }

  async action(i: number): Promise<Action> {
    const f = P.Actions + i * 4;
    const w = await this.w.get(f);
    return {
      kind: Number(w & 0xffn),
      target: addressOfWord(w >> 8n),
      key: uintToWord(await this.w.get(f + 1)),
      value: await this.w.get(f + 2),
      info: await this.w.getString(f + 3),
    };
  }

  async setAction(i: number, a: Action): Promise<void> {
    const f = P.Actions + i * 4;
    await this.w.set(f, BigInt(a.kind) | (wordToBigInt(a.target) << 8n));
    await this.w.set(f + 1, wordToBigInt(a.key));
    await this.w.set(f + 2, a.value);
    if (a.info.length > 0) await this.w.setString(f + 3, a.info);
  }
}

export const depositSlot = (id: bigint, depositor: Uint8Array) => storageSlot(GOV.deposits, id, depositor);
export const voteOfSlot = (id: bigint, voter: Uint8Array) => storageSlot(GOV.voteOf, id, voter);
export const voteSharesSlot = (id: bigint, option: number, validator: Uint8Array) =>
  storageSlot(GOV.voteShares, id, BigInt(option), validator);
export const recordedSlot = (id: bigint, voter: Uint8Array, validator: Uint8Array) =>
  storageSlot(GOV.recorded, id, voter, validator);

/** Ids of the proposals in their voting period (dense, unordered). */
export async function votingIds(s: ModuleState): Promise<bigint[]> {
  const n = Number(await s.load(GOV.votingCount));
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(await s.load(storageSlot(GOV.voting, BigInt(i))));
  return out;
}

export async function setVotingIds(s: ModuleState, ids: bigint[], oldCount: number): Promise<void> {
  for (const [i, id] of ids.entries()) await s.store(storageSlot(GOV.voting, BigInt(i)), id);
  for (let i = ids.length; i < oldCount; i++) await s.store(storageSlot(GOV.voting, BigInt(i)), 0n);
  await s.store(GOV.votingCount, BigInt(ids.length));
}
