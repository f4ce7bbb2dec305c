/**
 * The platform modules' current state as the explorer shows it: staking (validators), governance (proposals and
 * parameters), escrow and the job market, read through the node with `eth_call` on the modules' own view functions
 * at the explorer's indexed height, so a page's "now" agrees with the history the store holds. Answers are cached
 * per block: a page that renders twenty validators asks the node once per validator per block, not per request.
 */
import { Interface, type ParamType, type Result } from "ethers";
import { IEscrowAbi } from "../../contracts/artifacts/IEscrow.js";
import { IGovernanceAbi } from "../../contracts/artifacts/IGovernance.js";
import { IJobMarketAbi } from "../../contracts/artifacts/IJobMarket.js";
import { IStakingAbi } from "../../contracts/artifacts/IStaking.js";
import { type RPCClient, RPCError } from "../runtime/chain/rpcClient.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import type { Escrow, Job, Proposal, Validator } from "./types.js";

export type { Escrow, Job, Proposal, Validator };

const moduleAddress = (n: number) => `0x${"0".repeat(36)}${n.toString(16).padStart(4, "0")}`;
export const ESCROW = moduleAddress(0x0a04);
export const JOB_MARKET = moduleAddress(0x0a05);
export const STAKING = moduleAddress(0x0a06);
export const GOVERNANCE = moduleAddress(0x0a07);

const MODULE_NAMES: Record<string, string> = {
  [ESCROW]: "escrow",
  [JOB_MARKET]: "job market",
  [STAKING]: "staking",
  [GOVERNANCE]: "governance",
};

const staking = new Interface(IStakingAbi as never);
const governance = new Interface(IGovernanceAbi as never);
const escrow = new Interface(IEscrowAbi as never);
const market = new Interface(IJobMarketAbi as never);

/** The modules' enums by their Solidity names, index = on-chain value. */
export const PROPOSAL_STATUS = [
  "None",
  "DepositPeriod",
  "VotingPeriod",
  "Passed",
  "Rejected",
  "Vetoed",
  "Executed",
  "Failed",
  "Expired",
] as const;
export const VOTE_OPTION = ["None", "Yes", "No", "NoWithVeto", "Abstain"] as const;
export const ACTION_KIND = ["SetParam", "SetLearnIssuer", "TreasurySpend", "SoftwareUpgrade"] as const;
export const ESCROW_STATUS = ["None", "Active", "Disputed", "Released", "Refunded", "Resolved"] as const;
export const JOB_STATUS = [
  "None",
  "Open",
  "Claimed",
  "Submitted",
  "Challenged",
  "Finalized",
  "Refunded",
  "Cancelled",
] as const;
export const SLOT_STATUS = ["Empty", "Claimed", "Committed", "Revealed", "Paid", "Slashed", "Expired"] as const;
export const VERIFICATION = ["RequesterAccept", "Replay", "Arbiter", "Retrieval"] as const;

/**
 * A decoded value as plain JSON, by its ABI type: tuples as objects by component name, arrays as arrays, integers as
 * decimal strings, addresses lowercase.
 */
export function plain(t: ParamType, v: unknown): unknown {
  if (t.baseType === "tuple") {
    const r = v as Result;
    return Object.fromEntries((t.components ?? []).map((c, i) => [c.name === "" ? String(i) : c.name, plain(c, r[i])]));
  }
  if (t.baseType === "array") return Array.from(v as unknown[], (x) => plain(t.arrayChildren as ParamType, x));
  if (typeof v === "bigint") return v.toString();
  if (t.baseType === "address") return String(v).toLowerCase();
  return v;
}

const int = (s: unknown) => Number(s as string);
const text = (key: string) => {
  // A SetParam key is a bytes32 holding an ASCII name ("block.gasLimit"), right-padded with zeros.
  const bytes = Buffer.from(key.slice(2), "hex");
  const end = bytes.indexOf(0);
  const s = bytes.subarray(0, end < 0 ? bytes.length : end).toString("latin1");
  return /^[\x20-\x7e]*$/.test(s) ? s : key;
};

/** Reads the modules at one block; `blockOf()` names the block (the explorer's cursor), null = the node's latest. */
export class PlatformReader {
  private cacheBlock: string | null = null;
  private cache = new Map<string, Promise<unknown>>();

