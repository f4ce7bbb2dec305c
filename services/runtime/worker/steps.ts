/**
 * One step of a job, from the journal's state and the market's view of the job. Each step is idempotent
 * against a crash: it reads the chain first and moves the journal to what the chain says (a claim or
 * submit mined just before a crash is recognised, not repeated), writes intent before acting, and sends at
 * most one transaction. Returns "again" when another step can follow at once, "wait" when the job needs a
 * new block, an event or a deadline.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "../../../runtime/lib/logger.js";
import type { StorageBackend } from "../../storage/backend.js";
import { backendSource, readVerified } from "../../storage/retrieve.js";
import {
  claimBondFor,
  commitmentOf,
  hasDelivered,
  JobStatus,
  type JobView,
  MARKET_ADDRESS,
  type MarketParams,
  type MarketReader,
  marketInterface,
  parseMarketLog,
  SlotStatus,
  TERMINAL_JOB_STATUSES,
} from "../chain/market.js";
import type { TxManager, TxOutcome } from "../chain/txManager.js";
import type { BlobStore } from "../content/blobStore.js";
import { cidFromSha256, sha256Hex } from "../content/cid.js";
import { fetchVerified } from "../content/fetcher.js";
import { TxError, TxErrorCode } from "../errors.js";
import type { JobHandler, JobOutput } from "../handler.js";
import type { JobOutcome, JobRole, JobRow, Journal } from "../journal.js";
import type { WorkerMetrics } from "../metrics.js";
import { fetchInput, type JobSpecDocument, loadSpec, paramsOf } from "../spec.js";
import { execute } from "./execute.js";
import { decide } from "./policy.js";
import type { WorkerOptions } from "./worker.js";

export type Step = "again" | "wait";

/** Gas floor for calls that may settle the job depending on what lands before them (see TxIntent.minGas). */
const SETTLING_GAS = 1_500_000n;

/** What a step needs from the worker (implemented by Worker; a narrow port for the step logic). */
export interface DriverContext {
  readonly address: string;
  readonly params: MarketParams;
  readonly opts: WorkerOptions;
  readonly deps: {
    market: MarketReader;
    txm: TxManager;
    journal: Journal;
    blobs: BlobStore;
    metrics: WorkerMetrics | null;
    /** Content storage (IPFS) when the worker runs with it. */
    storage?: StorageBackend;
  };
  readonly logger: Logger;
  nowSec(): number;
  activeWorkJobs(): number;
  handlerFor(kind: string): JobHandler | undefined;
  wake(id: bigint, role: JobRole, atSec: number): void;
  trackRun(id: bigint, role: JobRole, c: AbortController | undefined): void;
  isStopping(): boolean;
  requestWithdraw(): void;
  /**
   * stake − locked of this worker: a cached figure that only shrinks (by `noteBond`) between reads, read again
   * when it is below `atLeast` (bonds released since may cover it) or every `refreshEveryHeads` blocks.
   */
  freeStake(atLeast?: bigint): Promise<bigint>;
  /** A claim just locked `bond`: the cached free stake shrinks until the next read. */
  noteBond(bond: bigint): void;
  /**
   * Whether the scan saw a `WorkerPaid` to this worker for the job (consumed by the call): a delivered job
   * that was paid is settled without reading its view.
   */
  takePaid(id: bigint): boolean;
  endpointOf(worker: string): Promise<string | undefined>;
  sendMarketTx(
    row: JobRow | null,
    action: string,
    args: readonly unknown[],
    value?: bigint,
    gasKey?: string,
    minGas?: bigint,
  ): Promise<TxOutcome>;
}

// ---- shared helpers ---------------------------------------------------------------------------------------

function mySlot(ctx: DriverContext, view: JobView): number {
  const me = ctx.address.toLowerCase();
  return view.slots.findIndex((s) => s.worker.toLowerCase() === me && s.status !== SlotStatus.Empty);
}

function finish(ctx: DriverContext, row: JobRow, outcome: JobOutcome, reason?: string): Step {
  ctx.deps.journal.updateJob(row.id, row.role, {
    state: "done",
    outcome,
    reason: reason ?? null,
    progress: null,
    progressNote: null,
  });
  const fields = { job: row.id, role: row.role, outcome, reason };
  if (outcome === "slashed" || outcome === "expired" || outcome === "failed") ctx.logger.warn("job done", fields);
  else if (outcome === "skipped" || outcome === "lost") ctx.logger.debug("job done", fields);
  else ctx.logger.info("job done", fields);
  if (outcome === "paid" || outcome === "refunded" || outcome === "voted") ctx.requestWithdraw();
  return "wait";
}

