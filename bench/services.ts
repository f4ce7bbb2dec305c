// Services phase of `npm run bench`: jobs through the native job market with real `azora worker` processes on a
// fresh `azora dev` node. (1) Market lifecycle with no work (test/sha256): post → claim → submit → accept, jobs
// settled per second, latency and gas per lifecycle. (2) A ~10 ms inference job (ai/onnx, an onnx-proto matmul
// stack) through the market next to the same model called directly: the market's overhead as a share of wall time.
// (2b) The same job as metered inference (POST /v1/infer on the worker, a signed receipt per request, vouchers
// redeemed in batches), interleaved with the model called directly and served free over the same HTTP path
// (bench/meteredBench.ts): lone-call latency and throughput at equal concurrency, and the overheads of each.
// (3) Each shipped model through the market at 1 and 8 jobs in flight, side by side with aiBench()'s direct and
// handler rows. The requester side is this process: pre-signed transactions and one block-by-block log watcher,
// so the load generator stays light on the shared CPU.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, Transaction, Wallet } from "ethers";
import { createONNXSession, Tensor } from "../ai-oracle/engine/session.js";
import { encodeTensors } from "../ai-oracle/engine/tensorContainer.js";
import { defaultModelsDir, importONNXModel } from "../ai-oracle/models/store.js";
import { InferenceClient } from "../services/client/inferenceClient.js";
import { PaymentSession } from "../services/client/payments.js";
import { kindToBytes32, MARKET_ADDRESS, marketInterface } from "../services/runtime/chain/market.js";
import { createBlobServer } from "../services/runtime/content/blobRoutes.js";
import { createFileBlobStore } from "../services/runtime/content/blobStore.js";
import { cidOf } from "../services/runtime/content/cid.js";
import { inlineSpecURI, specFor } from "../services/runtime/spec.js";
import { type AIBenchResult, type AIBenchRow, aiBench } from "./ai.js";
import { formatTimeline } from "./callTimeline.js";
import { DEV_KEYS } from "./devKeys.js";
import { formatPaired, pct, pctInterval } from "./lonePaired.js";
import {
  latencyOverhead,
  type MeteredComparison,
  type MeteredRun,
  meteredComparison,
  throughputOverhead as throughputOverheadOf,
} from "./meteredBench.js";
import { buildMatMulStack, TEN_MS_MATMUL, tenMsMatMulName } from "./onnxModels.js";
import type { PairedEstimate } from "./pairedOverhead.js";
import { startAzora, startAzoraWorker, type TargetProcess } from "./procs.js";
import { hexToBigInt, RpcClient, sleep, toHex } from "./rpc.js";
import { markdownTable } from "./script.js";
import { type LatencySummary, round, summarize } from "./stats.js";

const E18 = 10n ** 18n;
const MAX_FEE = 100n * 10n ** 9n;
const TIP = 10n ** 9n;
/** Requesters: dev accounts 3..8 (0 is the fee recipient, 1 and 2 are the workers). */
const REQUESTER_KEYS = DEV_KEYS.slice(3, 9);
/** The AI worker's metered inference in phase (2b): 0.001 AZR a call, a voucher every 50, redeemed every 5 s. */
const METERED = { priceAZR: "0.001", priceWei: 10n ** 15n, voucherEvery: 50, redeemEveryMs: 5_000 };
/** The overhead target of issue 8: under 20 % of a 10 ms inference job's wall time. */
export const OVERHEAD_TARGET = 0.2;

export interface ServicesBenchOptions {
  root: string;
  log: (line: string) => void;
  /** Lifecycles in the no-work phase (default 300). */
  jobs?: number;
  /** Jobs in flight in the no-work and 10 ms phases (default 32). */
  inFlight?: number;
  /** Jobs per model at 1 in flight (default 6; 8 in flight runs 3×). */
  aiJobs?: number;
  /** Skip aiBench() and the per-model rows (the lifecycle and 10 ms phases still run). */
  skipAI?: boolean;
  /** Extra `azora dev` arguments (the bench's --azora-args). */
  nodeArgs?: string[];
  /** Extra `azora worker` arguments (the bench's --worker-args), e.g. --cpu-profile FILE. */
  workerArgs?: string[];
  /**
   * Batch calls (default true): requesters coalesce posts and accepts into postMany / acceptMany while one of
   * theirs is unmined, and workers run with --max-batch 32. false: one transaction per call, as before them.
   */
  batch?: boolean;
  /** Only phase (2b), the metered comparison (no lifecycle, on-chain 10 ms or per-model phases). */
  meteredOnly?: boolean;
}

export interface MarketRun {
  jobs: number;
  inFlight: number;
  failed: number;
  seconds: number;
  jobsPerSec: number;
  /** post sent → ResultSubmitted seen (the result is available). */
  resultLatencyMs: LatencySummary;
  /** post sent → accept mined (settled). */
  settleLatencyMs: LatencySummary;
  /** CPU seconds per job of the node and the worker process over the run. */
  nodeCpuMsPerJob: number | null;
  workerCpuMsPerJob: number | null;
  /** Blocks the node made over the run, per job settled (a block holds many jobs' transactions when busy). */
  blocksPerJob: number | null;
  /** Node-side JSON-RPC per job over the run, by method: calls and handling ms (from the node's /metrics). */
  rpcPerJob: Record<string, { calls: number; ms: number }>;
}

/** The node's JSON-RPC handling counters by method (azora_rpc_request_duration_seconds). */
async function rpcCounters(nodeUrl: string): Promise<Map<string, { count: number; sum: number }>> {
  const text = await (await fetch(`${nodeUrl}/metrics`)).text();
  const out = new Map<string, { count: number; sum: number }>();
  for (const m of text.matchAll(/^azora_rpc_request_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/gm)) {
    const method = /method="([^"]+)"/.exec(m[2])?.[1] ?? "?";
    const e = out.get(method) ?? { count: 0, sum: 0 };
    if (m[1] === "sum") e.sum += Number(m[3]);
    else e.count += Number(m[3]);
    out.set(method, e);
  }
  return out;
}

