import { type AbiValue, arrayOf, tupleOf, uintWord } from "../abi.js";
import { isZeroAddress } from "../erc20Events.js";
import { LEARN_ADDRESS } from "../learn/index.js";
import type { MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { credits, JobStatus, kindIndex, SLOTS, SlotStatus } from "./storage.js";

/** ABI shapes of IJobMarket's structs, in declaration order. */
export const JOB_SPEC = tupleOf(
  "bytes32",
  "string",
  "bytes32",
  "address",
  "uint256",
  "uint8",
  "uint64",
  "uint64",
  "uint64",
  "uint8",
  "address",
);
const SLOT = tupleOf("address", "uint8", "uint64", "uint64", "uint256", "bytes32", "bytes32", "string");
export const JOB_VIEW = tupleOf(
  "address",
  JOB_SPEC,
  "uint8",
  "uint64",
  "uint64",
  "uint256",
  arrayOf(SLOT),
  "address",
  "uint256",
  arrayOf("address"),
  "uint64",
  "uint64",
  arrayOf("bytes32"),
  arrayOf("bool"),
);
export const WORKER_INFO = tupleOf(
  "bool",
  "string",
  arrayOf("bytes32"),
  "uint256",
  "uint256",
  "uint256",
  "uint64",
  "uint64",
  "uint64",
);
export const PARAMS = tupleOf(
  "uint256",
  "uint16",
  "uint256",
  "uint16",
  "uint256",
  "uint64",
  "uint64",
  "uint64",
  "uint8",
  "uint16",
  "uint256",
  "uint64",
  "address",
);

/** Most addresses one `workersOfKind` page returns. */
export const MAX_PAGE = 100n;

const ZERO20 = new Uint8Array(20);
const ZERO32 = new Uint8Array(32);

/** IJobMarket.JobView of job `id`; an unknown id reads as the all-zero view (status None). */
export async function jobView(ctx: MarketCtx, id: bigint): Promise<AbiValue[]> {
  const job = ctx.job(id);
  const head = await job.head();
  if (head.status === JobStatus.None) {
    const spec = [ZERO32, "", ZERO32, ZERO20, 0n, 0n, 0n, 0n, 0n, 0n, ZERO20];
    return [ZERO20, spec, 0n, 0n, 0n, 0n, [], ZERO20, 0n, [], 0n, 0n, [], []];
  }
  const w = await job.windows();
  const t = await job.times();
  const bond = await job.bond();
  const spec = [
    uintWord(await job.kind()),
    await job.specURI(),
    uintWord(await job.inputHash()),
    head.learn ? LEARN_ADDRESS.bytes : ZERO20,
    await job.price(),
    BigInt(head.redundancy),
    w.claimWindow,
    w.deliverWindow,
    w.challengeWindow,
    BigInt(head.verification),
    await job.arbiter(),
  ];
  const slots: AbiValue[] = [];
  for (let i = 0; i < head.redundancy; i++) {
    const slot = job.slot(i);
    const s = await slot.head();
    const claimed = !isZeroAddress(s.worker);
    slots.push([
      s.worker,
      BigInt(s.status),
      claimed ? s.deliverBy - w.deliverWindow : 0n,
      s.deliverBy,
      claimed ? bond : 0n,
      await slot.commitment(),
      await slot.resultHash(),
      s.status === SlotStatus.Revealed || s.status === SlotStatus.Paid || s.status === SlotStatus.Slashed
        ? await slot.resultURI()
        : "",
    ]);
  }
  const verifiers = await job.verifiers();
  const votes: Uint8Array[] = [];
  const voted: boolean[] = [];
  for (let i = 0; i < verifiers.length; i++) {
    votes.push(await job.vote(i));
    voted.push(((head.votedMask >> i) & 1) === 1);
  }
  return [
    head.requester,
    spec,
    BigInt(head.status),
    w.postedAt,
    t.challengeEnds,
    await job.fee(),
    slots,
    await job.challenger(),
    await job.challengeBond(),
    verifiers,
    t.disputeEnds,
    t.revealEnds,
    votes,
    voted,
  ];
}

export async function workerView(ctx: MarketCtx, address: Uint8Array): Promise<AbiValue[]> {
  const w = ctx.worker(address);
  const h = await w.head();
  return [
    h.registered,
    h.registered ? await w.endpoint() : "",
    await w.kinds(),
    await w.stake(),
    await w.locked(),
    await w.unbonding(),
    h.unbondingEnds,
    h.jobsDone,
    h.jobsSlashed,
  ];
}

export async function workersOfKind(ctx: MarketCtx, kind: Uint8Array, start: bigint, count: bigint) {
  const total = await kindIndex.count(ctx.call, kind);
  const out: Uint8Array[] = [];
  const n = count < MAX_PAGE ? count : MAX_PAGE;
  for (let i = start; i < total && i < start + n; i++) out.push(await kindIndex.member(ctx.call, kind, i));
  return [out, total];
}

export async function paramsView(ctx: MarketCtx): Promise<AbiValue[]> {
  const p = await ctx.params.all();
  return [
    p.minWorkerStake,
    p.claimBondBps,
    p.minClaimBond,
    p.feeBps,
    p.challengeBond,
    p.disputeWindow,
    p.unbondingPeriod,
    p.maxWindow,
    p.maxRedundancy,
    p.slashBurnBps,
    p.learnRewardPerJob,
    p.minWindow,
    p.feeRecipient,
  ];
}

/** `token` as the credits' key: AZR (address(0)) or LEARN; anything else is JobInvalidToken. */
export function tokenKey(token: Uint8Array): boolean {
  if (isZeroAddress(token)) return false;
  if (token.every((b, i) => b === LEARN_ADDRESS.bytes[i])) return true;
  throw MarketErrors.invalidToken(token);
}

export const withdrawableView = (ctx: MarketCtx, account: Uint8Array, token: Uint8Array) =>
  credits.get(ctx.call, account, tokenKey(token));

export const jobCountView = (ctx: MarketCtx) => ctx.call.load(SLOTS.jobCount);