/** A batch transaction (claimMany, submitMany) names no job in the journal: its calldata does. */
function batchHolds(t: { jobId: bigint | null; action: string; data: string }, id: bigint): boolean {
  if (t.jobId !== null || (t.action !== "claimMany" && t.action !== "submitMany")) return false;
  const ids = marketInterface.decodeFunctionData(t.action, t.data)[0] as bigint[];
  return ids.includes(id);
}

/** Waits for a transaction of this job that is still pending (after a restart). */
async function awaitPending(ctx: DriverContext, row: JobRow): Promise<boolean> {
  const pending = ctx.deps.txm
    .pending()
    .find((t) => (t.jobId === row.id && t.role === row.role) || (row.role === "work" && batchHolds(t, row.id)));
  if (pending === undefined) return false;
  try {
    await ctx.deps.txm.wait(pending.seq);
  } catch {
    // settled as replaced/rejected: the next step reconciles with the chain
  }
  return true;
}

/** Sends a market call; a simulation revert is reported (and the job waits), a mined revert likewise. */
async function trySend(
  ctx: DriverContext,
  row: JobRow,
  action: string,
  args: readonly unknown[],
  value?: bigint,
  gasKey?: string,
  minGas?: bigint,
): Promise<{ ok: true; outcome: TxOutcome } | { ok: false; error: string }> {
  try {
    const outcome = await ctx.sendMarketTx(row, action, args, value, gasKey, minGas);
    if (outcome.status === "reverted") return { ok: false, error: "Reverted" };
    return { ok: true, outcome };
  } catch (e) {
    if (
      e instanceof TxError &&
      (e.type.code === TxErrorCode.WOULD_REVERT || e.type.code === TxErrorCode.BATCH_ITEM_SKIPPED)
    )
      return { ok: false, error: e.type.error };
    if (e instanceof TxError) return { ok: false, error: e.code };
    throw e;
  }
}

const specCache = new Map<string, JobSpecDocument>();

async function specOf(ctx: DriverContext, view: JobView): Promise<JobSpecDocument> {
  const k = `${view.id}`;
  const hit = specCache.get(k);
  if (hit !== undefined) return hit;
  const doc = await loadSpec(view.spec.specURI, view.spec.kind, {
    maxBytes: ctx.opts.maxInputBytes,
    timeoutMs: ctx.opts.fetchTimeoutMs,
  });
  if (specCache.size > 1000) specCache.delete(specCache.keys().next().value as string);
  specCache.set(k, doc);
  return doc;
}

/** The job's input, from the local blob store or fetched (and kept there, so verifiers can fetch it here). */
async function inputOf(ctx: DriverContext, view: JobView, doc: JobSpecDocument): Promise<Uint8Array> {
  const cid = cidFromSha256(view.spec.inputHash);
  const local = await ctx.deps.blobs.get(cid);
  if (local !== undefined) return local.bytes;
  const endpoints: string[] = [];
  for (const s of view.slots) {
    if (s.status === SlotStatus.Empty || s.worker.toLowerCase() === ctx.address.toLowerCase()) continue;
    const e = await ctx.endpointOf(s.worker);
    if (e !== undefined) endpoints.push(e);
  }
  const storage = ctx.deps.storage;
  const bytes = await fetchInput(doc, view.spec.inputHash, endpoints, {
    maxBytes: ctx.opts.maxInputBytes,
    timeoutMs: ctx.opts.fetchTimeoutMs,
    // ipfs:// inputs: this worker's IPFS node (bitswap), then the claimers' gateways
    gateways: endpoints,
    ipfs:
      storage === undefined
        ? undefined
        : (cid, path, o) => readVerified(cid, path, backendSource(storage, ctx.opts.fetchTimeoutMs), o),
  });
  await ctx.deps.blobs.put(bytes, doc.azora.input.contentType);
  return bytes;
}

function resultURI(ctx: DriverContext, cid: string): string {
  return `${ctx.opts.endpoint.replace(/\/+$/, "")}/blobs/${cid}`;
}