export interface ServicesBenchResult {
  date: string;
  machine: string;
  lifecycle:
    | null
    | (MarketRun & {
        gasPerLifecycle: { post: number; claim: number; submit: number; accept: number; total: number };
        /** Worker withdrawals (one per payout batch, not per job). */
        withdrawals: number;
      });
  tenMs: {
    model: string;
    directP50Ms: number | null;
    directJobsPerSec: number | null;
    market: MarketRun;
    /** Batch calls on (postMany / acceptMany by the requesters, claimMany / submitMany by the worker). */
    batch: boolean;
    /** The same job through the market one at a time (post → result latency of a lone job). */
    single: MarketRun;
    /** marketOverhead(): (market wall time per job − direct) / market wall time per job, at market.inFlight. */
    overhead: number | null;
    overheadTargetMet: boolean | null;
  } | null;
  /**
   * (2b) The same 10 ms model sold per request (metered payments): no transaction per job. Measured interleaved
   * with the model called directly and served free over the same worker HTTP path (`comparison`).
   */
  metered: {
    model: string;
    /** Wei per request, vouchers every `voucherEvery` receipts, redeemed every `redeemEveryMs`. */
    priceWei: string;
    voucherEvery: number;
    redeemEveryMs: number;
    comparison: MeteredComparison;
    /** = comparison.metered.many / .single (the names of the earlier runs). */
    many: MeteredRun;
    single: MeteredRun;
    /** Lone call, the earlier figure: (metered p50 − direct p50) / metered p50 over the blocks of lone calls. */
    singleOverhead: number | null;
    /**
     * Lone call from paired cycles (comparison.paired, bench/lonePaired.ts): the median of each cycle's (metered −
     * direct) / metered, with its 95 % block-bootstrap interval. The target is judged on the interval's upper end.
     */
    singleOverheadPaired: PairedEstimate;
    /** Equal concurrency: 1 − metered calls/s ÷ direct calls/s, both `many.inFlight` in flight. */
    overheadEqualConcurrency: number | null;
    /** The earlier formula: 1 − metered calls/s (N in flight) ÷ direct calls/s one after another. */
    overhead: number | null;
    /** The same three for the free HTTP path (transport only). */
    plainSingleOverhead: number | null;
    plainOverheadEqualConcurrency: number | null;
    /**
     * Lone-call and equal-concurrency throughput overheads both under the target: the lone call's whole 95 %
     * interval (singleOverheadPaired), so "met" means met reliably, not in this run's median.
     */
    overheadTargetMet: boolean | null;
  } | null;
  models: { model: string; kind: string; market: MarketRun[]; direct: AIBenchRow[] }[];
  ai: AIBenchResult | null;
}

interface Receipt {
  status: string;
  gasUsed: string;
  blockNumber: string;
  transactionHash: string;
  logs: { address: string; topics: string[]; data: string; transactionHash: string }[];
}

/** Follows the chain block by block: receipts of our transactions and ResultSubmitted events by job id. */
class ChainWatcher {
  private last = 0;
  private stopped = false;
  private readonly receipts = new Map<string, (r: Receipt) => void>();
  private readonly submitted = new Map<string, () => void>();
  private readonly seenSubmitted = new Set<string>();
  private readonly topic = marketInterface.getEvent("ResultSubmitted")?.topicHash as string;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly rpc: RpcClient) {}

  async start(): Promise<void> {
    this.last = Number(hexToBigInt(await this.rpc.call("eth_blockNumber")));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  async head(): Promise<number> {
    return Number(hexToBigInt(await this.rpc.call("eth_blockNumber")));
  }

  receipt(hash: string): Promise<Receipt> {
    return new Promise((res) => this.receipts.set(hash, res));
  }

  resultSubmitted(id: bigint): Promise<void> {
    const k = id.toString();
    if (this.seenSubmitted.has(k)) return Promise.resolve();
    return new Promise((res) => this.submitted.set(k, res));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.poll();
      } catch {
        // a dropped keep-alive socket on a loaded machine: the next poll reads the same range again
        await sleep(100);
      }
    }
  }

  private async poll(): Promise<void> {
    const head = Number(hexToBigInt(await this.rpc.call("eth_blockNumber")));
    if (head <= this.last) {
      await sleep(25);
      return;
    }
    const hashes = [...this.receipts.keys()];
    const [logs, ...rs] = await this.rpc.batch([
      [
        "eth_getLogs",
        [{ fromBlock: toHex(this.last + 1), toBlock: toHex(head), address: MARKET_ADDRESS, topics: [this.topic] }],
      ],
      ...hashes.map((h) => ["eth_getTransactionReceipt", [h]] as [string, unknown[]]),
    ]);
    for (let i = 0; i < hashes.length; i++) {
      const r = rs[i].result as Receipt | null;
      if (r === null || r === undefined) continue;
      this.receipts.get(hashes[i])?.(r);
      this.receipts.delete(hashes[i]);
    }
    for (const l of (logs.result as { topics: string[] }[]) ?? []) {
      const k = BigInt(l.topics[1]).toString();
      this.seenSubmitted.add(k);
      this.submitted.get(k)?.();
      this.submitted.delete(k);
    }
    this.last = head;
  }
}

/** A requester that signs its own transactions with consecutive nonces (no per-call RPC round trips). */
class Requester {
  private nonce = 0;
  readonly wallet: Wallet;
  constructor(
    key: string,
    private readonly chainId: bigint,
  ) {
    this.wallet = new Wallet(key);
  }
  async init(rpc: RpcClient): Promise<void> {
    this.nonce = Number(hexToBigInt(await rpc.call("eth_getTransactionCount", [this.wallet.address, "pending"])));
  }
  sign(data: string, value: bigint, gasLimit: bigint): { raw: string; hash: string } {
    const tx = Transaction.from({
      type: 2,
      chainId: this.chainId,
      nonce: this.nonce++,
      to: MARKET_ADDRESS,
      data,
      value,
      gasLimit,
      maxFeePerGas: MAX_FEE,
      maxPriorityFeePerGas: TIP,
    });
    tx.signature = this.wallet.signingKey.sign(tx.unsignedHash);
    return { raw: tx.serialized, hash: tx.hash as string };
  }
}

type Action = "post" | "accept";

