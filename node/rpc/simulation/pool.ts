/**
 * The simulation pool: a few worker threads that run every EVM simulation the RPC asks for
 * (`SimulationJobs`), so the thread that runs consensus and block production never executes RPC
 * EVM code. Bounded in every direction: a fixed number of workers, one job per worker at a time,
 * a bounded queue (full → a "busy" error at once) served round-robin by client, of which one
 * client may fill a quarter, a wall-clock budget per job (geth's rpc.evmtimeout: the worker is
 * terminated and replaced when a job overruns it), and the request's own deadline for the time
 * spent queued.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  ExecutionRevertedError,
  InternalError,
  LimitExceededError,
  RequestTimeoutError,
  ServerError,
  SimulationError,
} from "../../../rpc/errors.js";
import { FairQueue } from "../../../rpc/fairQueue.js";
import type { Logger } from "../../../runtime/lib/logger.js";
import type {
  FromWorker,
  HostRead,
  JobParams,
  JobResult,
  SimulationJob,
  SimulationKind,
  SimulationWorkerData,
  ToWorker,
  WireError,
} from "./protocol.js";

/** Reads the workers need from the main thread. */
export interface SimulationHost {
  getNode(key: string): Promise<Uint8Array | undefined>;
  getBlockHash(number: bigint): Promise<Uint8Array | undefined>;
}

export interface SimulationPoolOptions {
  chainId: bigint;
  /** Gas of one simulation at most (geth's rpc.gascap). */
  gasCap: bigint;
  /** Worker threads. */
  workers: number;
  /** Jobs waiting for a free worker at most; past it a job is refused at once ("busy"). */
  queue: number;
  /** Wall-clock budget of one job once it runs, in ms (geth's rpc.evmtimeout); 0 = none. */
  timeoutMs: number;
  /** Estimated bytes of the trie nodes each worker caches (default 8 MiB). */
  nodeCacheBytes?: number;
}

export type SimulationOutcome = "ok" | "error" | "timeout" | "busy" | "expired" | "failed";

/** Narrow metrics port; node/rpc/metrics.ts implements it with prom-client. */
export interface SimulationMetrics {
  finished(kind: SimulationKind, outcome: SimulationOutcome, seconds: number): void;
  queueLength(n: number): void;
  workerRestarted(reason: "timeout" | "crash"): void;
  /** A worker's V8 heap as it last reported it (on start, then every `WORKER_HEAP_REPORT_MS`). */
  workerHeap(worker: number, usedBytes: number, totalBytes: number): void;
}

/** Workers by default: all cores but one for the main thread, at least 1, at most 4. */
export function defaultSimulationWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * A worker's V8 heap limit. Its caches are bounded and a simulation's memory is bounded by the gas
 * cap, so this is only a backstop: a worker that exceeds it dies alone and is replaced.
 */
const WORKER_HEAP_MB = 512;
/**
 * A worker's young generation (V8's default is sized for the main thread, ~48 MB). A simulation's
 * garbage is short-lived and its caches are byte-bounded: the bench's dev node peaked ~60 MB lower
 * (RSS 560 → 501 MB) at the same CPU per eth_call (~70 µs).
 */
const WORKER_YOUNG_MB = 8;
/** A worker's trie node cache when the node does not size it: `cacheShares`' for one worker of the default budget. */
const DEFAULT_WORKER_CACHE_BYTES = 8 * 1024 * 1024;
/** Consecutive worker deaths before it has started; then restarts back off. */
const MAX_START_FAILURES = 3;
const RESTART_BACKOFF_MS = 5000;

