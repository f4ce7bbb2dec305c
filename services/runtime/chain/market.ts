/**
 * The job market (native module at 0x…0A05) as seen from a service: its ABI (generated from
 * contracts/interfaces/IJobMarket.sol), typed views decoded from `eth_call`, call encoding, revert decoding
 * and event parsing. Reads only; transactions go through the TxManager.
 */
import {
  AbiCoder,
  decodeBytes32String,
  type EventFragment,
  encodeBytes32String,
  getAddress,
  Interface,
  keccak256,
  LogDescription,
  type Result,
  ZeroAddress,
} from "ethers";
import { IJobMarketAbi } from "../../../contracts/artifacts/IJobMarket.js";
import { ILearnAbi } from "../../../contracts/artifacts/ILearn.js";
import { type RPCClient, RPCError, toQuantity } from "./rpcClient.js";

export const MARKET_ADDRESS = "0x0000000000000000000000000000000000000A05";
export const LEARN_ADDRESS = "0x0000000000000000000000000000000000000A02";
/** `token` of a job paid in native AZR (as msg.value). */
export const AZR_TOKEN = ZeroAddress;

export const marketInterface = new Interface(IJobMarketAbi);
export const learnInterface = new Interface(ILearnAbi);
/**
 * The ERC-20 errors of ERC-6093 (OpenZeppelin 5's IERC20Errors), which LEARN reverts with (e.g. when a job's
 * escrow cannot be pulled) but which ILearn's ABI does not list: the standard's signatures, to decode them.
 */
const erc6093Interface = new Interface([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InvalidSender(address sender)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InvalidApprover(address approver)",
  "error ERC20InvalidSpender(address spender)",
]);

/** Mirrors IJobMarket.JobStatus. */
export enum JobStatus {
  None = 0,
  Open = 1,
  Claimed = 2,
  Submitted = 3,
  Challenged = 4,
  Finalized = 5,
  Refunded = 6,
  Cancelled = 7,
}

/** Mirrors IJobMarket.SlotStatus. */
export enum SlotStatus {
  Empty = 0,
  Claimed = 1,
  Committed = 2,
  Revealed = 3,
  Paid = 4,
  /** A no-show, or a result that lost. */
  Slashed = 5,
  /** Never claimed before the claim window closed. */
  Expired = 6,
}

/** Slots that delivered a result (it may since have been paid or slashed). */
export function hasDelivered(status: SlotStatus): boolean {
  return status === SlotStatus.Revealed || status === SlotStatus.Paid || status === SlotStatus.Slashed;
}

/** Mirrors IJobMarket.Verification. */
export enum Verification {
  RequesterAccept = 0,
  Replay = 1,
  Arbiter = 2,
  /** Custody over the challenge window (e.g. `storage/pin`): rejected challenges return the job to Submitted. */
  Retrieval = 3,
}

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set([
  JobStatus.Finalized,
  JobStatus.Refunded,
  JobStatus.Cancelled,
]);

export interface OnChainJobSpec {
  /** Short kind name, decoded from bytes32. */
  kind: string;
  specURI: string;
  inputHash: string;
  token: string;
  price: bigint;
  redundancy: number;
  claimWindow: number;
  deliverWindow: number;
  challengeWindow: number;
  verification: Verification;
  arbiter: string;
}

export interface SlotView {
  worker: string;
  status: SlotStatus;
  claimedAt: number;
  deliverBy: number;
  bond: bigint;
  commitment: string;
  resultHash: string;
  resultURI: string;
}

export interface JobView {
  id: bigint;
  requester: string;
  spec: OnChainJobSpec;
  status: JobStatus;
  postedAt: number;
  challengeEnds: number;
  fee: bigint;
  slots: SlotView[];
  challenger: string;
  challengeBond: bigint;
  verifiers: string[];
  disputeEnds: number;
  /** Commit–reveal: 0 until every live slot has committed, then the reveal deadline. */
  revealEnds: number;
  /** Replay disputes: verifiers[i] voted votes[i] when voted[i]. */
  votes: string[];
  voted: boolean[];
}

