// Phase (2b) of the services bench: the ~10 ms model sold per request (POST /v1/infer on the AI worker), next to
// the same model called directly in this process and served free over the same worker HTTP path (price 0: no
// receipt, no accounting), so the table splits transport from payment. The three paths are measured interleaved
// (rounds of direct → metered → free, one at a time and then at N in flight), so a change of the shared machine's
// load hits all three alike instead of biasing the ratio, and the direct side runs at the same concurrency as
// the metered one (N calls in flight through one onnxruntime session) as well as one at a time.

import { appendFileSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { cpuAtImmediate, modelProbeFile, probeRun, sample } from "../ai-oracle/engine/modelProbe.js";
import { createONNXSession, Tensor } from "../ai-oracle/engine/session.js";
import { type InferenceClient, InferenceHTTPError } from "../services/client/inferenceClient.js";
import { CallTimeline, type SegmentSummary } from "./callTimeline.js";
import { type LonePaired, LonePairedRun } from "./lonePaired.js";
import type { TargetProcess } from "./procs.js";
import { type LatencySummary, round, summarize } from "./stats.js";

export interface MeteredRun {
  calls: number;
  inFlight: number;
  failed: number;
  seconds: number;
  jobsPerSec: number;
  /** request sent → output received and its hash checked (vouchers handed in inside the call when asked). */
  latencyMs: LatencySummary;
  nodeCpuMsPerJob: number | null;
  workerCpuMsPerJob: number | null;
  /** CPU of this process per call (the payer: receipts, vouchers, hashing, HTTP; direct: the model itself). */
  clientCpuMsPerJob: number | null;
  /**
   * The worker's minor page faults per call (Linux /proc; null elsewhere): memory it touched for the first time.
   * A lone call's 460 KB body buffer is not among them in the steady state (README, issue 8: recycled bodies).
   */
  workerFaultsPerJob: number | null;
  /** Vouchers signed over the run. */
  vouchers: number;
  /** Failed calls by error code and message. */
  errors: Record<string, number>;
  /**
   * The worker's `server-timing` per call, mean ms by stage (recv, pay, run = queue + model, hash), the client's
   * timings (`client_sent`, `client_head`, `client_end`) and `transport_p50` = the median of client_end − (pay + run + hash) per call;
   * HTTP paths only.
   */
  serverTimingMs?: Record<string, number>;
  /** With `AZORA_CALL_TRACE=1` (bench and worker): each call's timeline by segment, ms (bench/callTimeline.ts). */
  timelineMs?: Record<string, SegmentSummary>;
}

interface Block {
  lat: number[];
  seconds: number;
  cpuMs: { node: number; worker: number; self: number };
  /** The worker's minor page faults over the block, or null. */
  workerFaults: number | null;
  failed: number;
  errors: Record<string, number>;
  vouchers: number;
  timing: Record<string, number>;
  timed: number;
  transport: number[];
  traces: Record<string, number>[];
}

type Procs = { node: TargetProcess; worker: TargetProcess };

/** Sums of the worker's `server-timing` durations (`name;dur=ms, …`) over the calls that carried one. */
class TimingSum {
  sums: Record<string, number> = {};
  calls = 0;
  transport: number[] = [];
  traces: Record<string, number>[] = [];
  add(r: {
    serverTiming?: string;
    clientTiming: { sent: number; head: number; end: number };
    trace?: Record<string, number>;
  }): void {
    if (r.trace) this.traces.push(r.trace);
    if (!r.serverTiming) return;
    this.calls++;
    for (const m of r.serverTiming.matchAll(/([a-z]+);dur=([0-9.]+)/g))
      this.sums[m[1]] = (this.sums[m[1]] ?? 0) + Number(m[2]);
    // the client's side of the same call, ms from its start: body sent, response head, last byte hashed
    for (const [k, v] of Object.entries(r.clientTiming)) this.sums[`client_${k}`] = (this.sums[`client_${k}`] ?? 0) + v;
    // transport: the call's time outside the worker's handler work (pay, run, hash) — the request's upload and
    // parse (`recv`), both processes waking, the answer's write, read and hash here
    const work = [...r.serverTiming.matchAll(/(pay|run|hash);dur=([0-9.]+)/g)].reduce((s, m) => s + Number(m[2]), 0);
    this.transport.push(r.clientTiming.end - work);
  }
  take(): Pick<Block, "timing" | "timed" | "transport" | "traces"> {
    const r = { timing: this.sums, timed: this.calls, transport: this.transport, traces: this.traces };
    this.sums = {};
    this.calls = 0;
    this.transport = [];
    this.traces = [];
    return r;
  }
}

/** `total` calls, `inFlight` at a time; CPU of the node, the worker and this process over the block. */
/** A process's minor page faults so far (field 10 of /proc/<pid>/stat), or null where there is no /proc. */
function minorFaults(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const n = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]); // (the name may hold spaces)
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function timed(call: () => Promise<void>, total: number, inFlight: number, procs: Procs): Promise<Block> {
  const cpu0 = { node: procs.node.cpuSeconds() ?? 0, worker: procs.worker.cpuSeconds() ?? 0 };
  const faults0 = minorFaults(procs.worker.pid);
  const self0 = process.cpuUsage();
  const lat: number[] = [];
  const errors: Record<string, number> = {};
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        try {
          await call();
          lat.push(performance.now() - t);
        } catch (e) {
          failed++;
          const code =
            e instanceof InferenceHTTPError ? `${e.code}: ${e.message.slice(0, 80)}` : String(e).slice(0, 80);
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const faults1 = minorFaults(procs.worker.pid);
  return {
    lat,
    seconds,
    cpuMs: {
      node: ((procs.node.cpuSeconds() ?? 0) - cpu0.node) * 1000,
      worker: ((procs.worker.cpuSeconds() ?? 0) - cpu0.worker) * 1000,
      self: (self.user + self.system) / 1000,
    },
    workerFaults: faults0 === null || faults1 === null ? null : faults1 - faults0,
    failed,
    errors,
    vouchers: 0,
    timing: {},
    timed: 0,
    transport: [],
    traces: [],
  };
}

/** Blocks of one path merged: calls ÷ summed wall time, latencies pooled, CPU per call. */
function merge(blocks: Block[], inFlight: number): MeteredRun {
  const lat = blocks.flatMap((b) => b.lat);
  const seconds = blocks.reduce((s, b) => s + b.seconds, 0);
  const per = (k: keyof Block["cpuMs"]) =>
    lat.length === 0 ? null : round(blocks.reduce((s, b) => s + b.cpuMs[k], 0) / lat.length, 2);
  const errors: Record<string, number> = {};
  for (const b of blocks) for (const [k, v] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    calls: lat.length,
    inFlight,
    failed: blocks.reduce((s, b) => s + b.failed, 0),
    seconds: round(seconds, 2),
    jobsPerSec: seconds > 0 ? round(lat.length / seconds, 1) : 0,
    latencyMs: summarize(lat),
    nodeCpuMsPerJob: per("node"),
    workerCpuMsPerJob: per("worker"),
    clientCpuMsPerJob: per("self"),
    workerFaultsPerJob:
      lat.length === 0 || blocks.some((b) => b.workerFaults === null)
        ? null
        : round(blocks.reduce((s, b) => s + (b.workerFaults ?? 0), 0) / lat.length, 1),
    vouchers: blocks.reduce((s, b) => s + b.vouchers, 0),
    errors,
    ...serverTiming(blocks),
    ...timeline(blocks),
  };
}

function timeline(blocks: Block[]): { timelineMs?: Record<string, SegmentSummary> } {
  const t = new CallTimeline();
  for (const b of blocks) for (const trace of b.traces) t.add(trace);
  return t.calls === 0 ? {} : { timelineMs: t.summary() };
}

function serverTiming(blocks: Block[]): { serverTimingMs?: Record<string, number> } {
  const calls = blocks.reduce((s, b) => s + b.timed, 0);
  if (calls === 0) return {};
  const out: Record<string, number> = {};
  for (const b of blocks) for (const [k, v] of Object.entries(b.timing)) out[k] = (out[k] ?? 0) + v;
  for (const k of Object.keys(out)) out[k] = round(out[k] / calls, 2);
  const transport = summarize(blocks.flatMap((b) => b.transport)).p50;
  if (transport !== null) out.transport_p50 = transport;
  return { serverTimingMs: out };
}

export interface PathPair {
  /** One call at a time (lone-call latency). */
  single: MeteredRun;
  /** `inFlight` calls at a time (throughput at equal concurrency). */
  many: MeteredRun;
}

export interface MeteredComparison {
  rounds: number;
  /** The model in this process through one onnxruntime session: one at a time, and N runs in flight. */
  direct: PathPair;
  /** The same model over the worker's HTTP path, served free (price 0): transport without payment. */
  plain: PathPair;
  /** Paid per request: a receipt per call, vouchers as the worker asks. */
  metered: PathPair;
  /** Lone calls in paired cycles (one of each path, alternating order), after each round's blocks of lone calls. */
  paired: LonePaired;
}

export interface MeteredComparisonOptions {
  paid: InferenceClient;
  free: InferenceClient;
  model: string;
  freeModel: string;
  /** The AZT1 container sent over HTTP, and the same tensor for the in-process session. */
  input: Uint8Array;
  x: { data: Float32Array; dims: number[] };
  modelBytes: Uint8Array;
  procs: Procs;
  /** Calls per path one at a time, and per path at `inFlight` (each split over the rounds). */
  singleCalls: number;
  manyCalls: number;
  inFlight: number;
  rounds: number;
  log: (line: string) => void;
}

/** Paired cycles dropped at the start: one full set of bench/pairedOverhead.ts's cycle orders for three paths. */
const PAIRED_WARMUP = 6;

/** Direct, free-over-HTTP and metered calls of the same model and input, interleaved round by round. */
export async function meteredComparison(o: MeteredComparisonOptions): Promise<MeteredComparison> {
  const session = await createONNXSession(o.modelBytes);
  try {
    const x = new Tensor("float32", o.x.data, o.x.dims);
    const timing = new TimingSum();
    // With AZORA_MODEL_PROBE (ai-oracle/engine/modelProbe.ts) the lone direct runs are probed too, to <file>.direct
    const probe = modelProbeFile();
    const directProbe: ReturnType<typeof probeRun>[] = [];
    let directInFlight = 0; // (only lone runs are probed: N in flight share the thread)
    const paths: [keyof Omit<MeteredComparison, "rounds" | "paired">, () => Promise<void>][] = [
      [
        "direct",
        async () => {
          if (!probe || directInFlight > 0) return void (await session.run({ x }));
          directInFlight++;
          const a = sample();
          const t = performance.now();
          const at = cpuAtImmediate();
          await session.run({ x }).finally(() => directInFlight--);
          directProbe.push(probeRun(a, sample(), performance.now() - t, session, at));
        },
      ],
      ["metered", async () => timing.add(await o.paid.infer(o.model, o.input))],
      ["plain", async () => timing.add(await o.free.infer(o.freeModel, o.input))],
    ];
    for (const [, call] of paths) await timed(call, 16, 4, o.procs); // warm-up: sessions, connections, JIT
    timing.take();
    const blocks = {
      direct: { single: [] as Block[], many: [] as Block[] },
      metered: { single: [] as Block[], many: [] as Block[] },
      plain: { single: [] as Block[], many: [] as Block[] },
    };
    const each = (n: number) => Math.max(1, Math.ceil(n / o.rounds));
    // as many paired cycles as lone calls per path in the blocks, plus one full set of cycle orders dropped as
    // warm-up (every path's first calls after the blocks alike)
    const paired = new LonePairedRun({
      session,
      feeds: { x },
      metered: () => o.paid.infer(o.model, o.input),
      plain: () => o.free.infer(o.freeModel, o.input),
      warmup: PAIRED_WARMUP,
    });
    for (let r = 0; r < o.rounds; r++) {
      for (const [name, call] of paths) {
        const v0 = o.paid.vouchersSigned;
        const one = await timed(call, each(o.singleCalls), 1, o.procs);
        one.vouchers = name === "metered" ? o.paid.vouchersSigned - v0 : 0;
        Object.assign(one, timing.take());
        blocks[name].single.push(one);
      }
      await paired.cyclesOf(each(o.singleCalls) + (r === 0 ? PAIRED_WARMUP : 0));
      for (const [name, call] of paths) {
        const v0 = o.paid.vouchersSigned;
        const many = await timed(call, each(o.manyCalls), o.inFlight, o.procs);
        many.vouchers = name === "metered" ? o.paid.vouchersSigned - v0 : 0;
        Object.assign(many, timing.take());
        blocks[name].many.push(many);
      }
      o.log(`[services]   round ${r + 1}/${o.rounds} done`);
    }
    const pair = (b: { single: Block[]; many: Block[] }): PathPair => ({
      single: merge(b.single, 1),
      many: merge(b.many, o.inFlight),
    });
    if (probe) appendFileSync(`${probe}.direct`, directProbe.map((r) => `${JSON.stringify(r)}\n`).join(""));
    return {
      rounds: o.rounds,
      direct: pair(blocks.direct),
      plain: pair(blocks.plain),
      metered: pair(blocks.metered),
      paired: paired.result(),
    };
  } finally {
    await session.release();
  }
}

/** Lone-call overhead: (path p50 − base p50) / path p50. */
export function latencyOverhead(base: MeteredRun, path: MeteredRun): number | null {
  const b = base.latencyMs.p50;
  const p = path.latencyMs.p50;
  return b === null || p === null || p <= 0 ? null : round((p - b) / p, 3);
}

/** Throughput overhead: 1 − path calls/s ÷ base calls/s (the same as (path − base) / path wall time per call). */
export function throughputOverhead(base: MeteredRun, path: MeteredRun): number | null {
  return base.jobsPerSec <= 0 || path.jobsPerSec <= 0 ? null : round(1 - path.jobsPerSec / base.jobsPerSec, 3);
}