/** Runs the handler under the job's deadline; stores the output; returns it with its hash and CID. */
async function compute(
  ctx: DriverContext,
  row: JobRow,
  view: JobView,
  deadlineSec: number | undefined,
): Promise<{ output: JobOutput; hash: string; cid: string }> {
  const handler = ctx.handlerFor(view.spec.kind);
  if (handler === undefined) throw new Error(`no handler for ${view.spec.kind}`);
  const doc = await specOf(ctx, view);
  const input = await inputOf(ctx, view, doc);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  if (deadlineSec !== undefined) {
    const ms = Math.max(0, (deadlineSec - ctx.nowSec()) * 1000);
    timer = setTimeout(() => controller.abort(new Error("delivery deadline passed")), ms);
  }
  ctx.trackRun(row.id, row.role, controller);
  let lastSaved = 0;
  const startedMs = Date.now();
  try {
    const ran = await execute(
      handler,
      { id: view.id, kind: view.spec.kind, spec: paramsOf(doc), input },
      {
        signal: controller.signal,
        logger: ctx.logger,
        progressLogMs: ctx.opts.progressLogMs,
        storage: ctx.deps.storage,
        onProgress: (f, note) => {
          const t = Date.now();
          if (t - lastSaved < 1000) return;
          lastSaved = t;
          const elapsedS = (t - startedMs) / 1000;
          const eta = f > 0 ? Math.round((elapsedS * (1 - f)) / f) : undefined;
          const detail = [note, eta === undefined ? undefined : `ETA ${eta} s`].filter((x) => x !== undefined);
          ctx.deps.journal.updateJob(row.id, row.role, {
            progress: f,
            progressNote: detail.length > 0 ? detail.join(", ") : null,
          });
        },
      },
    );
    ctx.deps.metrics?.handlerSeconds.observe(
      { kind: view.spec.kind, outcome: ran.inputError === undefined ? "ok" : "input_error" },
      ran.ms / 1000,
    );
    let output = ran.output;
    if (row.role === "work" && ctx.opts.fault === "wrong-result")
      output = { ...output, bytes: new Uint8Array(Buffer.concat([output.bytes, Buffer.from("\n#tampered")])) };
    const stored = await ctx.deps.blobs.put(output.bytes, output.contentType);
    return { output, hash: sha256Hex(output.bytes), cid: stored.cid };
  } catch (e) {
    ctx.deps.metrics?.handlerSeconds.observe({ kind: view.spec.kind, outcome: "error" }, 0);
    throw e;
  } finally {
    clearTimeout(timer);
    ctx.trackRun(row.id, row.role, undefined);
  }
}

/** The market event `name` this worker caused in a transaction's receipt, if any. */
function ownEvent(ctx: DriverContext, outcome: TxOutcome, name: string) {
  for (const log of outcome.logs) {
    if (log.address.toLowerCase() !== MARKET_ADDRESS.toLowerCase()) continue;
    const ev = parseMarketLog(log);
    if (ev?.name !== name) continue;
    if (ev.args.worker !== undefined && String(ev.args.worker).toLowerCase() !== ctx.address.toLowerCase()) continue;
    return ev;
  }
  return undefined;
}

/** Runs the handler for a claimed job and journals the result; "computed" when there is one to deliver. */
async function runJob(ctx: DriverContext, row: JobRow, view: JobView, deliverBy: number): Promise<Step | "computed"> {
  const { journal } = ctx.deps;
  if (ctx.nowSec() >= deliverBy) return finish(ctx, row, "expired", "delivery deadline passed");
  if (row.runs >= ctx.opts.maxRuns) return finish(ctx, row, "failed", `gave up after ${row.runs} runs`);
  journal.updateJob(row.id, "work", { runs: row.runs + 1 });
  let res: Awaited<ReturnType<typeof compute>>;
  try {
    res = await compute(ctx, row, view, deliverBy);
  } catch (e) {
    if (ctx.isStopping()) return "wait";
    ctx.logger.warn("job run failed", { job: row.id, run: row.runs + 1 }, e);
    ctx.wake(row.id, "work", ctx.nowSec() + 1);
    return "wait";
  }
  const salt = view.spec.redundancy > 1 ? `0x${randomBytes(32).toString("hex")}` : null;
  journal.updateJob(row.id, "work", {
    state: "computed",
    resultHash: res.hash,
    resultCID: res.cid,
    resultType: res.output.contentType,
    salt,
    progress: 1,
    progressNote: null,
  });
  ctx.logger.info("job computed", { job: row.id, resultHash: res.hash, cid: res.cid });
  return "computed";
}