export interface MarketParams {
  minWorkerStake: bigint;
  claimBondBps: number;
  minClaimBond: bigint;
  feeBps: number;
  challengeBond: bigint;
  disputeWindow: number;
  unbondingPeriod: number;
  maxWindow: number;
  maxRedundancy: number;
  slashBurnBps: number;
  learnRewardPerJob: bigint;
  minWindow: number;
  feeRecipient: string;
}

export interface WorkerInfo {
  registered: boolean;
  endpoint: string;
  kinds: string[];
  stake: bigint;
  locked: bigint;
  unbonding: bigint;
  unbondingEnds: number;
  jobsDone: number;
  jobsSlashed: number;
}

export function kindToBytes32(kind: string): string {
  return encodeBytes32String(kind);
}

export function kindFromBytes32(b: string): string {
  try {
    return decodeBytes32String(b);
  } catch {
    return b;
  }
}

/** The commitment `commit` takes: keccak256(abi.encode(resultHash, worker, salt)). */
export function commitmentOf(resultHash: string, worker: string, salt: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address", "bytes32"], [resultHash, worker, salt]));
}

/** The bond a claim locks: max(price × claimBondBps / 10⁴, minClaimBond). */
export function claimBondFor(price: bigint, params: MarketParams): bigint {
  const b = (price * BigInt(params.claimBondBps)) / 10_000n;
  return b > params.minClaimBond ? b : params.minClaimBond;
}

/** What `post` escrows: price × redundancy + fee (fee = price × redundancy × feeBps / 10⁴). */
export function escrowFor(price: bigint, redundancy: number, params: MarketParams): { total: bigint; fee: bigint } {
  const base = price * BigInt(redundancy);
  const fee = (base * BigInt(params.feeBps)) / 10_000n;
  return { total: base + fee, fee };
}

export interface DecodedRevert {
  name: string;
  args: string[];
}

/** Decodes revert data into the market's (or LEARN's) custom error, or `Error(string)`. */
export function decodeRevert(data: string | undefined): DecodedRevert | undefined {
  if (data === undefined || data === "0x" || data.length < 10) return undefined;
  for (const iface of [marketInterface, learnInterface, erc6093Interface]) {
    try {
      const err = iface.parseError(data);
      if (err !== null) return { name: err.name, args: err.args.map((a) => String(a)) };
    } catch {
      // not this interface
    }
  }
  try {
    const [reason] = AbiCoder.defaultAbiCoder().decode(["string"], `0x${data.slice(10)}`);
    if (data.startsWith("0x08c379a0")) return { name: "Error", args: [String(reason)] };
  } catch {
    // unknown
  }
  return { name: "Unknown", args: [data.slice(0, 74)] };
}

/**
 * The market's events by topic. ethers' `parseLog` finds a log's event by hashing every event signature of the
 * ABI for each log (a `topicHash` is not cached): ~20 keccaks per log, the worker's largest JS cost per job.
 */
const MARKET_EVENTS: ReadonlyMap<string, { fragment: EventFragment; topic: string }> = (() => {
  const m = new Map<string, { fragment: EventFragment; topic: string }>();
  marketInterface.forEachEvent((fragment) => m.set(fragment.topicHash, { fragment, topic: fragment.topicHash }));
  return m;
})();

/** The name of the market event a log's first topic names, without decoding the log. */
export function marketEventName(topic0: string | undefined): string | undefined {
  return MARKET_EVENTS.get(topic0?.toLowerCase() ?? "")?.fragment.name;
}

/** The topic of a market event by name (the ABI's events, hashed once). */
export function marketEventTopic(name: string): string {
  for (const [topic, e] of MARKET_EVENTS) if (e.fragment.name === name) return topic;
  throw new Error(`the market has no event ${name}`);
}