/**
 * A requester's calls, coalesced Nagle-style as the worker runtime's MarketBatcher does: while a transaction of an
 * action is unmined, further calls queue and go out together as postMany / acceptMany when it is mined (a lone
 * call goes out at once as post / accept). Gas per job of a batch is its gasUsed divided by its items.
 */
class RequesterQueue {
  private readonly queues: Record<Action, { arg: JobTemplate | bigint; done: (r: CallResult) => void }[]> = {
    post: [],
    accept: [],
  };
  private readonly inFlight = new Set<Action>();
  constructor(
    private readonly rpc: RpcClient,
    private readonly w: ChainWatcher,
    readonly req: Requester,
    private readonly batch: boolean,
  ) {}

  post(t: JobTemplate): Promise<CallResult> {
    return this.enqueue("post", t);
  }
  accept(id: bigint): Promise<CallResult> {
    return this.enqueue("accept", id);
  }

  private enqueue(action: Action, arg: JobTemplate | bigint): Promise<CallResult> {
    return new Promise((done) => {
      this.queues[action].push({ arg, done });
      if (!this.inFlight.has(action)) {
        this.inFlight.add(action);
        setImmediate(() => void this.flush(action));
      }
    });
  }

  private async flush(action: Action): Promise<void> {
    const items = this.queues[action].splice(0, this.batch ? 64 : 1);
    try {
      if (items.length > 0) await this.send(action, items);
    } finally {
      if (this.queues[action].length > 0) setImmediate(() => void this.flush(action));
      else this.inFlight.delete(action);
    }
  }

  private async send(action: Action, items: { arg: JobTemplate | bigint; done: (r: CallResult) => void }[]) {
    const n = items.length;
    let tx: { raw: string; hash: string };
    if (action === "post") {
      const ts = items.map((i) => i.arg as JobTemplate);
      const value = ts.reduce((a, t) => a + t.escrow, 0n);
      tx =
        n === 1
          ? this.req.sign(marketInterface.encodeFunctionData("post", [specOf(ts[0])]), value, 600_000n)
          : this.req.sign(
              marketInterface.encodeFunctionData("postMany", [ts.map(specOf)]),
              value,
              60_000n + 300_000n * BigInt(n),
            );
    } else {
      const ids = items.map((i) => i.arg as bigint);
      tx =
        n === 1
          ? this.req.sign(marketInterface.encodeFunctionData("accept", [ids[0]]), 0n, 400_000n)
          : this.req.sign(marketInterface.encodeFunctionData("acceptMany", [ids]), 0n, 60_000n + 300_000n * BigInt(n));
    }
    const mined = this.w.receipt(tx.hash);
    await sendRaw(this.rpc, tx.raw);
    const r = await mined;
    const ok = hexToBigInt(r.status) === 1n;
    const gas = Number(hexToBigInt(r.gasUsed)) / n;
    const market = r.logs.filter((l) => l.address.toLowerCase() === MARKET_ADDRESS.toLowerCase());
    if (action === "post") {
      // JobPosted logs in the order of the specs
      const posted = market.filter((l) => l.topics[0] === JOB_POSTED_TOPIC).map((l) => BigInt(l.topics[1]));
      for (const [i, it] of items.entries()) it.done({ ok: ok && posted[i] !== undefined, id: posted[i] ?? 0n, gas });
    } else {
      const accepted = new Set(
        market.filter((l) => l.topics[0] === JOB_ACCEPTED_TOPIC).map((l) => BigInt(l.topics[1]).toString()),
      );
      for (const it of items) it.done({ ok: ok && accepted.has(String(it.arg)), id: it.arg as bigint, gas });
    }
  }
}

interface CallResult {
  ok: boolean;
  id: bigint;
  gas: number;
}

const JOB_POSTED_TOPIC = marketInterface.getEvent("JobPosted")?.topicHash as string;
const JOB_ACCEPTED_TOPIC = marketInterface.getEvent("JobAccepted")?.topicHash as string;

function specOf(t: JobTemplate): unknown[] {
  return [t.kind, t.specURI, t.inputHash, ZERO_ADDRESS, t.price, 1, 600, 600, 600, 0, ZERO_ADDRESS];
}
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

interface JobTemplate {
  kind: string;
  specURI: string;
  inputHash: string;
  price: bigint;
  escrow: bigint;
}

interface Lifecycle {
  ok: boolean;
  resultMs: number;
  settleMs: number;
  id: bigint;
  postGas: number;
  acceptGas: number;
}

async function sendRaw(rpc: RpcClient, raw: string): Promise<void> {
  await rpc.call("eth_sendRawTransaction", [raw]);
}

/** One job: post, wait for its result, accept. */
async function lifecycle(w: ChainWatcher, q: RequesterQueue, t: JobTemplate): Promise<Lifecycle> {
  const t0 = performance.now();
  const p = await q.post(t);
  if (!p.ok) return { ok: false, resultMs: 0, settleMs: 0, id: 0n, postGas: 0, acceptGas: 0 };
  await w.resultSubmitted(p.id);
  const resultMs = performance.now() - t0;
  const a = await q.accept(p.id);
  return { ok: a.ok, resultMs, settleMs: performance.now() - t0, id: p.id, postGas: p.gas, acceptGas: a.gas };
}