/**
 * What a metered handler's result claims of the price (`JobHandler.meter`), from the stored result bytes, so a
 * worker restarted between computing and submitting claims the same; undefined for kinds paid whole.
 */
async function meteredClaim(ctx: DriverContext, row: JobRow, view: JobView): Promise<bigint | undefined> {
  const handler = ctx.handlerFor(view.spec.kind);
  if (handler?.meter === undefined) return undefined;
  const stored = await ctx.deps.blobs.get(row.resultCID as string);
  // runJob stores the result before it journals "computed"; a missing blob is a broken data dir
  if (stored === undefined)
    throw new Error(`job ${row.id}: computed result ${row.resultCID} missing from the blob store`);
  return handler.meter(stored.bytes, BigInt(view.spec.price));
}

/** Submits (redundancy 1) or commits a computed result; the receipt moves the journal on. */
async function deliver(ctx: DriverContext, row: JobRow, view: JobView): Promise<Step> {
  const { journal } = ctx.deps;
  if (ctx.opts.fault === "no-deliver") return "wait";
  const hash = row.resultHash as string;
  const uri = resultURI(ctx, row.resultCID as string);
  const single = view.spec.redundancy === 1;
  const earned = single ? await meteredClaim(ctx, row, view) : undefined;
  const r = single
    ? earned === undefined
      ? await trySend(ctx, row, "submit", [row.id, hash, uri], undefined, "submit")
      : await trySend(ctx, row, "submitMetered", [row.id, hash, uri, earned], undefined, "submitMetered")
    : await trySend(
        ctx,
        row,
        "commit",
        [row.id, commitmentOf(hash, ctx.address, row.salt as string)],
        undefined,
        "commit",
      );
  if (!r.ok) {
    ctx.logger.warn("delivery refused", { job: row.id, error: r.error });
    ctx.wake(row.id, "work", ctx.nowSec() + 1);
    return "wait";
  }
  ctx.logger.info(single ? "result submitted" : "result committed", { job: row.id, hash });
  if (single && ownEvent(ctx, r.outcome, "ResultSubmitted") !== undefined) {
    journal.updateJob(row.id, "work", { state: "delivered" });
    ctx.wake(row.id, "work", ctx.nowSec() + view.spec.challengeWindow);
    return "wait";
  }
  if (!single && ownEvent(ctx, r.outcome, "ResultCommitted") !== undefined) {
    journal.updateJob(row.id, "work", { state: "committed" });
    // the last commitment opens the reveals: reveal right away
    return ownEvent(ctx, r.outcome, "RevealOpened") === undefined ? "wait" : "again";
  }
  return "again";
}

// ---- work ---------------------------------------------------------------------------------------------------

