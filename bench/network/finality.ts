// Empty-block finality: with no load and a tiny genesis empty-block interval, heights run back to back. Height h can
// start once h-1 is committed and the interval has passed (the driver starts a height when txs wait or the interval
// since its last commit is over), so per height:
//   start(h)   = earliest newHeads(h-1) over the live nodes + emptyBlockIntervalMs
//   first(h)   = earliest newHeads(h) over the live nodes − start(h)   (the block is final somewhere)
//   all(h)     = latest newHeads(h) over the live nodes − start(h)     (every live node has it)
// Both ends are newHeads notifications received by this process, so the notification path cancels out.
import { performance } from "node:perf_hooks";
import { ValidatorSet } from "../../consensus/core/validatorSet.js";
import { sleep } from "../rpc.js";
import { type LatencySummary, round, summarize } from "../stats.js";
import type { NetObserver } from "./heads.js";
import type { Localnet } from "./localnet.js";

/** Round-0 proposer per height, as the driver computes it (genesis priorities advanced once per height). */
export class ProposerSchedule {
  private set: ValidatorSet;
  private height = 0;
  private readonly nodeOfValidator: number[];
  private readonly indexOfAddress = new Map<string, number>();

  constructor(net: Localnet) {
    this.set = new ValidatorSet(net.validators.map((v) => ({ address: v.address, votingPower: v.votingPower })));
    this.nodeOfValidator = net.validators.map((v, i) => {
      const m = /^node(\d+)$/.exec(v.name);
      return m === null ? i : Number(m[1]);
    });
    for (const [i, v] of net.validators.entries()) this.indexOfAddress.set(v.address, i);
  }

  private at(h: number): ValidatorSet {
    if (h < this.height) {
      this.set = new ValidatorSet(this.set.validators);
      this.height = 0;
    }
    while (this.height < h) {
      this.set = this.set.next();
      this.height++;
    }
    return this.set;
  }

  /** Node index of the round-`r` proposer of height `h`. */
  proposerNode(h: number, r = 0): number {
    return this.nodeOfValidator[this.at(h).proposer(r)];
  }

  /**
   * The round in which the committed block was proposed, from the header's proposer address: 0 when the round-0
   * proposer's block was decided. (With 4 equal validators rounds 0–3 have distinct proposers.) null if unknown.
   */
  proposedInRound(h: number, proposerAddress: string): number | null {
    const idx = this.indexOfAddress.get(proposerAddress);
    if (idx === undefined) return null;
    const vs = this.at(h);
    for (let r = 0; r < vs.size; r++) if (vs.proposer(r) === idx) return r;
    return null;
  }
}

export interface FinalitySample {
  height: number;
  firstMs: number;
  allMs: number;
  round0Proposer: number;
  proposedInRound: number | null;
}

export interface FinalityGroup {
  heights: number;
  firstNodeMs: LatencySummary;
  allNodesMs: LatencySummary;
}

export interface FinalityResult extends FinalityGroup {
  windowSec: number;
  liveNodes: number[];
  emptyBlockIntervalMs: number;
  blocksPerSec: number | null;
  /** First newHeads(h-1) → first newHeads(h): the block interval as a client sees it (includes the interval). */
  blockIntervalMs: LatencySummary;
  /** Heights whose block was not the round-0 proposer's (round 0 failed), estimated from the header proposer. */
  heightsProposedAfterRound0: number;
  /** Split by whether the round-0 proposer of the height is alive (only when a node is down). */
  byRound0Proposer: { alive: FinalityGroup; dead: FinalityGroup } | null;
  /** The 5 slowest heights (all-nodes finality). */
  slowest: FinalitySample[];
  /** Heights in the window that some live node never announced (WebSocket closed or block missed). */
  incompleteHeights: number;
}

function group(samples: FinalitySample[]): FinalityGroup {
  return {
    heights: samples.length,
    firstNodeMs: summarize(samples.map((s) => s.firstMs)),
    allNodesMs: summarize(samples.map((s) => s.allMs)),
  };
}

export async function measureIdleFinality(
  net: Localnet,
  obs: NetObserver,
  schedule: ProposerSchedule,
  durationS: number,
): Promise<FinalityResult> {
  const live = net.live().map((n) => n.index);
  const watchers = obs.watchers.filter((w) => live.includes(w.node.index));
  const highest = () => Math.max(0, ...watchers.flatMap((w) => [...w.byNumber.keys()]));
  const t0 = performance.now();
  const fromHeight = highest() + 2; // h-1 is wholly inside the window
  await sleep(durationS * 1000);
  const toHeight = highest();
  await sleep(1000); // late arrivals of the last heights on the slower nodes
  const windowSec = (performance.now() - 1000 - t0) / 1000;
  const interval = net.emptyBlockIntervalMs;
  const samples: FinalitySample[] = [];
  const intervals: number[] = [];
  let incomplete = 0;
  for (let h = fromHeight; h <= toHeight; h++) {
    const prev = watchers.map((w) => w.byNumber.get(h - 1)?.at).filter((x): x is number => x !== undefined);
    const cur = watchers.map((w) => w.byNumber.get(h)).filter((x) => x !== undefined);
    if (prev.length === 0 || cur.length < watchers.length) {
      incomplete++;
      continue;
    }
    const prevFirst = Math.min(...prev);
    const curAt = cur.map((c) => c.at);
    const start = prevFirst + interval;
    const first = Math.min(...curAt);
    intervals.push(first - prevFirst);
    samples.push({
      height: h,
      firstMs: round(first - start, 2),
      allMs: round(Math.max(...curAt) - start, 2),
      round0Proposer: schedule.proposerNode(h),
      proposedInRound: schedule.proposedInRound(h, cur[0].proposer),
    });
  }
  const dead = net.nodes.filter((n) => !live.includes(n.index)).map((n) => n.index);
  const byRound0Proposer =
    dead.length === 0
      ? null
      : {
          alive: group(samples.filter((s) => !dead.includes(s.round0Proposer))),
          dead: group(samples.filter((s) => dead.includes(s.round0Proposer))),
        };
  return {
    windowSec: round(windowSec, 2),
    liveNodes: live,
    emptyBlockIntervalMs: interval,
    ...group(samples),
    blocksPerSec: toHeight >= fromHeight ? round((toHeight - fromHeight + 1) / windowSec, 1) : null,
    blockIntervalMs: summarize(intervals),
    heightsProposedAfterRound0: samples.filter((s) => s.proposedInRound !== null && s.proposedInRound > 0).length,
    byRound0Proposer,
    slowest: [...samples].sort((a, b) => b.allMs - a.allMs).slice(0, 5),
    incompleteHeights: incomplete,
  };
}