async function runJobs(
  w: ChainWatcher,
  reqs: RequesterQueue[],
  template: JobTemplate,
  total: number,
  inFlight: number,
  procs: { node: TargetProcess; worker: TargetProcess },
): Promise<{ run: MarketRun; lifecycles: Lifecycle[] }> {
  const cpu0 = { node: procs.node.cpuSeconds(), worker: procs.worker.cpuSeconds() };
  const rpc0 = await rpcCounters(procs.node.url);
  const head0 = await w.head();
  const out: Lifecycle[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      while (next < total) {
        next++;
        out.push(await lifecycle(w, reqs[lane % reqs.length], template));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = { node: procs.node.cpuSeconds(), worker: procs.worker.cpuSeconds() };
  const ok = out.filter((l) => l.ok);
  const rpc1 = await rpcCounters(procs.node.url);
  const head1 = await w.head();
  const rpcPerJob: Record<string, { calls: number; ms: number }> = {};
  for (const [method, b] of rpc1) {
    const a = rpc0.get(method) ?? { count: 0, sum: 0 };
    if (b.count === a.count || ok.length === 0) continue;
    rpcPerJob[method] = {
      calls: round((b.count - a.count) / ok.length, 2),
      ms: round(((b.sum - a.sum) * 1000) / ok.length, 2),
    };
  }
  const perJob = (a: number | null, b: number | null) =>
    a === null || b === null || ok.length === 0 ? null : round(((b - a) * 1000) / ok.length, 2);
  return {
    lifecycles: ok,
    run: {
      jobs: ok.length,
      inFlight,
      failed: out.length - ok.length,
      seconds: round(seconds, 2),
      jobsPerSec: round(ok.length / seconds, 1),
      resultLatencyMs: summarize(ok.map((l) => l.resultMs)),
      settleLatencyMs: summarize(ok.map((l) => l.settleMs)),
      nodeCpuMsPerJob: perJob(cpu0.node, cpu1.node),
      workerCpuMsPerJob: perJob(cpu0.worker, cpu1.worker),
      blocksPerJob: ok.length === 0 ? null : round((head1 - head0) / ok.length, 2),
      rpcPerJob,
    },
  };
}

/** Gas of the worker's claim and submit for each job, from the market's events and their receipts. */
async function workerGas(rpc: RpcClient, ids: bigint[]): Promise<{ claim: number; submit: number }> {
  const topics = ["JobClaimed", "ResultSubmitted"].map((e) => marketInterface.getEvent(e)?.topicHash as string);
  const logs = (await rpc.call("eth_getLogs", [
    { fromBlock: "0x0", toBlock: "latest", address: MARKET_ADDRESS, topics: [topics] },
  ])) as {
    topics: string[];
    transactionHash: string;
  }[];
  const want = new Set(ids.map((i) => i.toString()));
  // per transaction: its items of the kind (a claimMany holds many) and how many of them are this run's
  const byKind = {
    claim: new Map<string, { all: number; ours: number }>(),
    submit: new Map<string, { all: number; ours: number }>(),
  };
  for (const l of logs) {
    const m = l.topics[0] === topics[0] ? byKind.claim : byKind.submit;
    const e = m.get(l.transactionHash) ?? { all: 0, ours: 0 };
    e.all++;
    if (want.has(BigInt(l.topics[1]).toString())) e.ours++;
    m.set(l.transactionHash, e);
  }
  /** Gas per job: each transaction's gasUsed shared equally by its items. */
  const mean = async (txs: Map<string, { all: number; ours: number }>) => {
    const hashes = [...txs].filter(([, e]) => e.ours > 0).map(([h]) => h);
    const rs = await rpc.batchAll(hashes.map((h) => ["eth_getTransactionReceipt", [h]] as [string, unknown[]]));
    let gas = 0;
    let jobs = 0;
    rs.forEach((r, i) => {
      const e = txs.get(hashes[i]) as { all: number; ours: number };
      gas += (Number(hexToBigInt((r.result as Receipt).gasUsed)) * e.ours) / e.all;
      jobs += e.ours;
    });
    return jobs === 0 ? 0 : Math.round(gas / jobs);
  };
  return { claim: await mean(byKind.claim), submit: await mean(byKind.submit) };
}

async function withdrawCount(rpc: RpcClient, worker: string): Promise<number> {
  const topic = marketInterface.getEvent("Withdrawn")?.topicHash as string;
  const logs = (await rpc.call("eth_getLogs", [
    {
      fromBlock: "0x0",
      toBlock: "latest",
      address: MARKET_ADDRESS,
      topics: [topic, `0x${worker.slice(2).toLowerCase().padStart(64, "0")}`],
    },
  ])) as unknown[];
  return logs.length;
}

/**
 * The market's overhead on a job, as a share of its wall time through the market:
 *   (market wall time per job − direct wall time per job) / market wall time per job = 1 − direct / market
 * where the market's wall time per job is the run's wall time ÷ jobs settled (post → accept mined) with many jobs
 * in flight, and the direct one is the wall time ÷ runs of the same model called in-process one after another
 * (batch 1, the worker's own way of running it: one job at a time on one intra-op thread). Throughput-based:
 * with jobs in flight the market's latency overlaps other jobs' inference; the lone job's latency is printed
 * next to it.
 */
export function marketOverhead(directJobsPerSec: number | null, marketJobsPerSec: number): number | null {
  if (directJobsPerSec === null || directJobsPerSec <= 0 || marketJobsPerSec <= 0) return null;
  return round(1 - marketJobsPerSec / directJobsPerSec, 3);
}

/** Median ms of `runs` direct runs of a matmul stack of `layers` layers, after a warm-up. */
async function matMulStackMs(layers: number, runs: number): Promise<number> {
  const session = await createONNXSession(buildMatMulStack({ ...TEN_MS_MATMUL, layers, name: `calibrate-${layers}` }));
  const x = new Tensor(
    "float32",
    Float32Array.from({ length: TEN_MS_MATMUL.rows * TEN_MS_MATMUL.width }, (_, i) => Math.sin(i)),
    [1, TEN_MS_MATMUL.rows, TEN_MS_MATMUL.width],
  );
  for (let i = 0; i < 3; i++) await session.run({ x });
  const lat: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run({ x });
    lat.push(performance.now() - t);
  }
  await session.release();
  return summarize(lat).p50 ?? Number.NaN;
}

/**
 * Layers of the matmul stack that make the "10 ms inference job" take ~10 ms on this machine: a run's time is
 * fitted as a + b·layers from 4 and 16 layers (medians of 15 runs). A fixed size took 10 ms on the VM it was
 * measured on and 17.5 ms on a slower one, which shrinks the overhead ratio the issue's target is stated on.
 */
async function tenMsLayers(targetMs = 10): Promise<number> {
  const [lo, hi] = [await matMulStackMs(4, 15), await matMulStackMs(16, 15)];
  const perLayer = (hi - lo) / 12;
  if (!(perLayer > 0)) return TEN_MS_MATMUL.layers;
  return Math.min(64, Math.max(1, Math.round((targetMs - (lo - 4 * perLayer)) / perLayer)));
}

/** The 10 ms model called directly, one at a time (the baseline of the overhead figure), in this process. */
async function directBaseline(model: Uint8Array): Promise<{ latencyMs: LatencySummary; jobsPerSec: number }> {
  const session = await createONNXSession(model);
  const x = new Tensor(
    "float32",
    Float32Array.from({ length: 224 * 512 }, (_, i) => Math.sin(i)),
    [1, 224, 512],
  );
  for (let i = 0; i < 3; i++) await session.run({ x });
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    await session.run({ x });
    lat.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  await session.release();
  return { latencyMs: summarize(lat), jobsPerSec: round((lat.length * 1000) / wall, 1) };
}

function template(
  kind: string,
  input: Uint8Array,
  params: Record<string, unknown>,
  hostedURL: string | undefined,
  feeBps: number,
): JobTemplate {
  const price = E18;
  const cid = cidOf(input).toString();
  const { doc, inputHash } = specFor(kind, input, {
    params,
    hostedURIs: hostedURL === undefined ? undefined : [`${hostedURL}/blobs/${cid}`],
  });
  const specURI = inlineSpecURI(doc);
  if (specURI === undefined) throw new Error(`spec of ${kind} does not fit inline`);
  return { kind: kindToBytes32(kind), specURI, inputHash, price, escrow: price + (price * BigInt(feeBps)) / 10_000n };
}

export async function servicesBench(opts: ServicesBenchOptions): Promise<ServicesBenchResult> {
  const log = opts.log;
  const jobs = opts.jobs ?? 300;
  const inFlight = opts.inFlight ?? 32;
  const aiJobs = opts.aiJobs ?? 6;
  const cli = join(opts.root, "dist/node/cli.js");
  const cpu = cpus();
  const result: ServicesBenchResult = {
    date: new Date().toISOString(),
    machine: `${cpu.length} x ${cpu[0]?.model ?? "?"}, node ${process.version}`,
    lifecycle: null,
    tenMs: null,
    metered: null,
    models: [],
    ai: null,
  };

  // Direct side first, alone on the machine: the models called in-process (aiBench, provided by ai-oracle).
  const skipAI = opts.skipAI === true || opts.meteredOnly === true;
  if (!skipAI) {
    log("[services] models called directly and through their handler (aiBench)…");
    result.ai = await aiBench({ jobs: 20, concurrency: 8, log: (l) => log(`[services]   ${l}`) });
  }

  const hostDir = mkdtempSync(join(tmpdir(), "azora-bench-host-"));
  const modelsDir = mkdtempSync(join(tmpdir(), "azora-bench-models-"));
  const procs: TargetProcess[] = [];
  try {
    // a models dir with the shipped models and the 10 ms matmul model for ai/onnx
    const shipped = defaultModelsDir();
    // (not fetched yet — `npm run models:fetch` — is fine for the lifecycle and 10 ms phases: they use neither)
    if (existsSync(shipped)) for (const e of readdirSync(shipped)) symlinkSync(join(shipped, e), join(modelsDir, e));
    // AZORA_BENCH_LAYERS=<n> fixes the job's size: on a loaded machine the fit swings (1–13 layers), and runs
    // sized apart do not compare.
    const fixed = Number(process.env.AZORA_BENCH_LAYERS);
    const tenMs = { ...TEN_MS_MATMUL, layers: fixed >= 1 ? Math.floor(fixed) : await tenMsLayers() };
    const TEN_MS_MODEL = tenMsMatMulName(tenMs.layers);
    log(`[services] the 10 ms job here: ${TEN_MS_MODEL}`);
    const matmulFile = join(hostDir, "matmul.onnx");
    writeFileSync(matmulFile, buildMatMulStack(tenMs));
    const matmulId = await importONNXModel(modelsDir, matmulFile);
    // the same computation under another id, which the worker serves free (phase 2b's plain-HTTP row)
    const freeFile = join(hostDir, "matmul-free.onnx");
    writeFileSync(freeFile, buildMatMulStack({ ...tenMs, name: "matmul-stack-free" }));
    const freeId = await importONNXModel(modelsDir, freeFile);
    const workerConfig = join(hostDir, "ai-worker.json");
    writeFileSync(workerConfig, JSON.stringify({ metered: { prices: { [freeId]: "0" } } }));

    const node = await startAzora(cli, opts.root, opts.nodeArgs ?? []);
    procs.push(node);
    log(`[services] azora dev at ${node.url}`);
    const rpc = new RpcClient(node.url);
    const chainId = hexToBigInt(await rpc.call("eth_chainId"));
    const params = marketInterface.decodeFunctionResult(
      "params",
      (await rpc.call("eth_call", [
        { to: MARKET_ADDRESS, data: marketInterface.encodeFunctionData("params", []) },
        "latest",
      ])) as string,
    )[0];
    const feeBps = Number(params.feeBps);
    const batch = opts.batch ?? true;
    const signers = REQUESTER_KEYS.map((k) => new Requester(k, chainId));
    for (const r of signers) await r.init(rpc);
    const watcher = new ChainWatcher(rpc);
    // (the watcher polls the node every 25 ms: not started for phase 2b alone, whose CPU per call it would blur)
    if (!opts.meteredOnly) await watcher.start();
    const reqs = signers.map((r) => new RequesterQueue(rpc, watcher, r, batch));
    const workerArgs = ["--max-batch", batch ? "32" : "1", ...(opts.workerArgs ?? [])];
    const store = createFileBlobStore(hostDir);
    const host = await createBlobServer(store, { host: "127.0.0.1", port: 0 });

    // (1) lifecycle, no work
    if (!opts.meteredOnly) {
      const testWorker = await startAzoraWorker(
        cli,
        opts.root,
        node.url,
        ["test/sha256"],
        ["--dev-account", "1", "--max-jobs", "64", ...workerArgs],
      );
      procs.push(testWorker);
      log(`[services] market lifecycle (test/sha256, no work): ${jobs} jobs, ${inFlight} in flight…`);
      const noWork = template("test/sha256", new TextEncoder().encode("bench"), {}, undefined, feeBps);
      await runJobs(watcher, reqs, noWork, Math.min(16, jobs), Math.min(8, inFlight), { node, worker: testWorker }); // warm-up
      const lc = await runJobs(watcher, reqs, noWork, jobs, inFlight, { node, worker: testWorker });
      const wg = await workerGas(
        rpc,
        lc.lifecycles.map((l) => l.id),
      );
      const mean = (xs: number[]) => (xs.length === 0 ? 0 : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length));
      const post = mean(lc.lifecycles.map((l) => l.postGas));
      const accept = mean(lc.lifecycles.map((l) => l.acceptGas));
      result.lifecycle = {
        ...lc.run,
        gasPerLifecycle: {
          post,
          claim: wg.claim,
          submit: wg.submit,
          accept,
          total: post + wg.claim + wg.submit + accept,
        },
        withdrawals: await withdrawCount(
          rpc,
          new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d").address,
        ),
      };
      log(
        `[services]   ${lc.run.jobsPerSec} jobs/s, settle p50 ${lc.run.settleLatencyMs.p50} ms, CPU ms/job node ${lc.run.nodeCpuMsPerJob} worker ${lc.run.workerCpuMsPerJob}; blocks/job ${lc.run.blocksPerJob}; RPC/job ${rpcSummary(lc.run.rpcPerJob)}`,
      );
      await testWorker.stop();
      procs.splice(procs.indexOf(testWorker), 1);
    }

    // (2) and (3): one worker serving the AI kinds
    const aiWorker = await startAzoraWorker(
      cli,
      opts.root,
      node.url,
      skipAI ? ["ai/onnx"] : ["ai/onnx", "ai/transcribe", "ai/ocr", "ai/embed"],
      [
        "--dev-account",
        "2",
        "--max-jobs",
        "64",
        "--models-dir",
        modelsDir,
        "--metered-price",
        METERED.priceAZR,
        "--metered-voucher-every",
        String(METERED.voucherEvery),
        "--metered-redeem-every",
        String(METERED.redeemEveryMs),
        "--config",
        workerConfig,
        ...workerArgs,
      ],
    );
    procs.push(aiWorker);
    const xDims = [1, TEN_MS_MATMUL.rows, TEN_MS_MATMUL.width];
    const x = Float32Array.from({ length: TEN_MS_MATMUL.rows * TEN_MS_MATMUL.width }, (_, i) => Math.sin(i));
    const tensorInput = encodeTensors([{ name: "x", dtype: "float32", dims: xDims, data: x }]);
    await store.put(tensorInput);
    const tenMsJob = template("ai/onnx", tensorInput, { model: matmulId }, host.url, feeBps);
    let direct1: Awaited<ReturnType<typeof directBaseline>> | null = null;
    if (!opts.meteredOnly) {
      log(
        `[services] 10 ms inference job (ai/onnx ${TEN_MS_MODEL}) through the market: ${Math.ceil(jobs / 2)} jobs, ${inFlight} in flight…`,
      );
      await runJobs(watcher, reqs, tenMsJob, 8, 4, { node, worker: aiWorker }); // warm-up (session, input fetch)
      const ten = await runJobs(watcher, reqs, tenMsJob, Math.ceil(jobs / 2), inFlight, { node, worker: aiWorker });
      log("[services]   and 8 jobs one at a time (single-job latency)…");
      const single = await runJobs(watcher, reqs, tenMsJob, 8, 1, { node, worker: aiWorker });
      direct1 = await directBaseline(readFileSync(matmulFile));
      const overhead = marketOverhead(direct1.jobsPerSec, ten.run.jobsPerSec);
      result.tenMs = {
        model: TEN_MS_MODEL,
        batch,
        directP50Ms: direct1.latencyMs.p50,
        directJobsPerSec: direct1.jobsPerSec,
        market: ten.run,
        single: single.run,
        overhead,
        overheadTargetMet: overhead === null ? null : overhead < OVERHEAD_TARGET,
      };
      log(
        `[services]   ${ten.run.jobsPerSec} jobs/s through the market; overhead ${overhead ?? "?"}; CPU ms/job node ${ten.run.nodeCpuMsPerJob} worker ${ten.run.workerCpuMsPerJob}; lone job post → result p50 ${single.run.resultLatencyMs.p50} ms`,
      );
    }

    // (2b) the same model and input sold per request: one payer (dev account 9) with a deposit for the worker,
    // interleaved with the direct model and the free HTTP path
    const provider = new JsonRpcProvider(node.url, chainId, { staticNetwork: true, batchMaxCount: 1 });
    try {
      const payee = new Wallet(DEV_KEYS[2]).address;
      const price = METERED.priceWei;
      const payer = new Wallet(DEV_KEYS[9], provider);
      const payment = new PaymentSession(payer, chainId, payee);
      const paid = new InferenceClient({ url: aiWorker.url, payment, price });
      const free = new InferenceClient({ url: aiWorker.url, payment, price: 0n });
      const calls = Math.ceil(jobs / 2);
      const rounds = 4;
      await paid.deposit(price * BigInt(4 * calls + 400));
      log(
        `[services] the same 10 ms job as metered inference (POST /v1/infer), free over HTTP and direct, interleaved in ${rounds} rounds: ${calls} calls per path one at a time and ${calls} with ${inFlight} in flight…`,
      );
      const c = await meteredComparison({
        paid,
        free,
        model: matmulId,
        freeModel: freeId,
        input: tensorInput,
        x: { data: x, dims: xDims },
        modelBytes: readFileSync(matmulFile),
        procs: { node, worker: aiWorker },
        singleCalls: calls,
        manyCalls: calls,
        inFlight,
        rounds,
        log,
      });
      const single = latencyOverhead(c.direct.single, c.metered.single);
      const equal = throughputOverheadOf(c.direct.many, c.metered.many);
      const lone = c.paired.metered;
      result.metered = {
        model: TEN_MS_MODEL,
        priceWei: price.toString(),
        voucherEvery: METERED.voucherEvery,
        redeemEveryMs: METERED.redeemEveryMs,
        comparison: c,
        many: c.metered.many,
        single: c.metered.single,
        singleOverhead: single,
        singleOverheadPaired: lone,
        overheadEqualConcurrency: equal,
        overhead: throughputOverheadOf(c.direct.single, c.metered.many),
        plainSingleOverhead: latencyOverhead(c.direct.single, c.plain.single),
        plainOverheadEqualConcurrency: throughputOverheadOf(c.direct.many, c.plain.many),
        overheadTargetMet:
          lone.overheadInterval === null || equal === null
            ? null
            : lone.overheadInterval[1] < OVERHEAD_TARGET && equal < OVERHEAD_TARGET,
      };
      log(
        `[services]   lone call p50: direct ${c.direct.single.latencyMs.p50} / free HTTP ${c.plain.single.latencyMs.p50} / metered ${c.metered.single.latencyMs.p50} ms (overhead ${single ?? "?"}); ${inFlight} in flight: ${c.direct.many.jobsPerSec} / ${c.plain.many.jobsPerSec} / ${c.metered.many.jobsPerSec} calls/s (overhead ${equal ?? "?"}); lone-call transport p50 (client end − pay − run − hash): free ${c.plain.single.serverTimingMs?.transport_p50 ?? "?"} / metered ${c.metered.single.serverTimingMs?.transport_p50 ?? "?"} ms`,
      );
      log(`[services]   lone call, paired cycles: ${formatPaired(c.paired)}`);
      for (const [name, run] of [
        ["free HTTP", c.plain.single],
        ["metered", c.metered.single],
      ] as const) {
        if (run.timelineMs)
          log(`[services]   lone ${name} call timeline p50/p90 ms: ${formatTimeline(run.timelineMs)}`);
      }
    } finally {
      provider.destroy();
    }

    if (!skipAI) {
      const fixtures = join(opts.root, "test", "fixtures", "ai");
      const wav = new Uint8Array(readFileSync(join(fixtures, "transfer.wav")));
      const png = new Uint8Array(readFileSync(join(fixtures, "invoice.png")));
      const sentence = new TextEncoder().encode(
        JSON.stringify({ texts: ["Why did the node miss its slot when producing blocks?"] }),
      );
      for (const b of [wav, png]) await store.put(b);
      const perModel: [string, string, JobTemplate][] = [
        ["moonshine-tiny", "ai/transcribe", template("ai/transcribe", wav, {}, host.url, feeBps)],
        ["ppocr-v4", "ai/ocr", template("ai/ocr", png, {}, host.url, feeBps)],
        ["use-lite", "ai/embed", template("ai/embed", sentence, {}, undefined, feeBps)],
        [TEN_MS_MODEL, "ai/onnx", tenMsJob],
      ];
      for (const [model, kind, t] of perModel) {
        log(`[services] ${model} through the market: ${aiJobs} jobs one at a time, ${aiJobs * 3} with 8 in flight…`);
        await runJobs(watcher, reqs, t, 2, 1, { node, worker: aiWorker }); // warm-up
        const one = await runJobs(watcher, reqs, t, aiJobs, 1, { node, worker: aiWorker });
        const eight = await runJobs(watcher, reqs, t, aiJobs * 3, 8, { node, worker: aiWorker });
        result.models.push({
          model,
          kind,
          market: [one.run, eight.run],
          direct: (result.ai?.rows ?? []).filter((r) => r.model.startsWith(model)),
        });
      }
    }
    await watcher.stop();
    await host.close();
    rpc.close();
  } finally {
    for (const p of procs.reverse()) await p.stop();
    rmSync(hostDir, { recursive: true, force: true });
    rmSync(modelsDir, { recursive: true, force: true });
  }
  return result;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : String(v));

