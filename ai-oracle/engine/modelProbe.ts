import { hash } from "node:crypto";
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { type EngineSession, type ONNXFeeds, Tensor } from "./session.js";

/**
 * A measuring switch for the worker's inline model runs (issue 8: the worker's model read 0.2–0.5 ms slower than the
 * bench's direct loop of the same model). Off unless `AZORA_MODEL_PROBE=<file>` is in the worker's environment; then
 * after each inline run the worker runs the same session on the same feeds seven more times, under known
 * conditions, and appends one JSON line per call: the call's own run (`own`), two and three runs back to back after
 * it (`hot`, `hot3`: as the direct loop runs), one after a 2 ms idle sleep (`gap`), one after writing 2 MB
 * (`touched`: caches swept), one right after that (`hot2`), and after 5 and 20 ms idle (`idle5`, `idle20`). With
 * `AZORA_MODEL_PROBE_RUNS=0` only `own` is written (the calls keep their timing). The answer waits for the extra
 * runs: a probed bench run measures the model, not the call. The bench's direct loop writes the same records to
 * `<file>.direct` (bench/meteredBench.ts).
 */
export const MODEL_PROBE_ENV = "AZORA_MODEL_PROBE";
export const MODEL_PROBE_RUNS_ENV = "AZORA_MODEL_PROBE_RUNS";
/**
 * `AZORA_MODEL_PROBE_WAIT_MS=<n>`: every second probed call sleeps n ms before its own run (`waited` in its line),
 * so a slower first run after a call's arrival shows whether it wears off with time or only with runs.
 */
export const MODEL_PROBE_WAIT_ENV = "AZORA_MODEL_PROBE_WAIT_MS";

/**
 * `AZORA_MODEL_PROBE_SPIN=1`: a fixed register-only loop (no memory, no calls) is timed right as a probed call's
 * own run is due (`spinOwn`, before it) and again after `hot2` (`spinHot`): a core that runs slower as such after the
 * call's path (clock, host) slows the loop as it slows the model; caches, TLBs and allocator state do not.
 */
export const MODEL_PROBE_SPIN_ENV = "AZORA_MODEL_PROBE_SPIN";
/**
 * `AZORA_MODEL_PROBE_DISTURB=1`: after `idle20`, a run back to back (`hot4`), then one after JS work of a call's size
 * (sha256 of the feeds' bytes, a JSON round trip: `js`), one more (`hot5`), and one on fresh copies of the feeds
 * (`fresh`): whether the call's own work or its new input buffers cost the next run.
 */
export const MODEL_PROBE_DISTURB_ENV = "AZORA_MODEL_PROBE_DISTURB";

let sink = 0;
/** The spin loop's process CPU ms (a xorshift over registers; its result kept so it is not optimised away). */
export function probeSpin(n = 400_000): number {
  const a = process.cpuUsage();
  let x = (sink | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  sink = x;
  const u = process.cpuUsage(a);
  return (u.user + u.system) / 1e3;
}

/** One run: wall (the engine's `modelMs`) and what the process, its other threads and the scheduler did meanwhile. */
export interface ProbeRun {
  ms: number;
  /** The process's CPU time (getrusage: precise; a thread's schedstat lags up to a tick while it runs). */
  cpuMs: number;
  sysMs: number;
  /** CPU time of the process's other threads (schedstat: exact for threads asleep at both samples). */
  othersMs: number;
  /**
   * CPU ms from an immediate queued right before the run (it fires just before onnxruntime's own) to the run's
   * end: the run without what the event loop ran first in the same window (timers, I/O, earlier immediates).
   */
  coreMs: number;
  /** CPU ms of the closing sample's own /proc reads (inside `cpuMs`, not in `coreMs`'s run). */
  sampleMs: number;
  /** V8 GC pauses inside the run's window. */
  gcMs: number;
  /** The process's minor page faults during the run (getrusage): fresh pages the run's buffers touched. */
  flt: number;
  /** This thread's time waiting on a run queue. */
  waitMs: number;
  /** The CPU the run started and ended on, and the one this session's previous run ended on (−1: none). */
  cpu0: number;
  cpu1: number;
  last: number;
}

/** A point in time for `probeRun`. */
export interface Sample {
  cpu: number;
  waitNs: number;
  othersNs: number;
  usage: NodeJS.CpuUsage;
  /** The CPU time when `sample` began: its own /proc reads cost usage − this. */
  entry: NodeJS.CpuUsage;
  flt: number;
  t: number;
}

const gcs: [number, number][] = [];
let observing = false;
const lastCpu = new WeakMap<object, number>();
/** `touched`'s sweep: 2 MB (twice the L2), or `AZORA_MODEL_PROBE_SWEEP_MB` (e.g. 48: past the L3 slice). */
let scratch: Uint8Array | undefined;
let fill = 0;

/** The probe's file, or undefined (off). Turning on starts the GC observer. */
export function modelProbeFile(): string | undefined {
  const f = process.env[MODEL_PROBE_ENV] || undefined;
  if (f && !observing) {
    observing = true;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
      if (gcs.length > 1000) gcs.splice(0, 500);
    }).observe({ entryTypes: ["gc"] });
  }
  return f;
}