export async function stepWork(ctx: DriverContext, row: JobRow): Promise<Step> {
  if (await awaitPending(ctx, row)) return "again";
  const { journal } = ctx.deps;
  // Paid for a delivered job (the WorkerPaid log says so): done, with no view to read — unless the handler has
  // something to release, which takes the job's spec from the view.
  if (row.state === "delivered" && ctx.handlerFor(row.kind)?.release === undefined && ctx.takePaid(row.id))
    return finish(ctx, row, "paid");
  const view = await ctx.deps.market.job(row.id);
  const idx = mySlot(ctx, view);
  const slot = idx >= 0 ? view.slots[idx] : undefined;
  const now = ctx.nowSec();

  switch (row.state) {
    case "candidate": {
      if (idx >= 0) {
        journal.updateJob(row.id, "work", { state: "claimed", slot: idx });
        return "again";
      }
      if (ctx.isStopping()) return "wait";
      const d = decide(
        view,
        ctx.params,
        ctx.opts.policy,
        {
          address: ctx.address,
          freeStake: await ctx.freeStake(claimBondFor(view.spec.price, ctx.params)),
          active: ctx.activeWorkJobs(),
          maxJobs: ctx.opts.maxJobs,
        },
        now,
      );
      ctx.deps.metrics?.decisions.inc({ decision: d.take ? "take" : d.reason });
      if (!d.take) {
        if (d.later) return "wait";
        if (d.reason === "no_free_slot" || d.reason === "not_open") {
          if (!TERMINAL_JOB_STATUSES.has(view.status) && ctx.opts.reclaim) {
            journal.updateJob(row.id, "work", { state: "watching" });
            return "again";
          }
        }
        return finish(ctx, row, "skipped", d.reason);
      }
      // Fetch and check everything before claiming: never bond a job whose input cannot be had.
      let refused: string | undefined;
      try {
        const doc = await specOf(ctx, view);
        const input = await inputOf(ctx, view, doc);
        refused = await ctx
          .handlerFor(view.spec.kind)
          ?.admit?.({ id: view.id, kind: view.spec.kind, spec: paramsOf(doc), input }, AbortSignal.timeout(120_000), {
            storage: ctx.deps.storage,
            deliverWindowSec: view.spec.deliverWindow,
          });
      } catch (e) {
        const code = (e as { code?: string }).code ?? "FETCH_FAILED";
        ctx.logger.info("job input unavailable; not claiming", { job: row.id, code });
        return finish(ctx, row, "skipped", code);
      }
      if (refused !== undefined) {
        ctx.deps.metrics?.decisions.inc({ decision: "refused_by_handler" });
        ctx.logger.info("job refused by the handler; not claiming", { job: row.id, reason: refused });
        return finish(ctx, row, "skipped", refused.slice(0, 300));
      }
      journal.updateJob(row.id, "work", { state: "claiming" });
      const r = await trySend(ctx, row, "claim", [row.id], undefined, `claim/${view.spec.redundancy}`);
      if (!r.ok) {
        // A lost race is normal: someone else was faster.
        ctx.logger.debug("claim not taken", { job: row.id, error: r.error });
        journal.updateJob(row.id, "work", { state: ctx.opts.reclaim ? "watching" : "candidate" });
        if (!ctx.opts.reclaim) return finish(ctx, row, "lost", r.error);
        return "again";
      }
      ctx.noteBond(d.bond);
      const claimed = ownEvent(ctx, r.outcome, "JobClaimed");
      if (claimed === undefined) return "again"; // reconcile from the view
      const slotIdx = Number(claimed.args.slot);
      journal.updateJob(row.id, "work", { state: "claimed", slot: slotIdx });
      ctx.logger.info("claimed job", { job: row.id, kind: view.spec.kind, price: view.spec.price, bond: d.bond });
      // Fast path: the receipt says what the view would; run and deliver without reading the job again.
      const ran = await runJob(ctx, journal.getJob(row.id, "work") as JobRow, view, Number(claimed.args.deliverBy));
      if (ran !== "computed") return ran;
      return deliver(ctx, journal.getJob(row.id, "work") as JobRow, view);
    }

    case "claiming": {
      // Reached only after a restart (or a failed claim): the chain says whether the claim landed.
      if (idx >= 0) {
        journal.updateJob(row.id, "work", { state: "claimed", slot: idx });
        return "again";
      }
      journal.updateJob(row.id, "work", { state: view.status === JobStatus.Open ? "candidate" : "watching" });
      return "again";
    }

    case "claimed":
    case "computed": {
      if (slot === undefined) return finish(ctx, row, "expired", "claim no longer held");
      // settled already (e.g. accepted between our submit and this read)
      if (
        slot.status === SlotStatus.Paid ||
        slot.status === SlotStatus.Slashed ||
        TERMINAL_JOB_STATUSES.has(view.status)
      )
        return settleDelivered(ctx, row, view, slot.status);
      if (slot.status === SlotStatus.Committed) {
        journal.updateJob(row.id, "work", { state: "committed", slot: idx });
        return "again";
      }
      if (slot.status === SlotStatus.Revealed) {
        journal.updateJob(row.id, "work", { state: "delivered", slot: idx });
        return "again";
      }
      if (slot.status !== SlotStatus.Claimed) return "wait";
      if (now >= slot.deliverBy) return finish(ctx, row, "expired", "delivery deadline passed");
      if (row.state === "claimed") {
        journal.updateJob(row.id, "work", { slot: idx });
        const ran = await runJob(ctx, row, view, slot.deliverBy);
        return ran === "computed" ? "again" : ran;
      }
      return deliver(ctx, row, view);
    }

    case "committed": {
      if (slot === undefined) return finish(ctx, row, "expired", "claim no longer held");
      if (slot.status === SlotStatus.Paid || slot.status === SlotStatus.Slashed)
        return settleDelivered(ctx, row, view, slot.status);
      if (slot.status === SlotStatus.Revealed) {
        journal.updateJob(row.id, "work", { state: "delivered" });
        return "again";
      }
      if (TERMINAL_JOB_STATUSES.has(view.status)) return settleDelivered(ctx, row, view, slot.status);
      if (view.revealEnds === 0) {
        // Reveals open once every live slot has committed; a no-show is reclaimed after its deadline.
        const next = Math.min(...view.slots.filter((s) => s.status === SlotStatus.Claimed).map((s) => s.deliverBy));
        if (Number.isFinite(next)) ctx.wake(row.id, "work", next);
        return "wait";
      }
      if (now >= view.revealEnds) return finish(ctx, row, "expired", "reveal window passed");
      const r = await trySend(
        ctx,
        row,
        "reveal",
        [row.id, row.resultHash, resultURI(ctx, row.resultCID as string), row.salt],
        undefined,
        undefined,
        SETTLING_GAS,
      );
      if (!r.ok) {
        ctx.logger.debug("reveal not possible yet", { job: row.id, error: r.error });
        ctx.wake(row.id, "work", now + 1);
        return "wait";
      }
      ctx.logger.info("result revealed", { job: row.id });
      return "again";
    }

    case "delivered": {
      if (slot === undefined) {
        // slot gone: slashed in a dispute, or the job settled without us
        return settleDelivered(ctx, row, view, SlotStatus.Slashed);
      }
      if (
        TERMINAL_JOB_STATUSES.has(view.status) ||
        slot.status === SlotStatus.Paid ||
        slot.status === SlotStatus.Slashed
      )
        return settleDelivered(ctx, row, view, slot.status);
      if (view.status === JobStatus.Submitted && view.challengeEnds > 0) {
        if (now < view.challengeEnds) {
          ctx.wake(row.id, "work", view.challengeEnds);
          return "wait";
        }
        const r = await trySend(ctx, row, "finalize", [row.id]);
        if (!r.ok) ctx.wake(row.id, "work", now + 1);
        return r.ok ? "again" : "wait";
      }
      if (view.status === JobStatus.Challenged && view.disputeEnds > 0) {
        if (now < view.disputeEnds) {
          ctx.wake(row.id, "work", view.disputeEnds);
          return "wait";
        }
        const r = await trySend(ctx, row, "finalize", [row.id]);
        if (!r.ok) ctx.wake(row.id, "work", now + 2);
        return r.ok ? "again" : "wait";
      }
      return "wait";
    }

    case "watching": {
      if (idx >= 0) {
        journal.updateJob(row.id, "work", { state: "claimed", slot: idx });
        return "again";
      }
      if (
        TERMINAL_JOB_STATUSES.has(view.status) ||
        view.status === JobStatus.Submitted ||
        view.status === JobStatus.Challenged
      )
        return finish(ctx, row, "lost");
      if (view.status === JobStatus.Open && ctx.activeWorkJobs() < ctx.opts.maxJobs) {
        journal.updateJob(row.id, "work", { state: "candidate" });
        return "again";
      }
      const late = view.slots.filter(
        (s) =>
          (s.status === SlotStatus.Claimed && now >= s.deliverBy) ||
          (s.status === SlotStatus.Committed && view.revealEnds > 0 && now >= view.revealEnds),
      );
      if (late.length > 0 && ctx.opts.reclaim) {
        const r = await trySend(ctx, row, "reclaim", [row.id]);
        if (r.ok) {
          ctx.logger.info("reclaimed job from a worker that missed its deadline", {
            job: row.id,
            workers: late.map((s) => s.worker),
          });
          journal.updateJob(row.id, "work", { state: "candidate" });
          return "again";
        }
        ctx.wake(row.id, "work", now + 1);
        return "wait";
      }
      const next = Math.min(
        ...view.slots.filter((s) => s.status === SlotStatus.Claimed).map((s) => s.deliverBy),
        ...(view.revealEnds > 0 ? [view.revealEnds] : []),
      );
      if (Number.isFinite(next)) ctx.wake(row.id, "work", next);
      return "wait";
    }

    default:
      return "wait";
  }
}