/** A market log decoded (as `marketInterface.parseLog`), or null when it is not one of the market's events. */
export function parseMarketLog(log: { topics: string[]; data: string }): LogDescription | null {
  const e = MARKET_EVENTS.get(log.topics[0]?.toLowerCase() ?? "");
  if (e === undefined || e.fragment.anonymous) return null;
  try {
    return new LogDescription(e.fragment, e.topic, marketInterface.decodeEventLog(e.fragment, log.data, log.topics));
  } catch {
    return null;
  }
}

export function encodeMarketCall(fn: string, args: readonly unknown[]): string {
  return marketInterface.encodeFunctionData(fn, args);
}

/** Decodes the `job(id)` view (an ethers Result) into a JobView. */
export function decodeJobView(id: bigint, r: Result): JobView {
  const s = r.spec;
  return {
    id,
    requester: getAddress(r.requester),
    spec: {
      kind: kindFromBytes32(s.kind),
      specURI: s.specURI,
      inputHash: s.inputHash,
      token: getAddress(s.token),
      price: s.price,
      redundancy: Number(s.redundancy),
      claimWindow: Number(s.claimWindow),
      deliverWindow: Number(s.deliverWindow),
      challengeWindow: Number(s.challengeWindow),
      verification: Number(s.verification) as Verification,
      arbiter: getAddress(s.arbiter),
    },
    status: Number(r.status) as JobStatus,
    postedAt: Number(r.postedAt),
    challengeEnds: Number(r.challengeEnds),
    fee: r.fee,
    slots: (r.slots as Result[]).map((x) => ({
      worker: getAddress(x.worker),
      status: Number(x.status) as SlotStatus,
      claimedAt: Number(x.claimedAt),
      deliverBy: Number(x.deliverBy),
      bond: x.bond,
      commitment: x.commitment,
      resultHash: x.resultHash,
      resultURI: x.resultURI,
    })),
    challenger: getAddress(r.challenger),
    challengeBond: r.challengeBond,
    verifiers: (r.verifiers as string[]).map((a) => getAddress(a)),
    disputeEnds: Number(r.disputeEnds),
    revealEnds: Number(r.revealEnds),
    votes: [...(r.votes as string[])],
    voted: [...(r.voted as boolean[])],
  };
}

/** Thrown by views when the market reverts (e.g. JobNotFound). */
export class MarketCallError extends Error {
  override readonly name = "MarketCallError";
  constructor(
    readonly fn: string,
    readonly revert: DecodedRevert | undefined,
  ) {
    super(`${fn} reverted${revert === undefined ? "" : `: ${revert.name}(${revert.args.join(", ")})`}`);
  }
}

/** Most ids the market's `jobs(uint256[])` view takes. */
const MAX_JOBS_PER_VIEW = 64;

/** Typed read access to the market over JSON-RPC. */
export class MarketReader {
  private queued: { id: bigint; resolve: (v: JobView) => void; reject: (e: unknown) => void }[] = [];

  /**
   * `coalesce`: reads of the latest job views asked for in the same turn of the event loop go out as one
   * `jobs(ids)` call (the worker steps many jobs per head; every eth_call is a simulation on the node).
   */
  constructor(
    readonly rpc: RPCClient,
    readonly address: string = MARKET_ADDRESS,
    private readonly opts: { coalesce?: boolean } = {},
  ) {}

  async call(fn: string, args: readonly unknown[], blockTag: string | number = "latest"): Promise<Result> {
    const data = encodeMarketCall(fn, args);
    const tag = typeof blockTag === "number" ? toQuantity(blockTag) : blockTag;
    let out: string;
    try {
      out = await this.rpc.call<string>("eth_call", [{ to: this.address, data }, tag]);
    } catch (e) {
      if (e instanceof RPCError && e.rpcCode === 3) throw new MarketCallError(fn, decodeRevert(e.data));
      throw e;
    }
    return marketInterface.decodeFunctionResult(fn, out);
  }