/** Linux /proc fields of the calling thread: its CPU now (field 39 of stat) and run-queue wait so far. */
function thread(): { tid: string; cpu: number; waitNs: number } {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "latin1");
    const cpu = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[36]); // (the name may hold spaces)
    const waitNs = Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[1]);
    return { tid: stat.slice(0, stat.indexOf(" ")), cpu, waitNs };
  } catch {
    return { tid: "", cpu: -1, waitNs: 0 };
  }
}

function othersNs(self: string): number {
  let ns = 0;
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      if (tid === self) continue;
      try {
        ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "latin1").split(" ")[0]);
      } catch {
        // (a thread that ended meanwhile)
      }
    }
  } catch {
    return 0;
  }
  return ns;
}

export function sample(): Sample {
  const entry = process.cpuUsage();
  const { tid, cpu, waitNs } = thread();
  const r = process.resourceUsage(); // (one getrusage: CPU time and faults of the same instant)
  const usage = { user: r.userCPUTime, system: r.systemCPUTime };
  return { cpu, waitNs, othersNs: othersNs(tid), usage, entry, flt: r.minorPageFault, t: performance.now() };
}

/**
 * Call right before a run: the process's CPU time when the next immediate fires (onnxruntime-node starts the run in
 * an immediate queued after this one, and the calls down to it are synchronous).
 */
export function cpuAtImmediate(): { usage?: NodeJS.CpuUsage } {
  const at: { usage?: NodeJS.CpuUsage } = {};
  setImmediate(() => {
    at.usage = process.cpuUsage();
  });
  return at;
}