async function settleDelivered(ctx: DriverContext, row: JobRow, view: JobView, slotStatus: SlotStatus): Promise<Step> {
  const outcome = settledOutcome(view, slotStatus);
  if (outcome === undefined) return "wait";
  await release(ctx, row, view);
  return finish(ctx, row, outcome);
}

/** How a job this worker delivered ended, from its slot and the job; undefined while it has not. */
function settledOutcome(view: JobView, slotStatus: SlotStatus): JobOutcome | undefined {
  if (slotStatus === SlotStatus.Paid) return "paid";
  if (slotStatus === SlotStatus.Slashed) return "slashed";
  if (view.status === JobStatus.Finalized) return "paid";
  if (view.status === JobStatus.Refunded) return "refunded";
  if (view.status === JobStatus.Cancelled) return "cancelled";
  return undefined;
}

/** The job ended: the handler lets go of what it kept for it (a pin). Best effort: the job is done either way. */
async function release(ctx: DriverContext, row: JobRow, view: JobView): Promise<void> {
  const handler = ctx.handlerFor(view.spec.kind);
  if (handler?.release === undefined) return;
  try {
    const doc = await specOf(ctx, view);
    const input = await inputOf(ctx, view, doc);
    await handler.release(
      { id: view.id, kind: view.spec.kind, spec: paramsOf(doc), input },
      { storage: ctx.deps.storage },
    );
  } catch (e) {
    ctx.logger.warn("releasing a finished job's resources failed", { job: row.id }, e);
  }
}