  async job(id: bigint, blockTag?: string | number): Promise<JobView> {
    if (blockTag !== undefined || this.opts.coalesce !== true) return this.oneJob(id, blockTag);
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => void this.flushJobs());
      this.queued.push({ id, resolve, reject });
    });
  }

  private async oneJob(id: bigint, blockTag?: string | number): Promise<JobView> {
    const [r] = await this.call("job", [id], blockTag);
    return decodeJobView(id, r as Result);
  }

  private async flushJobs(): Promise<void> {
    const all = this.queued;
    this.queued = [];
    for (let i = 0; i < all.length; i += MAX_JOBS_PER_VIEW) {
      const part = all.slice(i, i + MAX_JOBS_PER_VIEW);
      if (part.length === 1) {
        this.oneJob(part[0].id).then(part[0].resolve, part[0].reject);
        continue;
      }
      this.call("jobs", [part.map((q) => q.id)]).then(
        ([views]) => {
          for (const [k, q] of part.entries()) q.resolve(decodeJobView(q.id, (views as Result)[k] as Result));
        },
        // a node without the batch view (or any failure): each read on its own
        () => {
          for (const q of part) this.oneJob(q.id).then(q.resolve, q.reject);
        },
      );
    }
  }

  /** The evidence URI of the job's latest challenge (from its `JobChallenged` log), if any. */
  async challengeEvidence(id: bigint): Promise<string | undefined> {
    const topic = marketInterface.getEvent("JobChallenged")?.topicHash as string;
    const logs = await this.rpc.call<{ topics: string[]; data: string }[]>("eth_getLogs", [
      {
        fromBlock: "0x0",
        toBlock: "latest",
        address: this.address,
        topics: [topic, `0x${id.toString(16).padStart(64, "0")}`],
      },
    ]);
    const last = logs.at(-1);
    if (last === undefined) return undefined;
    const ev = parseMarketLog(last);
    const uri = ev?.args.evidenceURI as string | undefined;
    return uri === undefined || uri === "" ? undefined : uri;
  }

  async jobCount(): Promise<bigint> {
    const [n] = await this.call("jobCount", []);
    return n as bigint;
  }

  async params(): Promise<MarketParams> {
    const [p] = await this.call("params", []);
    return decodeParams(p as Result);
  }

  async worker(account: string): Promise<WorkerInfo> {
    const [w] = await this.call("worker", [account]);
    return decodeWorkerInfo(w as Result);
  }

  async withdrawable(account: string, token: string): Promise<bigint> {
    const [n] = await this.call("withdrawable", [account, token]);
    return n as bigint;
  }
}

export function decodeParams(r: Result): MarketParams {
  return {
    minWorkerStake: r.minWorkerStake,
    claimBondBps: Number(r.claimBondBps),
    minClaimBond: r.minClaimBond,
    feeBps: Number(r.feeBps),
    challengeBond: r.challengeBond,
    disputeWindow: Number(r.disputeWindow),
    unbondingPeriod: Number(r.unbondingPeriod),
    maxWindow: Number(r.maxWindow),
    maxRedundancy: Number(r.maxRedundancy),
    slashBurnBps: Number(r.slashBurnBps),
    learnRewardPerJob: r.learnRewardPerJob,
    minWindow: Number(r.minWindow),
    feeRecipient: getAddress(r.feeRecipient),
  };
}

export function decodeWorkerInfo(r: Result): WorkerInfo {
  return {
    registered: r.registered,
    endpoint: r.endpoint,
    kinds: (r.kinds as string[]).map(kindFromBytes32),
    stake: r.stake,
    locked: r.locked,
    unbonding: r.unbonding,
    unbondingEnds: Number(r.unbondingEnds),
    jobsDone: Number(r.jobsDone),
    jobsSlashed: Number(r.jobsSlashed),
  };
}