/** One run of `session` between two samples (`ms`: its engine time); records the CPU it ended on. */
export function probeRun(
  a: Sample,
  b: Sample,
  ms: number,
  session: object,
  at: { usage?: NodeJS.CpuUsage } = {},
): ProbeRun & { t0: number; t1: number } {
  const c = at.usage ?? a.usage;
  const u = { user: b.usage.user - a.usage.user, system: b.usage.system - a.usage.system };
  const last = lastCpu.get(session) ?? -1;
  lastCpu.set(session, b.cpu);
  return {
    ms,
    cpuMs: (u.user + u.system) / 1e3,
    sampleMs: (b.usage.user - b.entry.user + b.usage.system - b.entry.system) / 1e3,
    coreMs: (b.entry.user - c.user + b.entry.system - c.system) / 1e3,
    sysMs: u.system / 1e3,
    othersMs: (othersNs(thread().tid) - a.othersNs) / 1e6,
    gcMs: 0,
    flt: b.flt - a.flt,
    waitMs: (b.waitNs - a.waitNs) / 1e6,
    cpu0: a.cpu,
    cpu1: b.cpu,
    last,
    t0: a.t,
    t1: b.t,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let calls = 0;

/** Before a probed call's own run: sleeps `AZORA_MODEL_PROBE_WAIT_MS` every second call; the ms it slept. */
export async function probeWait(): Promise<number> {
  const ms = Number(process.env[MODEL_PROBE_WAIT_ENV] ?? 0);
  if (!(ms > 0) || calls++ % 2 === 0) return 0;
  await sleep(ms);
  return ms;
}

/** The probe around a worker's inline run: `end` right after the run, with its engine time. */
export interface InlineProbe {
  /** Records the call's own run, then probes (`feeds`: the call's inputs, built only now, after the run's sample). */
  end(modelMs: number, session: EngineSession, feeds: () => ONNXFeeds): Promise<void>;
}

/**
 * Call right before a worker's inline run when `modelProbeFile()` gave `file`: sleeps first when
 * `AZORA_MODEL_PROBE_WAIT_MS` asks, times the spin loop with `AZORA_MODEL_PROBE_SPIN=1`, then samples.
 */
export async function startInlineProbe(file: string): Promise<InlineProbe> {
  const waited = await probeWait();
  const spun = process.env[MODEL_PROBE_SPIN_ENV] === "1" ? probeSpin() : undefined;
  const s0 = sample();
  const at = cpuAtImmediate();
  return {
    end: (modelMs, session, feeds) => {
      const own = probeRun(s0, sample(), modelMs, session, at);
      return probeModel(file, session, feeds(), own, waited, spun);
    },
  };
}

/** After a call's own inline run (`own`): the runs described above, one JSON line appended to `file`. */
export async function probeModel(
  file: string,
  session: EngineSession,
  feeds: ONNXFeeds,
  own: ReturnType<typeof probeRun>,
  waited = 0,
  spinOwn?: number,
): Promise<void> {
  const runs: Record<string, ReturnType<typeof probeRun>> = { own };
  const spins: Record<string, number> = {};
  if (spinOwn !== undefined) spins.spinOwn = spinOwn;
  if (process.env[MODEL_PROBE_RUNS_ENV] !== "0") {
    const one = async (f = feeds): Promise<ReturnType<typeof probeRun>> => {
      const a = sample();
      const at = cpuAtImmediate();
      const ms = (await session.run(f)).modelMs;
      return probeRun(a, sample(), ms, session, at);
    };
    runs.hot = await one();
    runs.hot3 = await one();
    await sleep(2);
    runs.gap = await one();
    scratch ??= new Uint8Array((Number(process.env.AZORA_MODEL_PROBE_SWEEP_MB) || 2) * 1024 * 1024);
    scratch.fill(++fill & 0xff);
    runs.touched = await one();
    runs.hot2 = await one();
    if (spinOwn !== undefined) spins.spinHot = probeSpin();
    await sleep(5);
    runs.idle5 = await one();
    await sleep(20);
    runs.idle20 = await one();
    if (process.env[MODEL_PROBE_DISTURB_ENV] === "1") {
      runs.hot4 = await one();
      const json = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ i, s: `v${i}`, a: [i, i * 2] })));
      for (const t of Object.values(feeds)) sink ^= hash("sha256", t.data as Uint8Array, "buffer")[0];
      sink ^= (JSON.parse(json) as unknown[]).length;
      runs.js = await one();
      runs.hot5 = await one();
      const fresh = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [k, new Tensor(t.type, (t.data as Float32Array).slice(), t.dims)]),
      ) as ONNXFeeds;
      runs.fresh = await one(fresh);
    }
  }
  await sleep(1); // (the GC observer's entries arrive in a later task)
  const out: Record<string, ProbeRun> = {};
  for (const [k, { t0, t1, ...r }] of Object.entries(runs)) {
    let gcMs = 0;
    for (const [a, b] of gcs) if (b > t0 && a < t1) gcMs += Math.min(b, t1) - Math.max(a, t0);
    out[k] = { ...r, gcMs };
  }
  appendFileSync(file, `${JSON.stringify({ ...out, waited, ...spins })}\n`);
}
