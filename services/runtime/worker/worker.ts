/**
 * The worker loop. New heads (WebSocket, with a polling fallback) drive it: each head, the market's events
 * since the last scanned block are read by range (so a restart catches up from the journal's last scanned
 * block, and no event is missed while the socket was down), new jobs of the worker's kinds become
 * candidates, challenges naming the worker become verifier duties, and every open job in the journal whose
 * state may have moved is advanced one step at a time by its driver (workDriver.ts, verifyDriver.ts).
 * Drivers reconcile with the market's view of the job before each step, so the same code path resumes a
 * job after a crash.
 */
import type { Logger } from "../../../runtime/lib/logger.js";
import type { StorageBackend } from "../../storage/backend.js";
import { MarketBatcher } from "../chain/batcher.js";
import type { HeadWatcher } from "../chain/heads.js";
import {
  AZR_TOKEN,
  encodeMarketCall,
  kindFromBytes32,
  kindToBytes32,
  LEARN_ADDRESS,
  MARKET_ADDRESS,
  type MarketParams,
  type MarketReader,
  marketEventName,
  marketEventTopic,
  parseMarketLog,
} from "../chain/market.js";
import type { RPCClient } from "../chain/rpcClient.js";
import { toQuantity } from "../chain/rpcClient.js";
import type { TxManager } from "../chain/txManager.js";
import type { BlobStore } from "../content/blobStore.js";
import { TxError, TxErrorCode } from "../errors.js";
import type { JobHandler } from "../handler.js";
import { ACTIVE_WORK_STATES, type JobRole, type JobRow, type Journal } from "../journal.js";
import type { WorkerMetrics } from "../metrics.js";
import type { PricePolicy } from "./policy.js";
import { type DriverContext, stepVerify, stepWork } from "./steps.js";

/** `tamper-segment` is acted on by the video handler (a result whose one segment is altered). */
export type TestFault = "wrong-result" | "no-deliver" | "tamper-segment";

export interface WorkerOptions {
  /** Kinds this worker serves (each has a handler). */
  kinds: string[];
  /** Public base URL of this worker's HTTP API: registered on chain, prefix of its resultURIs. */
  endpoint: string;
  /** Jobs claimed and not yet delivered at once. */
  maxJobs: number;
  /** Claims and submits per batch transaction while one of the same action is unmined (1 = never batch). */
  maxBatch?: number;
  policy: PricePolicy;
  /** Answer replay-verification duties. */
  verify: boolean;
  /** Reclaim jobs of its kinds whose claimer missed the deadline, then try to take them. */
  reclaim: boolean;
  /** Withdraw a token's payouts once at least this much (wei) is withdrawable. */
  withdrawMinWei: bigint;
  /** Stake to keep bonded: registration stake, topped up at start when below (default: the market's minimum). */
  stakeWei?: bigint;
  maxInputBytes: number;
  fetchTimeoutMs: number;
  /** On a first start (empty journal), scan this many blocks back for open jobs. */
  lookbackBlocks: number;
  /** Handler runs of one job before giving up on it (crash loops on a poison input). */
  maxRuns: number;
  progressLogMs: number;
  /** Re-read delivered and watched jobs at least every this many heads. */
  refreshEveryHeads: number;
  /** Test-only misbehaviour (e2e of slashing): submit a wrong result, or claim and never deliver. */
  fault?: TestFault;
}

export interface WorkerDeps {
  address: string;
  rpc: RPCClient;
  market: MarketReader;
  txm: TxManager;
  journal: Journal;
  blobs: BlobStore;
  heads: HeadWatcher;
  handlers: ReadonlyMap<string, JobHandler>;
  logger: Logger;
  metrics: WorkerMetrics | null;
  /** Content storage (IPFS) when the worker runs with it: handlers add trees there. */
  storage?: StorageBackend;
}

const SCANNED_KEY = "scannedBlock";
const LOG_CHUNK_BLOCKS = 5_000;

