/**
 * Which jobs a worker takes: a pure function of the job, the market's parameters, the worker's stake and
 * load, and the operator's prices. No I/O, so every rule is unit-tested.
 */
import {
  AZR_TOKEN,
  claimBondFor,
  JobStatus,
  type JobView,
  LEARN_ADDRESS,
  type MarketParams,
  SlotStatus,
} from "../chain/market.js";

export interface PricePolicy {
  /** Least price per slot accepted, in wei, by token address (AZR = zero address, LEARN = 0x…0A02). */
  minPrice: ReadonlyMap<string, bigint>;
  /** Least deliver window (seconds) to take a job: the time the work needs plus margin. */
  minDeliverWindowSec: number;
}

export type Decision = { take: true; bond: bigint } | { take: false; later: boolean; reason: DeclineReason };

/** Bounded reasons (metric labels). `later` decisions are retried on the next block. */
export type DeclineReason =
  | "not_open"
  | "no_free_slot"
  | "claim_window_over"
  | "own_job"
  | "already_in_job"
  | "token_not_accepted"
  | "price_too_low"
  | "deliver_window_too_short"
  | "under_bonded"
  | "at_capacity";

export interface WorkerLoad {
  address: string;
  /** stake − locked: what new claims can bond. */
  freeStake: bigint;
  active: number;
  maxJobs: number;
}

export function decide(
  job: JobView,
  params: MarketParams,
  policy: PricePolicy,
  load: WorkerLoad,
  nowSec: number,
): Decision {
  const no = (reason: DeclineReason, later = false): Decision => ({ take: false, later, reason });
  if (job.status !== JobStatus.Open) return no("not_open");
  const me = load.address.toLowerCase();
  if (job.requester.toLowerCase() === me) return no("own_job");
  if (job.slots.some((s) => s.worker.toLowerCase() === me && s.status !== SlotStatus.Empty))
    return no("already_in_job");
  const free =
    job.slots.length === 0 ? job.spec.redundancy : job.slots.filter((s) => s.status === SlotStatus.Empty).length;
  const claimed = job.slots.filter((s) => s.status !== SlotStatus.Empty).length;
  if (free === 0 && claimed >= job.spec.redundancy) return no("no_free_slot");
  if (nowSec >= job.postedAt + job.spec.claimWindow) return no("claim_window_over");
  const token = job.spec.token.toLowerCase();
  const min = policy.minPrice.get(token);
  if (min === undefined || (token !== AZR_TOKEN.toLowerCase() && token !== LEARN_ADDRESS.toLowerCase()))
    return no("token_not_accepted");
  if (job.spec.price < min) return no("price_too_low");
  if (job.spec.deliverWindow < policy.minDeliverWindowSec) return no("deliver_window_too_short");
  const bond = claimBondFor(job.spec.price, params);
  if (load.freeStake < bond) return no("under_bonded", true);
  if (load.active >= load.maxJobs) return no("at_capacity", true);
  return { take: true, bond };
}