// ---- verify -------------------------------------------------------------------------------------------------

/**
 * A replay duty: re-run the job, compare with each delivered result under the handler's rule, vote for the
 * delivered hash that agrees with our own output, else for our own hash.
 */
export async function stepVerify(ctx: DriverContext, row: JobRow): Promise<Step> {
  if (await awaitPending(ctx, row)) return "again";
  const { journal } = ctx.deps;
  const view = await ctx.deps.market.job(row.id);
  if (row.kind === "") journal.updateJob(row.id, "verify", { kind: view.spec.kind });
  if (view.status !== JobStatus.Challenged)
    return finish(ctx, row, row.voteHash === null ? "skipped" : "voted", "dispute over");
  const me = ctx.address.toLowerCase();
  const index = view.verifiers.findIndex((v) => v.toLowerCase() === me);
  if (index < 0) return finish(ctx, row, "skipped", "not a verifier");
  if (view.voted[index] === true) return finish(ctx, row, "voted");
  if (view.disputeEnds > 0 && ctx.nowSec() >= view.disputeEnds) return finish(ctx, row, "expired", "vote window over");

  if (row.state === "assigned") {
    const handler = ctx.handlerFor(view.spec.kind);
    if (handler === undefined) return finish(ctx, row, "skipped", "kind not served");
    if (row.runs >= ctx.opts.maxRuns) return finish(ctx, row, "failed", `gave up after ${row.runs} runs`);
    journal.updateJob(row.id, "verify", { runs: row.runs + 1 });
    if (handler.check !== undefined) return spotCheck(ctx, row, view, handler);
    let own: Awaited<ReturnType<typeof compute>>;
    try {
      own = await compute(ctx, row, view, view.disputeEnds > 0 ? view.disputeEnds : undefined);
    } catch (e) {
      if (ctx.isStopping()) return "wait";
      ctx.logger.warn("verification run failed", { job: row.id }, e);
      ctx.wake(row.id, "verify", ctx.nowSec() + 1);
      return "wait";
    }
    let vote = own.hash;
    const delivered = [...new Set(view.slots.filter((s) => hasDelivered(s.status)).map((s) => s.resultHash))];
    for (const h of delivered) {
      if (h.toLowerCase() === own.hash.toLowerCase()) {
        vote = h;
        break;
      }
      const bytes = await fetchDelivered(ctx, view, h);
      if (bytes === undefined) continue;
      const doc = await specOf(ctx, view);
      const input = await inputOf(ctx, view, doc);
      let agrees = false;
      try {
        agrees = handler.agrees(own.output, bytes, { id: view.id, kind: view.spec.kind, spec: paramsOf(doc), input });
      } catch (e) {
        // a malformed delivered result simply does not agree
        ctx.logger.debug("delivered result not comparable", { job: row.id, hash: h, err: (e as Error).message });
      }
      if (agrees) {
        vote = h;
        break;
      }
    }
    journal.updateJob(row.id, "verify", {
      state: "computed",
      voteHash: vote,
      round: view.disputeEnds,
      resultHash: own.hash,
      resultCID: own.cid,
      resultType: own.output.contentType,
    });
    ctx.logger.info("verification computed", { job: row.id, own: own.hash, vote, delivered });
    return "again";
  }

  if (row.state === "computed" && row.round !== view.disputeEnds) {
    // computed for an earlier round of a job challenged again (Retrieval): that answer is not this round's
    journal.updateJob(row.id, "verify", { state: "assigned", voteHash: null, runs: 0, round: null });
    return "again";
  }

  if (row.state === "computed") {
    // the last of the three votes runs the tally: room for it whatever lands first in the block
    const r = await trySend(ctx, row, "vote", [row.id, row.voteHash], undefined, undefined, SETTLING_GAS);
    if (!r.ok) {
      // a vote mined as a revert (e.g. out of gas) is tried again while the dispute is open; the view decides
      ctx.logger.warn("vote not counted; retrying", { job: row.id, error: r.error });
      ctx.wake(row.id, "verify", ctx.nowSec() + 1);
      return "wait";
    }
    ctx.logger.info("voted", { job: row.id, vote: row.voteHash });
    return finish(ctx, row, "voted");
  }
  return "wait";
}