/** geth prints durations the Go way: 5s, 1.5s, 500ms. */
export function formatTimeout(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

interface Job {
  job: SimulationJob;
  client: string;
  /** This job's time budget when it differs from the pool's (a trace's `timeout`). */
  timeoutMs?: number;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  /** Set while queued, when the request has a deadline. */
  expiry?: NodeJS.Timeout;
}

interface Running {
  id: number;
  job: Job;
  startMs: number;
  timer?: NodeJS.Timeout;
}

interface Slot {
  index: number;
  worker: Worker;
  /** False once the worker died or was given up; set again by the next spawn. */
  alive: boolean;
  /** Its modules are loaded: jobs can be sent. */
  ready: boolean;
  running: Running | null;
}

/** The compiled worker, or — when running from TypeScript sources (vitest) — the .ts through tsx. */
function spawnWorker(data: SimulationWorkerData): Worker {
  const opts = {
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
  };
  const js = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, opts);
  const ts = new URL("./worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}

function fromWire(e: WireError): Error {
  switch (e.kind) {
    case "reverted":
      return new ExecutionRevertedError(e.data);
    case "server":
      return new ServerError(e.message);
    case "limit":
      return new LimitExceededError(e.message);
    case "simulation":
      return new SimulationError(e.code, e.message);
    case "internal":
      return new SimulationFailed(e.message);
  }
}

/** An unexpected failure inside a worker: logged with its stack, answered as -32603 `internal error`. */
class SimulationFailed extends Error {}

export class SimulationPool {
  private readonly slots: Slot[] = [];
  private readonly queue = new FairQueue<Job>();
  private nextId = 1;
  private closed = false;
  private startFailures = 0;
  private readonly data: SimulationWorkerData;

  constructor(
    private readonly opts: SimulationPoolOptions,
    private readonly modules: { host: SimulationHost; log: Logger; metrics?: SimulationMetrics },
  ) {
    this.data = {
      chainId: opts.chainId,
      gasCap: opts.gasCap,
      nodeCacheBytes: opts.nodeCacheBytes ?? DEFAULT_WORKER_CACHE_BYTES,
    };
    for (let index = 0; index < Math.max(1, opts.workers); index++) {
      const slot = { index, alive: false, ready: false, running: null } as unknown as Slot;
      this.spawnInto(slot);
      this.slots.push(slot);
    }
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /**
   * Runs one simulation for `client` (a remote address). Rejects with -32005 when the queue, or the
   * client's quarter of it, is full, -32002 when `deadlineMs` (`performance.now()` time) passes while
   * queued, and -32000 `execution aborted (timeout = 5s)` when the job runs longer than its budget.
   */
  run<K extends SimulationKind>(
    kind: K,
    params: JobParams<K>,
    opts: { deadlineMs?: number; client?: string; timeoutMs?: number } = {},
  ): Promise<JobResult<K>> {
    const job = { kind, params } as SimulationJob;
    const client = opts.client ?? "unknown";
    if (this.closed) return Promise.reject(new ServerError("node is shutting down"));
    const busy = this.busyReason(client);
    if (busy !== undefined) {
      this.modules.metrics?.finished(kind, "busy", 0);
      return Promise.reject(new LimitExceededError(`server busy: ${busy}; try again later`));
    }
    return new Promise<JobResult<K>>((resolve, reject) => {
      const queued: Job = { job, client, timeoutMs: opts.timeoutMs, resolve: resolve as (v: unknown) => void, reject };
      if (opts.deadlineMs !== undefined) {
        queued.expiry = setTimeout(
          () => {
            if (!this.queue.remove(client, queued)) return;
            this.modules.metrics?.queueLength(this.queue.size);
            this.modules.metrics?.finished(kind, "expired", 0);
            reject(new RequestTimeoutError());
          },
          Math.max(0, opts.deadlineMs - performance.now()),
        );
      }
      this.queue.push(client, queued);
      this.modules.metrics?.queueLength(this.queue.size);
      this.dispatch();
    });
  }

  /** Why `client`'s job would have to wait beyond the queue's bounds, or undefined when it may wait (or start). */
  private busyReason(client: string): string | undefined {
    if (this.queue.size === 0 && this.slots.some((s) => s.ready && s.running === null)) return undefined;
    if (this.queue.size >= this.opts.queue) return `${this.queue.size} simulations waiting (limit ${this.opts.queue})`;
    const perClient = Math.max(1, Math.ceil(this.opts.queue / 4));
    const mine = this.queue.sizeOf(client);
    return mine >= perClient ? `${mine} of this client's simulations waiting (limit ${perClient})` : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopping = new ServerError("node is shutting down");
    for (const q of this.queue.drain()) {
      clearTimeout(q.expiry);
      q.reject(stopping);
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.running !== null) {
          clearTimeout(slot.running.timer);
          slot.running.job.reject(stopping);
          slot.running = null;
        }
        await slot.worker.terminate();
      }),
    );
  }

  private spawnInto(slot: Slot): void {
    const worker = spawnWorker(this.data);
    worker.unref();
    slot.worker = worker;
    slot.alive = true;
    slot.ready = false;
    slot.running = null;
    worker.on("message", (m: FromWorker) => this.onMessage(slot, worker, m));
    worker.on("error", (e) => {
      if (slot.worker !== worker) return;
      this.modules.log.error("simulation worker failed", { worker: slot.index }, e);
      this.crashed(slot);
    });
    worker.on("exit", (code) => {
      if (slot.worker !== worker || this.closed) return;
      this.modules.log.error("simulation worker exited", { worker: slot.index, code });
      this.crashed(slot);
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.size === 0) return;
      if (!slot.ready || slot.running !== null) continue;
      const job = this.queue.shift() as Job;
      clearTimeout(job.expiry);
      this.modules.metrics?.queueLength(this.queue.size);
      const running: Running = { id: this.nextId++, job, startMs: performance.now() };
      const budgetMs = this.budgetOf(job);
      if (budgetMs > 0) running.timer = setTimeout(() => this.overran(slot, running), budgetMs);
      slot.running = running;
      slot.worker.postMessage({ t: "job", id: running.id, job: job.job } satisfies ToWorker);
    }
  }

  private onMessage(slot: Slot, worker: Worker, m: FromWorker): void {
    if (slot.worker !== worker) return; // a replaced worker's last words
    switch (m.t) {
      case "ready":
        slot.ready = true;
        this.startFailures = 0;
        this.dispatch();
        return;
      case "read":
        this.serveRead(worker, m.id, m.read);
        return;
      case "heap":
        this.modules.metrics?.workerHeap(slot.index, m.used, m.total);
        return;
      case "done":
      case "failed": {
        const running = slot.running;
        if (running === null || running.id !== m.id) return;
        clearTimeout(running.timer);
        slot.running = null;
        const seconds = (performance.now() - running.startMs) / 1000;
        const kind = running.job.job.kind;
        if (m.t === "done") {
          this.modules.metrics?.finished(kind, "ok", seconds);
          running.job.resolve(m.value);
        } else {
          const e = fromWire(m.error);
          if (e instanceof SimulationFailed) {
            this.modules.log.error("simulation failed", { kind }, e.message);
            this.modules.metrics?.finished(kind, "failed", seconds);
            running.job.reject(new InternalError());
          } else {
            this.modules.metrics?.finished(kind, "error", seconds);
            running.job.reject(e);
          }
        }
        this.dispatch();
        return;
      }
    }
  }

  private serveRead(worker: Worker, id: number, read: HostRead): void {
    const { host } = this.modules;
    const value = read.kind === "node" ? host.getNode(read.key) : host.getBlockHash(read.number);
    value.then(
      // A slice: a LevelDB value can be a view into a larger pooled buffer, which would travel whole.
      (v) => worker.postMessage({ t: "reply", id, value: v?.slice() } satisfies ToWorker),
      (e: unknown) => worker.postMessage({ t: "replyError", id, message: (e as Error).message } satisfies ToWorker),
    );
  }

  /** A job's time budget: its own (a trace's `timeout`) within the pool's (rpc.evmTimeoutMs), 0 = none. */
  private budgetOf(job: Job): number {
    const own = job.timeoutMs;
    if (own === undefined) return this.opts.timeoutMs;
    if (this.opts.timeoutMs === 0) return own;
    return Math.min(own, this.opts.timeoutMs);
  }

  /** The job ran out of its budget: answer geth's error, and replace the thread that still runs it. */
  private overran(slot: Slot, running: Running): void {
    if (slot.running !== running) return;
    slot.running = null;
    const kind = running.job.job.kind;
    this.modules.metrics?.finished(kind, "timeout", (performance.now() - running.startMs) / 1000);
    this.modules.metrics?.workerRestarted("timeout");
    this.modules.log.debug("simulation timed out; replacing its worker", { kind, worker: slot.index });
    running.job.reject(new ServerError(`execution aborted (timeout = ${formatTimeout(this.budgetOf(running.job))})`));
    this.replace(slot);
  }

  private crashed(slot: Slot): void {
    if (!slot.alive) return; // 'error' is followed by 'exit'
    slot.alive = false;
    const running = slot.running;
    slot.running = null;
    if (running !== null) {
      clearTimeout(running.timer);
      this.modules.metrics?.finished(running.job.job.kind, "failed", (performance.now() - running.startMs) / 1000);
      running.job.reject(new InternalError());
    }
    this.modules.metrics?.workerRestarted("crash");
    if (!slot.ready) this.startFailures++;
    slot.ready = false;
    if (this.startFailures >= MAX_START_FAILURES) {
      // A worker that cannot even start (a broken install) must not be respawned in a tight loop.
      for (const q of this.queue.drain()) {
        clearTimeout(q.expiry);
        q.reject(new InternalError());
      }
      this.modules.metrics?.queueLength(0);
      const retry = setTimeout(() => this.replace(slot), RESTART_BACKOFF_MS);
      retry.unref();
      return;
    }
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    if (this.closed) return;
    const old = slot.worker;
    this.spawnInto(slot);
    void old.terminate();
  }
}