const WATCHED_EVENTS = [
  "JobPosted",
  "JobClaimed",
  "ResultCommitted",
  "ResultSubmitted",
  "JobAccepted",
  "JobChallenged",
  "VerifierVoted",
  "JobResumed",
  "DisputeResolved",
  "JobFinalized",
  "WorkerPaid",
  "JobRefunded",
  "JobCancelled",
  "WorkerSlashed",
  "ClaimExpired",
] as const;
const WATCHED_TOPICS = WATCHED_EVENTS.map(marketEventTopic);

interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  logIndex: string;
}

export class Worker implements DriverContext {
  readonly address: string;
  params!: MarketParams;
  private readonly kindTopics: Set<string>;
  private readonly busy = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly wakeAt = new Map<string, number>();
  private readonly running = new Map<string, AbortController>();
  private readonly endpoints = new Map<string, string>();
  private ticking = false;
  private tickAgain = false;
  /** A schedule() pass is queued for drivers that just ended. */
  private rescheduling = false;
  /** Jobs a scanned `WorkerPaid` paid this worker for, until their driver settles them (takePaid). */
  private readonly paid = new Set<bigint>();
  private heads = 0;
  private stopped = false;
  private withdrawDue = true;
  private withdrawing = false;
  private readonly drivers = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private stakeCache: { head: number; free: bigint } | undefined;
  private readonly batcher: MarketBatcher | undefined;