function rpcSummary(r: Record<string, { calls: number; ms: number }>): string {
  return Object.entries(r)
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 6)
    .map(([m, v]) => `${v.calls}× ${m.replace(/^eth_/, "")} ${v.ms}`)
    .join(", ");
}

export function servicesTables(r: ServicesBenchResult): string {
  const out: string[] = [];
  const l = r.lifecycle;
  if (l !== null) {
    const g = l.gasPerLifecycle;
    out.push(
      markdownTable(
        [`Market lifecycle, no work (post → claim → submit → accept), ${l.inFlight} in flight`, "value"],
        [
          ["jobs settled per second", fmt(l.jobsPerSec)],
          ["post → result available p50 / p99 (ms)", `${fmt(l.resultLatencyMs.p50)} / ${fmt(l.resultLatencyMs.p99)}`],
          ["post → accept mined p50 / p99 (ms)", `${fmt(l.settleLatencyMs.p50)} / ${fmt(l.settleLatencyMs.p99)}`],
          ["gas: post + claim + submit + accept", `${g.post} + ${g.claim} + ${g.submit} + ${g.accept} = ${g.total}`],
          ["node CPU ms per job / worker CPU ms per job", `${fmt(l.nodeCpuMsPerJob)} / ${fmt(l.workerCpuMsPerJob)}`],
          ["blocks per job settled", fmt(l.blocksPerJob)],
          ["jobs / failed / worker withdrawals", `${l.jobs} / ${l.failed} / ${l.withdrawals}`],
          ["node JSON-RPC per job (calls × method, ms)", rpcSummary(l.rpcPerJob)],
        ],
      ),
    );
  }
  const t = r.tenMs;
  if (t !== null) {
    out.push(
      "",
      markdownTable(
        [
          `10 ms inference job (${t.model}), batch calls ${t.batch ? "on" : "off"}`,
          "direct (one after another)",
          `through the market (${t.market.inFlight} in flight)`,
        ],
        [
          ["jobs/s", fmt(t.directJobsPerSec), fmt(t.market.jobsPerSec)],
          [
            "wall time per job (ms)",
            t.directJobsPerSec === null ? "—" : fmt(round(1000 / t.directJobsPerSec, 1)),
            t.market.jobsPerSec > 0 ? fmt(round(1000 / t.market.jobsPerSec, 1)) : "—",
          ],
          [
            "market overhead = (market − direct) / market wall time per job",
            "—",
            `${t.overhead === null ? "—" : `${round(t.overhead * 100, 1)} %`} (target < ${OVERHEAD_TARGET * 100} %: ${t.overheadTargetMet ? "met" : "not met"})`,
          ],
          [
            "latency p50 / p99 (ms): direct run / post → result",
            `${fmt(t.directP50Ms)}`,
            `${fmt(t.market.resultLatencyMs.p50)} / ${fmt(t.market.resultLatencyMs.p99)}`,
          ],
          [
            "lone job (1 in flight): post → result / post → accept mined p50 (ms)",
            "—",
            `${fmt(t.single.resultLatencyMs.p50)} / ${fmt(t.single.settleLatencyMs.p50)}`,
          ],
          [
            "node / worker CPU ms per job",
            "—",
            `${fmt(t.market.nodeCpuMsPerJob)} / ${fmt(t.market.workerCpuMsPerJob)}`,
          ],
        ],
      ),
    );
  }
  const m = r.metered;
  if (m !== null) {
    const c = m.comparison;
    const n = c.metered.many.inFlight;
    const cpu = (x: MeteredRun) =>
      `${fmt(x.nodeCpuMsPerJob)} / ${fmt(x.workerCpuMsPerJob)} / ${fmt(x.clientCpuMsPerJob)}`;
    out.push(
      "",
      markdownTable(
        [
          `10 ms inference job (${m.model}), interleaved in ${c.rounds} rounds`,
          "direct (in-process session)",
          "free over the worker's HTTP (price 0, no receipt)",
          "metered (POST /v1/infer + receipt)",
        ],
        [
          [
            "one at a time: latency p50 / p99 (ms)",
            `${fmt(c.direct.single.latencyMs.p50)} / ${fmt(c.direct.single.latencyMs.p99)}`,
            `${fmt(c.plain.single.latencyMs.p50)} / ${fmt(c.plain.single.latencyMs.p99)}`,
            `${fmt(c.metered.single.latencyMs.p50)} / ${fmt(c.metered.single.latencyMs.p99)}`,
          ],
          [
            "lone-call overhead, earlier figure = (path p50 − direct p50) / path p50 over blocks of lone calls",
            "—",
            pct(m.plainSingleOverhead),
            pct(m.singleOverhead),
          ],
          [
            `lone-call overhead, paired = median of (path − direct) / path per cycle [95 % interval] (${c.paired.cycles} cycles; target < ${OVERHEAD_TARGET * 100} % on the interval's upper end)`,
            "—",
            pctInterval(c.paired.plain),
            pctInterval(c.paired.metered),
          ],
          [
            "paired cycles: latency p50 / model run p50 (ms; HTTP paths: the worker's own run)",
            `${fmt(c.paired.p50Ms.direct)} / ${fmt(c.paired.modelP50Ms.direct)}`,
            `${fmt(c.paired.p50Ms.plain)} / ${fmt(c.paired.modelP50Ms.plain)}`,
            `${fmt(c.paired.p50Ms.metered)} / ${fmt(c.paired.modelP50Ms.metered)} (worker − direct model run ${fmt(c.paired.modelGap.diffMs)} ms [${c.paired.modelGap.diffInterval?.join(" … ") ?? "—"}], ${pct(c.paired.meteredInline)} inline)`,
          ],
          [
            `${n} in flight: calls/s`,
            fmt(c.direct.many.jobsPerSec),
            fmt(c.plain.many.jobsPerSec),
            fmt(c.metered.many.jobsPerSec),
          ],
          [
            `throughput overhead at equal concurrency = 1 − path ÷ direct calls/s (${n} in flight)`,
            "—",
            pct(m.plainOverheadEqualConcurrency),
            `${pct(m.overheadEqualConcurrency)} (target < ${OVERHEAD_TARGET * 100} %)`,
          ],
          [
            `earlier formula: 1 − path (${n} in flight) ÷ direct one after another (${fmt(c.direct.single.jobsPerSec)} calls/s)`,
            "—",
            pct(throughputOverheadOf(c.direct.single, c.plain.many)),
            pct(m.overhead),
          ],
          [
            "CPU ms per call, one at a time: node / worker / bench process (direct: the model; else the client)",
            cpu(c.direct.single),
            cpu(c.plain.single),
            cpu(c.metered.single),
          ],
          [
            `CPU ms per call, ${n} in flight: node / worker / bench process`,
            cpu(c.direct.many),
            cpu(c.plain.many),
            cpu(c.metered.many),
          ],
          [
            "calls / failed / vouchers signed (one at a time + in flight)",
            `${c.direct.single.calls + c.direct.many.calls} / ${c.direct.single.failed + c.direct.many.failed} / —`,
            `${c.plain.single.calls + c.plain.many.calls} / ${c.plain.single.failed + c.plain.many.failed} / —`,
            `${c.metered.single.calls + c.metered.many.calls} / ${c.metered.single.failed + c.metered.many.failed} / ${c.metered.single.vouchers + c.metered.many.vouchers}`,
          ],
        ],
      ),
      `(metered: ${m.priceWei} wei a call, a voucher every ${m.voucherEvery} receipts, vouchers redeemed on chain every ${m.redeemEveryMs / 1000} s; target ${m.overheadTargetMet ? "met" : "not met"}${Object.keys({ ...m.many.errors, ...m.single.errors, ...c.plain.many.errors, ...c.plain.single.errors }).length > 0 ? `; failures: ${JSON.stringify({ ...m.many.errors, ...m.single.errors, ...c.plain.many.errors, ...c.plain.single.errors })}` : ""})`,
    );
    if (t !== null)
      out.push(
        `(on-chain lifecycle of the same job, ${t.market.inFlight} in flight: ${fmt(t.market.jobsPerSec)} jobs/s, post → result p50 ${fmt(t.market.resultLatencyMs.p50)} ms, overhead ${pct(t.overhead)} by the earlier formula)`,
      );
  }
  if (r.models.length > 0) {
    const rows: string[][] = [];
    for (const m of r.models) {
      for (const d of m.direct)
        rows.push([
          m.model,
          `${d.path} (in-process)`,
          String(d.concurrency),
          fmt(d.jobsPerSec),
          fmt(d.latencyMs.p50),
          fmt(d.latencyMs.p99),
        ]);
      for (const k of m.market)
        rows.push([
          m.model,
          "market (post → result)",
          String(k.inFlight),
          fmt(k.jobsPerSec),
          fmt(k.resultLatencyMs.p50),
          fmt(k.resultLatencyMs.p99),
        ]);
    }
    out.push("", markdownTable(["model", "path", "in flight", "jobs/s", "p50 ms", "p99 ms"], rows));
  }
  return out.join("\n");
}