/** The vote of a spot check that no delivered result passed: a hash no worker can have delivered. */
export function rejectionHash(id: bigint): string {
  return `0x${createHash("sha256").update(`azora/replay/rejected/${id}`).digest("hex")}`;
}

/**
 * Replay by spot check (handlers with `check`, e.g. video): each delivered result is checked by re-running
 * sampled parts of it; the vote goes to the first that passes, else to the rejection hash — with two such
 * votes every delivered slot is slashed and the requester refunded.
 */
async function spotCheck(ctx: DriverContext, row: JobRow, view: JobView, handler: JobHandler): Promise<Step> {
  const check = handler.check as NonNullable<JobHandler["check"]>;
  const controller = new AbortController();
  const ms = view.disputeEnds > 0 ? Math.max(0, (view.disputeEnds - ctx.nowSec()) * 1000) : 3_600_000;
  const timer = setTimeout(() => controller.abort(new Error("dispute window passed")), ms);
  ctx.trackRun(row.id, row.role, controller);
  try {
    const doc = await specOf(ctx, view);
    const input = await inputOf(ctx, view, doc);
    const job = { id: view.id, kind: view.spec.kind, spec: paramsOf(doc), input };
    const evidenceURI = await ctx.deps.market.challengeEvidence(view.id).catch(() => undefined);
    let vote = rejectionHash(view.id);
    const reasons: string[] = [];
    const delivered = [...new Set(view.slots.filter((s) => hasDelivered(s.status)).map((s) => s.resultHash))];
    for (const h of delivered) {
      const bytes = await fetchDelivered(ctx, view, h);
      if (bytes === undefined) {
        reasons.push(`${h}: unavailable`);
        continue;
      }
      const sources: string[] = [];
      for (const s of view.slots) {
        if (s.resultHash.toLowerCase() !== h.toLowerCase()) continue;
        const e = await ctx.endpointOf(s.worker);
        if (e !== undefined) sources.push(e);
      }
      const res = await check(job, bytes, {
        signal: controller.signal,
        evidenceURI,
        sources,
        storage: ctx.deps.storage,
      });
      if (res.ok) {
        vote = h;
        break;
      }
      reasons.push(`${h}: ${res.reason ?? "failed"}`);
    }
    ctx.deps.journal.updateJob(row.id, "verify", { state: "computed", voteHash: vote, round: view.disputeEnds });
    ctx.logger.info("spot check done", { job: row.id, vote, rejected: reasons });
    return "again";
  } catch (e) {
    if (ctx.isStopping()) return "wait";
    ctx.logger.warn("spot check failed to run", { job: row.id }, e);
    ctx.wake(row.id, "verify", ctx.nowSec() + 1);
    return "wait";
  } finally {
    clearTimeout(timer);
    ctx.trackRun(row.id, row.role, undefined);
  }
}

/** A delivered result's bytes (checked against its hash), from its resultURI or its worker's endpoint. */
async function fetchDelivered(ctx: DriverContext, view: JobView, hash: string): Promise<Uint8Array | undefined> {
  const sources: string[] = [];
  const cid = cidFromSha256(hash).toString();
  for (const s of view.slots) {
    if (s.resultHash.toLowerCase() !== hash.toLowerCase()) continue;
    if (s.resultURI !== "") sources.push(s.resultURI);
    const e = await ctx.endpointOf(s.worker);
    if (e !== undefined) sources.push(`${e.replace(/\/+$/, "")}/blobs/${cid}`);
  }
  try {
    return (
      await fetchVerified(sources, hash, { maxBytes: ctx.opts.maxInputBytes, timeoutMs: ctx.opts.fetchTimeoutMs })
    ).bytes;
  } catch (e) {
    ctx.logger.info("delivered result unavailable", { job: view.id, hash, code: (e as { code?: string }).code });
    return undefined;
  }
}