  constructor(
    readonly opts: WorkerOptions,
    readonly deps: WorkerDeps,
  ) {
    this.address = deps.address;
    this.kindTopics = new Set(opts.kinds.map((k) => kindToBytes32(k).toLowerCase()));
    const maxBatch = opts.maxBatch ?? 1;
    this.batcher = maxBatch > 1 ? new MarketBatcher(deps.txm, maxBatch) : undefined;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** Registers (or tops up the stake), resumes the journal and starts following heads. */
  async start(): Promise<void> {
    this.params = await this.deps.market.params();
    await this.ensureRegistered();
    await this.resumeWithdrawals();
    const head = this.deps.heads.latest ?? (await this.deps.heads.start());
    if (this.deps.journal.getMeta(SCANNED_KEY) === undefined)
      this.deps.journal.setMeta(SCANNED_KEY, String(Math.max(0, head.number - this.opts.lookbackBlocks - 1)));
    for (const row of this.deps.journal.openJobs()) this.dirty.add(keyOf(row.id, row.role));
    this.deps.heads.onHead(() => {
      this.heads++;
      this.deps.txm.poke();
      void this.tick();
    });
    this.logger.info("worker started", {
      address: this.address,
      kinds: this.opts.kinds,
      endpoint: this.opts.endpoint,
      maxJobs: this.opts.maxJobs,
      head: head.number,
      scannedBlock: Number(this.deps.journal.getMeta(SCANNED_KEY)),
      openJobs: this.deps.journal.openJobs().length,
    });
    void this.tick();
  }

  /** Stops taking jobs, aborts running handlers (their jobs re-run after a restart) and waits for drivers. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.running.values()) c.abort(new Error("worker stopping"));
    await Promise.allSettled([...this.drivers]);
  }

  /** Resolves when no driver is running (tests, bench). */
  idle(): Promise<void> {
    if (this.drivers.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  // ---- DriverContext ----------------------------------------------------------------------------------

  nowSec(): number {
    return this.deps.heads.latest?.timestamp ?? Math.floor(Date.now() / 1000);
  }

  activeWorkJobs(): number {
    return this.deps.journal.countWork(ACTIVE_WORK_STATES);
  }

  handlerFor(kind: string): JobHandler | undefined {
    return this.deps.handlers.get(kind);
  }

  wake(id: bigint, role: JobRole, atSec: number): void {
    const k = keyOf(id, role);
    const cur = this.wakeAt.get(k);
    if (cur === undefined || atSec < cur) this.wakeAt.set(k, atSec);
  }

  trackRun(id: bigint, role: JobRole, c: AbortController | undefined): void {
    const k = keyOf(id, role);
    if (c === undefined) this.running.delete(k);
    else this.running.set(k, c);
    this.deps.metrics?.progress.set(this.running.size);
  }

  runningCount(): number {
    return this.running.size;
  }

  isStopping(): boolean {
    return this.stopped;
  }

  requestWithdraw(): void {
    this.withdrawDue = true;
  }

  async endpointOf(worker: string): Promise<string | undefined> {
    const k = worker.toLowerCase();
    if (k === this.address.toLowerCase()) return this.opts.endpoint;
    if (!this.endpoints.has(k)) {
      try {
        const info = await this.deps.market.worker(worker);
        if (info.registered) this.endpoints.set(k, info.endpoint);
      } catch {
        return undefined;
      }
    }
    return this.endpoints.get(k);
  }

  async sendMarketTx(
    row: JobRow | null,
    action: string,
    args: readonly unknown[],
    value?: bigint,
    gasKey?: string,
    minGas?: bigint,
  ) {
    if (this.batcher !== undefined && row !== null && (action === "claim" || action === "submit"))
      return this.batcher.send({
        action,
        id: row.id,
        args,
        single: { jobId: row.id, role: row.role, value, gasKey, minGas },
      });
    return this.deps.txm.send({
      jobId: row?.id ?? null,
      role: row?.role ?? null,
      action,
      to: MARKET_ADDRESS,
      data: encodeMarketCall(action, args),
      value,
      gasKey,
      minGas,
    });
  }

  async freeStake(atLeast = 0n): Promise<bigint> {
    const head = this.deps.heads.latest?.number ?? -1;
    let c = this.stakeCache;
    // Between reads the figure only shrinks (claims we bond); stake freed by payouts shows on the next read,
    // taken when the figure falls short. A stake cut from outside (an unbond) is seen within refreshEveryHeads
    // blocks; until then a claim it no longer covers fails its simulation and is not sent.
    if (
      c === undefined ||
      (c.head !== head && (c.free < atLeast || head - c.head >= this.opts.refreshEveryHeads || head < c.head))
    ) {
      const info = await this.deps.market.worker(this.address);
      c = { head, free: info.stake - info.locked };
      this.stakeCache = c;
    }
    return c.free;
  }

  noteBond(bond: bigint): void {
    if (this.stakeCache !== undefined) this.stakeCache.free -= bond;
  }

  takePaid(id: bigint): boolean {
    return this.paid.delete(id);
  }

  // ---- the loop ---------------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        await this.scan();
        this.schedule();
        if (this.withdrawDue) void this.withdraw();
      } while (this.tickAgain && !this.stopped);
    } catch (e) {
      this.logger.warn("tick failed; retrying on the next block", {}, e);
    } finally {
      this.ticking = false;
    }
  }

  /** Reads market events from the last scanned block to the head; advances the scanned block atomically. */
  private async scan(): Promise<void> {
    const head = this.deps.heads.latest;
    if (head === undefined) return;
    this.deps.metrics?.headBlock.set(head.number);
    let from = Number(this.deps.journal.getMeta(SCANNED_KEY) ?? "0") + 1;
    while (from <= head.number && !this.stopped) {
      const to = Math.min(head.number, from + LOG_CHUNK_BLOCKS - 1);
      const logs = await this.deps.rpc.call<RawLog[]>("eth_getLogs", [
        {
          fromBlock: toQuantity(from),
          toBlock: toQuantity(to),
          address: MARKET_ADDRESS,
          topics: [WATCHED_TOPICS],
        },
      ]);
      this.deps.journal.transaction(() => {
        for (const log of logs) this.onLog(log);
        this.deps.journal.setMeta(SCANNED_KEY, String(to));
      });
      this.deps.metrics?.scannedBlock.set(to);
      from = to + 1;
    }
  }