  constructor(
    private readonly rpc: RPCClient,
    private readonly blockOf: () => Promise<number | null>,
  ) {}

  /** One view call, cached for the block it read. A module that is not configured reverts: that is an error here. */
  /** The function's outputs by name (or position), as plain JSON. */
  private async view(iface: Interface, to: string, fn: string, args: unknown[] = []): Promise<Record<string, unknown>> {
    const n = await this.blockOf();
    const tag = n === null ? "latest" : `0x${n.toString(16)}`;
    if (tag !== this.cacheBlock || tag === "latest" || this.cache.size > 10_000) {
      this.cache = new Map();
      this.cacheBlock = tag;
    }
    const data = iface.encodeFunctionData(fn, args);
    const key = `${to}${data}`;
    let p = this.cache.get(key);
    if (p === undefined) {
      p = this.rpc.call<string>("eth_call", [{ to, data }, tag]);
      // A failed read is not cached: the next request asks again.
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    let out: string;
    try {
      out = (await p) as string;
    } catch (e) {
      // A revert is the module's answer (not configured, not found): typed, with its custom error's name.
      if (!(e instanceof RPCError) || e.rpcCode !== 3) throw e;
      let error = e.message;
      try {
        error = iface.parseError(e.data ?? "0x")?.name ?? error;
      } catch {
        // not one of the module's errors: keep the node's message
      }
      throw new ExplorerError({
        code: ExplorerErrorCode.MODULE_REVERTED,
        module: MODULE_NAMES[to] ?? to,
        call: fn,
        error,
      });
    }
    const r = iface.decodeFunctionResult(fn, out);
    const outputs = iface.getFunction(fn)?.outputs ?? [];
    return Object.fromEntries(outputs.map((o, i) => [o.name === "" ? String(i) : o.name, plain(o, r[i])]));
  }

  async stakingParams(): Promise<Record<string, string>> {
    return (await this.view(staking, STAKING, "params"))[0] as Record<string, string>;
  }

  async stakingTotals(): Promise<Record<string, string>> {
    return (await this.view(staking, STAKING, "totals"))[0] as Record<string, string>;
  }

  async validatorAddresses(): Promise<string[]> {
    return ((await this.view(staking, STAKING, "validators"))[0] as string[]).map((a) => a.toLowerCase());
  }

  /** A registered validator, or null for an address that is none. */
  async validator(operator: string): Promise<Validator | null> {
    let r: Record<string, unknown>;
    try {
      r = await this.view(staking, STAKING, "validator", [operator]);
    } catch (e) {
      if (
        e instanceof ExplorerError &&
        e.type.code === ExplorerErrorCode.MODULE_REVERTED &&
        e.type.error === "ValidatorNotFound"
      )
        return null;
      throw e;
    }
    const v = r[0] as Record<string, string | boolean>;
    if (v.operator === "0x0000000000000000000000000000000000000000") return null;
    const tokens = BigInt(v.tokens as string);
    const self = BigInt(v.selfStake as string);
    return {
      operator: String(v.operator),
      moniker: String(v.moniker),
      consensusAddress: String(v.consensusAddress),
      consensusPubKey: String(v.consensusPubKey),
      commissionBps: int(v.commissionBps),
      tokens: tokens.toString(),
      selfStake: self.toString(),
      delegated: (tokens > self ? tokens - self : 0n).toString(),
      unbonding: String(v.unbonding),
      power: int(v.power),
      active: Boolean(v.active),
      jailed: Boolean(v.jailed),
      tombstoned: Boolean(v.tombstoned),
      jailedUntil: int(v.jailedUntil),
      missedBlocks: int(v.missedBlocks),
    };
  }

  async validators(): Promise<Validator[]> {
    const all = await Promise.all((await this.validatorAddresses()).map((a) => this.validator(a)));
    return all
      .filter((v): v is Validator => v !== null)
      .sort((a, b) => (BigInt(b.tokens) > BigInt(a.tokens) ? 1 : BigInt(b.tokens) < BigInt(a.tokens) ? -1 : 0));
  }

  async governanceParams(): Promise<Record<string, string>> {
    return (await this.view(governance, GOVERNANCE, "params"))[0] as Record<string, string>;
  }

  async proposalCount(): Promise<number> {
    return int((await this.view(governance, GOVERNANCE, "proposalCount"))[0]);
  }

  async proposal(id: number): Promise<Proposal | null> {
    if (id < 1 || id > (await this.proposalCount())) return null;
    const p = (await this.view(governance, GOVERNANCE, "proposal", [id]))[0] as Record<string, unknown>;
    const actions = p.actions as Record<string, string>[];
    return {
      id: int(p.id),
      proposer: String(p.proposer),
      status: PROPOSAL_STATUS[int(p.status)] ?? String(p.status),
      actions: actions.map((a) => ({
        kind: ACTION_KIND[int(a.kind)] ?? String(a.kind),
        key: int(a.kind) === 0 ? text(a.key) : a.key,
        value: a.value,
        target: a.target,
        info: a.info,
      })),
      descriptionURI: String(p.descriptionURI),
      submitTime: int(p.submitTime),
      depositEnd: int(p.depositEnd),
      votingStart: int(p.votingStart),
      votingEnd: int(p.votingEnd),
      executableAt: int(p.executableAt),
      totalDeposit: String(p.totalDeposit),
      tally: { yes: String(p.yes), no: String(p.no), noWithVeto: String(p.noWithVeto), abstain: String(p.abstain) },
    };
  }

  /** The newest proposals first, at most `limit`. */
  async proposals(limit: number): Promise<Proposal[]> {
    const n = await this.proposalCount();
    const ids = Array.from({ length: Math.min(limit, n) }, (_, i) => n - i);
    return (await Promise.all(ids.map((id) => this.proposal(id)))).filter((p): p is Proposal => p !== null);
  }

  async escrowCount(): Promise<number> {
    return int((await this.view(escrow, ESCROW, "escrowCount"))[0]);
  }

  async escrow(id: number): Promise<Escrow | null> {
    if (id < 1 || id > (await this.escrowCount())) return null;
    const r = (await this.view(escrow, ESCROW, "escrows", [id])) as Record<string, string>;
    return {
      id,
      payer: r.payer,
      payee: r.payee,
      arbiter: r.arbiter,
      token: r.token,
      amount: r.amount,
      deadline: int(r.deadline),
      terms: r.terms,
      status: ESCROW_STATUS[int(r.status)] ?? String(r.status),
    };
  }

  async escrows(limit: number): Promise<Escrow[]> {
    const n = await this.escrowCount();
    const ids = Array.from({ length: Math.min(limit, n) }, (_, i) => n - i);
    return (await Promise.all(ids.map((id) => this.escrow(id)))).filter((e): e is Escrow => e !== null);
  }

  async jobCount(): Promise<number> {
    return int((await this.view(market, JOB_MARKET, "jobCount"))[0]);
  }

  async job(id: number): Promise<Job | null> {
    if (id < 1 || id > (await this.jobCount())) return null;
    const j = (await this.view(market, JOB_MARKET, "job", [id]))[0] as Record<string, unknown>;
    const spec = j.spec as Record<string, string>;
    const slots = j.slots as Record<string, string>[];
    return {
      id,
      requester: String(j.requester),
      status: JOB_STATUS[int(j.status)] ?? String(j.status),
      kind: text(spec.kind),
      specURI: spec.specURI,
      token: spec.token,
      price: spec.price,
      redundancy: int(spec.redundancy),
      verification: VERIFICATION[int(spec.verification)] ?? String(spec.verification),
      arbiter: spec.arbiter,
      postedAt: int(j.postedAt),
      claimWindow: int(spec.claimWindow),
      deliverWindow: int(spec.deliverWindow),
      challengeWindow: int(spec.challengeWindow),
      challengeEnds: int(j.challengeEnds),
      fee: String(j.fee),
      slots: slots.map((s) => ({
        worker: s.worker,
        status: SLOT_STATUS[int(s.status)] ?? String(s.status),
        claimedAt: int(s.claimedAt),
        deliverBy: int(s.deliverBy),
        resultHash: s.resultHash,
        resultURI: s.resultURI,
      })),
      challenger: String(j.challenger),
    };
  }

  async jobs(limit: number): Promise<Job[]> {
    const n = await this.jobCount();
    const ids = Array.from({ length: Math.min(limit, n) }, (_, i) => n - i);
    return (await Promise.all(ids.map((id) => this.job(id)))).filter((j): j is Job => j !== null);
  }
}