  private onLog(log: RawLog): void {
    // Most logs need only their name and indexed fields (the job id is every watched event's first topic): the
    // ABI decoder, with a JobPosted's inline spec URI, runs only for the logs whose data this worker reads.
    const name = marketEventName(log.topics[0]);
    if (name === undefined || log.topics[1] === undefined) return;
    const id = BigInt(log.topics[1]);
    const block = Number(BigInt(log.blockNumber));
    const needsData =
      (name === "JobPosted" && this.kindTopics.has((log.topics[3] ?? "").toLowerCase())) ||
      (name === "JobChallenged" && this.opts.verify);
    const ev = needsData ? parseMarketLog(log) : null;
    if (needsData && ev === null) return;
    /** The indexed worker of JobClaimed, ResultCommitted, ResultSubmitted and WorkerPaid. */
    const worker = log.topics[2] === undefined ? "" : `0x${log.topics[2].slice(26)}`.toLowerCase();
    switch (name) {
      case "JobPosted": {
        if (ev === null) return;
        const kind = kindFromBytes32(log.topics[3]);
        if (
          this.deps.journal.addJob({
            id,
            role: "work",
            kind,
            state: "candidate",
            token: ev.args.token as string,
            price: ev.args.price as bigint,
            foundBlock: block,
          })
        )
          this.logger.debug("job found", { job: id, kind, price: ev.args.price, block });
        break;
      }
      case "JobChallenged": {
        if (ev === null) break;
        const verifiers = (ev.args.verifiers as string[]).map((a) => a.toLowerCase());
        if (!verifiers.includes(this.address.toLowerCase())) break;
        // kind is filled in by the driver from the job view; a job challenged again (Retrieval) starts a new round
        if (
          this.deps.journal.addJob({ id, role: "verify", kind: "", state: "assigned", foundBlock: block }) ||
          this.deps.journal.reassignVerifier(id, block)
        )
          this.logger.info("verifier duty", { job: id, challenger: ev.args.challenger });
        this.dirty.add(keyOf(id, "verify"));
        break;
      }
      case "WorkerPaid": {
        if (worker !== this.address.toLowerCase()) break;
        // bounded: entries go when the job's driver settles it; a journal without the job never takes them
        if (this.paid.size >= 65_536) this.paid.clear();
        this.paid.add(id);
        break;
      }
      default:
        break;
    }
    // This worker's own claim and deliveries: its driver sent them and moved on from their receipts; a re-read of
    // the job for them would only cost a view per job (the states that wait for events are not waiting for these).
    const own =
      (name === "JobClaimed" || name === "ResultSubmitted" || name === "ResultCommitted") &&
      worker === this.address.toLowerCase();
    if (!own) this.dirty.add(keyOf(id, "work"));
    this.dirty.add(keyOf(id, "verify"));
  }

  /** Starts a driver for every open job that may move: new, dirty, due, or periodically. */
  private schedule(): void {
    if (this.stopped) return;
    const now = this.nowSec();
    const refresh = this.heads % this.opts.refreshEveryHeads === 0;
    let capacity = this.opts.maxJobs - this.activeWorkJobs();
    for (const row of this.deps.journal.openJobs()) {
      const k = keyOf(row.id, row.role);
      if (this.busy.has(k)) continue;
      const wake = this.wakeAt.get(k);
      const due = wake !== undefined && now >= wake;
      let go: boolean;
      switch (row.state) {
        case "candidate":
          // oldest first, only as many as there is room for (a full worker does not poll every offer)
          go = capacity > 0;
          if (go) capacity--;
          break;
        case "delivered":
        case "committed":
        case "watching":
          go = this.dirty.has(k) || due || refresh;
          break;
        default:
          go = true;
      }
      if (!go) continue;
      this.dirty.delete(k);
      this.wakeAt.delete(k);
      this.drive(row);
    }
  }

  private drive(row: JobRow): void {
    const k = keyOf(row.id, row.role);
    this.busy.add(k);
    const p = (async () => {
      try {
        for (let steps = 0; steps < 32 && !this.stopped; steps++) {
          const cur = this.deps.journal.getJob(row.id, row.role);
          if (cur === undefined || cur.state === "done") break;
          const next = cur.role === "work" ? await stepWork(this, cur) : await stepVerify(this, cur);
          if (next === "wait") break;
        }
      } catch (e) {
        this.logger.warn("job step failed; retrying on a later block", { job: row.id, role: row.role }, e);
        this.wake(row.id, row.role, this.nowSec() + 1);
      } finally {
        this.busy.delete(k);
      }
    })();
    this.drivers.add(p);
    void p.finally(() => {
      this.drivers.delete(p);
      if (this.drivers.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      // a job that finished may free capacity for waiting candidates (drivers ending together: one pass)
      if (!this.stopped && !this.rescheduling) {
        this.rescheduling = true;
        setImmediate(() => {
          this.rescheduling = false;
          this.schedule();
        });
      }
    });
  }

  // ---- registration and payouts -----------------------------------------------------------------------

  private async ensureRegistered(): Promise<void> {
    const info = await this.deps.market.worker(this.address);
    const target = this.opts.stakeWei ?? this.params.minWorkerStake;
    if (!info.registered) {
      this.logger.info("registering worker", { kinds: this.opts.kinds, endpoint: this.opts.endpoint, stake: target });
      await this.sendMarketTx(null, "registerWorker", [this.opts.kinds.map(kindToBytes32), this.opts.endpoint], target);
      return;
    }
    const missing = this.opts.kinds.filter((k) => !info.kinds.includes(k));
    if (missing.length > 0)
      this.logger.warn(
        "worker is registered without some of the kinds it serves; the market will refuse its claims for them",
        {
          missing,
          registered: info.kinds,
        },
      );
    if (info.endpoint !== this.opts.endpoint)
      this.logger.warn(
        "registered endpoint differs from this worker's; verifiers fetch inputs from the registered one",
        {
          registered: info.endpoint,
          endpoint: this.opts.endpoint,
        },
      );
    if (info.stake < target) {
      this.logger.info("topping up stake", { stake: info.stake, target });
      await this.sendMarketTx(null, "addStake", [], target - info.stake);
    }
  }

  private async resumeWithdrawals(): Promise<void> {
    for (const tx of this.deps.txm.pending()) {
      if (tx.action !== "withdraw") continue;
      void this.deps.txm
        .wait(tx.seq)
        .then((o) => this.recordWithdrawn(o.logs))
        .catch(() => {});
    }
  }

  private async withdraw(): Promise<void> {
    if (this.withdrawing || this.stopped) return;
    this.withdrawing = true;
    this.withdrawDue = false;
    try {
      for (const token of [AZR_TOKEN, LEARN_ADDRESS]) {
        const amount = await this.deps.market.withdrawable(this.address, token);
        if (amount === 0n || amount < this.opts.withdrawMinWei) continue;
        try {
          const o = await this.sendMarketTx(null, "withdraw", [token]);
          this.recordWithdrawn(o.logs);
        } catch (e) {
          if (e instanceof TxError && e.code === TxErrorCode.WOULD_REVERT) continue;
          throw e;
        }
      }
    } catch (e) {
      this.withdrawDue = true;
      this.logger.warn("withdraw failed; will retry", {}, e);
    } finally {
      this.withdrawing = false;
    }
  }

  private recordWithdrawn(logs: readonly { topics: string[]; data: string; address: string }[]): void {
    for (const log of logs) {
      if (log.address.toLowerCase() !== MARKET_ADDRESS.toLowerCase()) continue;
      const ev = parseMarketLog(log);
      if (ev?.name !== "Withdrawn") continue;
      const token = ev.args.token as string;
      const amount = ev.args.amount as bigint;
      this.deps.journal.addWithdrawn(token, amount);
      this.logger.info("withdrew payouts", { token: token === AZR_TOKEN ? "AZR" : "LEARN", amount });
    }
  }
}

export function keyOf(id: bigint, role: JobRole): string {
  return `${role}:${id}`;
}
