// The memory soak (issue 14: "a dev node under load stays under 400 MB RSS; no growth over a 30-minute soak at
// 200 tx/s"): a fresh `azora dev` under a steady paced load for --minutes, its memory sampled through an inspector
// session, V8 heap snapshots of its main thread at the start (after warm-up), in between and at the end, and a
// verdict from a linear fit over the second half of the run. Snapshot pauses are outside the measured time: the
// load waits while the node writes one, and the pause is taken off the clock.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { getAddress, hexlify, Interface, Wallet } from "ethers";
import { loadArtifact, repoRoot } from "../contracts/artifacts.js";
import { positiveInt, readFlags, splitArgs, UsageError } from "./args.js";
import { DEV_KEYS } from "./devKeys.js";
import { LEARN_ADDRESS } from "./ledger.js";
import { killAllStarted, NODE_FLAGS_ENV, startAzora, type TargetProcess } from "./procs.js";
import { hexToBigInt, RpcClient, sleep } from "./rpc.js";
import { type ConstructorGrowth, constructorTotals, growthBetween, type HeapSnapshotJson, slope } from "./soakHeap.js";
import { InspectorSession, inspectorUrl, type NodeMemory } from "./soakInspector.js";
import { type AnonSummary, procAnon, procCpuSeconds, procMemory, promGauge, promSeries } from "./soakProc.js";
import { round, summarize } from "./stats.js";
import { MAX_FEE, MAX_PRIORITY_FEE, pendingNonce, setupToken, type Token, VALUE_WEI } from "./workloads.js";

const KINDS = ["value", "erc20", "learn"] as const;
type Kind = (typeof KINDS)[number];
const GAS: Record<Kind, bigint> = { value: 21_000n, erc20: 60_000n, learn: 60_000n };
const RSS_GOAL_MB = 400;
/** "No growth": the live heap's (after a full GC) fitted slope over the second half stays under this (MB/10 min). */
const GROWTH_LIMIT_MB_PER_10MIN = 2;
const SIGN_AHEAD = 25;
const MB = 1024 * 1024;

export const SOAK_HELP = `Usage: node dist/bench/soak.js [options]   (npm run bench:soak -- [options])

A fresh azora dev node under a steady paced load; memory sampled, heap snapshots diffed, verdict against
issue 14's memory goal (< ${RSS_GOAL_MB} MB RSS, no growth).

  --minutes N         measured minutes after warm-up (default 30)
  --warmup-sec N      load before the first snapshot, not measured (default 60)
  --rate N            transactions per second, all senders together (default 200)
  --mix K,K           kinds sent round-robin: value, erc20, learn (default value,erc20,learn)
  --senders N         dev accounts sending (default 8, max 10)
  --call-rate N       eth_calls per second beside the txs (default 20)
  --sample-sec N      memory sample period (default 5)
  --snapshots N       heap snapshots, first after warm-up and last at the end (default 3; 0 = none: a
                      snapshot leaves native memory in the node's RSS, so the RSS goal is judged before
                      the first one, or on a run with 0)
  --gc-sec N          every N s a full GC (inspector) and the live heap after it: the growth verdict
                      fits these (default 60)
  --inspect           attach an inspector session even with --snapshots 0 (the live heap after a forced
                      GC; default: only with snapshots, since the session itself can hold memory;
                      without it the heap figures come from the node's /metrics)
  --azora-args "..."  extra arguments for azora dev (e.g. "--config F")
  --keep-snapshots    keep the .heapsnapshot files next to --out (default: deleted after the diff)
  --out FILE          JSON result (default bench/results/soak-latest.json)
`;

interface SoakParams {
  minutes: number;
  warmupSec: number;
  rate: number;
  mix: Kind[];
  senders: number;
  callRate: number;
  sampleSec: number;
  snapshots: number;
  gcSec: number;
  inspect: boolean;
  azoraArgs: string[];
  keepSnapshots: boolean;
  out: string;
}

export function parseSoakArgs(argv: string[]): SoakParams | null {
  const p: SoakParams = {
    minutes: 30,
    warmupSec: 60,
    rate: 200,
    mix: [...KINDS],
    senders: 8,
    callRate: 20,
    sampleSec: 5,
    snapshots: 3,
    gcSec: 60,
    inspect: false,
    azoraArgs: [],
    keepSnapshots: false,
    out: "bench/results/soak-latest.json",
  };
  const proceed = readFlags(argv, (flag, next) => {
    if (flag === "--minutes") p.minutes = positiveInt(flag, next(), 24 * 60);
    else if (flag === "--warmup-sec") p.warmupSec = positiveInt(flag, next(), 3600);
    else if (flag === "--rate") p.rate = positiveInt(flag, next(), 10_000);
    else if (flag === "--senders") p.senders = positiveInt(flag, next(), DEV_KEYS.length);
    else if (flag === "--call-rate") p.callRate = positiveInt(flag, next(), 10_000);
    else if (flag === "--sample-sec") p.sampleSec = positiveInt(flag, next(), 600);
    else if (flag === "--snapshots") {
      p.snapshots = Number(next());
      if (!Number.isInteger(p.snapshots) || p.snapshots === 1 || p.snapshots < 0 || p.snapshots > 20) {
        throw new UsageError("--snapshots must be 0 or an integer in [2, 20]");
      }
    } else if (flag === "--gc-sec") p.gcSec = positiveInt(flag, next(), 3600);
    else if (flag === "--azora-args") p.azoraArgs = splitArgs(next());
    else if (flag === "--inspect") p.inspect = true;
    else if (flag === "--keep-snapshots") p.keepSnapshots = true;
    else if (flag === "--out") p.out = next();
    else if (flag === "--mix") {
      const kinds = next().split(",");
      for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new UsageError(`--mix: unknown ${k}`);
      p.mix = kinds as Kind[];
    } else throw new UsageError(`unknown flag ${flag}`);
  });
  return proceed ? p : null;
}

interface Sample {
  /** Measured seconds since the end of warm-up (snapshot pauses excluded); negative during warm-up. */
  t: number;
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  /** Anonymous resident memory (/proc smaps_rollup): everything not file-backed. */
  anonMB: number | null;
  /** The simulation workers' V8 heaps together (total, from /metrics): in RSS, not in the heap figures. */
  workerHeapMB: number | null;
  included: number;
  /** The node process's CPU seconds so far (/proc stat, all threads). */
  cpuSec: number | null;
}

interface SnapshotPoint {
  t: number;
  /** Memory right after the snapshot's full GC: the live heap. */
  afterGc: NodeMemory;
  pauseSec: number;
  file: string;
}

const mb = (b: number) => round(b / MB, 1);

function toSample(
  t: number,
  m: NodeMemory,
  anon: number | null,
  workerHeap: number | null,
  included: number,
  cpuSec: number | null,
): Sample {
  return {
    t: round(t, 1),
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
    anonMB: anon === null ? null : mb(anon),
    workerHeapMB: workerHeap === null ? null : mb(workerHeap),
    included,
    cpuSec,
  };
}

const metricsText = async (url: string) => (await fetch(`${url}/metrics`)).text();

/** The main isolate's heap from the node's /metrics (prom-client defaults), RSS from /proc: no inspector. */
function metricsMemory(text: string, pid: number): NodeMemory {
  const g = (n: string) => promGauge(text, `azora_process_nodejs_${n}`) ?? 0;
  return {
    rss: procMemory(pid)?.rss ?? 0,
    heapTotal: g("heap_size_total_bytes"),
    heapUsed: g("heap_size_used_bytes"),
    external: g("external_memory_bytes"),
    arrayBuffers: 0,
  };
}

/** The simulation workers' heaps together, or null before any has reported. */
function workerHeapBytes(text: string): number | null {
  const totals = promSeries(text, "azora_rpc_simulation_worker_heap_bytes").filter((x) =>
    x.labels.endsWith('kind="total"'),
  );
  return totals.length === 0 ? null : totals.reduce((a, x) => a + x.value, 0);
}

/** A paced clock: slot k is due at start + k/rate, and paused time is added to start. */
class Pacer {
  private start = performance.now();
  private issued = 0;
  private gate: Promise<void> | null = null;
  private pausedAt = 0;
  private pausedTotal = 0;
  private open: () => void = () => {};

  constructor(private readonly rate: number) {}

  /** Resolves when no snapshot pause is on. */
  async waitOpen(): Promise<void> {
    while (this.gate !== null) await this.gate;
  }

  async turn(): Promise<void> {
    await this.waitOpen();
    const due = this.start + (this.issued++ * 1000) / this.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (this.gate !== null) await this.gate;
  }

  pause(): void {
    this.pausedAt = performance.now();
    this.gate = new Promise((r) => {
      this.open = r;
    });
  }

  resume(): void {
    const d = performance.now() - this.pausedAt;
    this.start += d;
    this.pausedTotal += d;
    this.gate = null;
    this.open();
  }

  /** Seconds since `mark`, paused time excluded. */
  elapsedSince(mark: number, pausedAtMark: number): number {
    return (performance.now() - mark - (this.pausedTotal - pausedAtMark)) / 1000;
  }

  paused(): number {
    return this.pausedTotal;
  }
}

interface LoadState {
  sent: number;
  rejected: number;
  included: number;
  receiptsChecked: number;
  receiptFailures: number;
  calls: number;
  callErrors: number;
  errors: Record<string, number>;
  /** hash → send time (ms), until seen in a block. */
  pending: Map<string, number>;
  latenciesMs: number[];
}

function randomAddress(): string {
  return getAddress(hexlify(randomBytes(20)));
}

function countErr(s: LoadState, e: unknown): void {
  const m = (e as Error).message.slice(0, 120);
  s.errors[m] = (s.errors[m] ?? 0) + 1;
}

async function main(): Promise<number> {
  let params: SoakParams | null;
  try {
    params = parseSoakArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${SOAK_HELP}`);
      return 2;
    }
    throw e;
  }
  if (params === null) {
    console.log(SOAK_HELP);
    return 0;
  }
  const p = params;
  const root = repoRoot();
  const outPath = resolve(root, p.out);
  const snapDir = join(dirname(outPath), `soak-snapshots-${process.pid}`);
  mkdirSync(snapDir, { recursive: true });
  if (!p.keepSnapshots) process.on("exit", () => rmSync(snapDir, { recursive: true, force: true }));
  const log = (m: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

  const inspect = p.inspect || p.snapshots > 0;
  if (inspect) process.env[NODE_FLAGS_ENV] = `${process.env[NODE_FLAGS_ENV] ?? ""} --inspect=127.0.0.1:0`;
  const proc: TargetProcess = await startAzora(join(root, "dist/node/cli.js"), root, p.azoraArgs);
  log(`node up at ${proc.url} (pid ${proc.pid}): ${proc.command}`);
  let insp: InspectorSession | null = null;
  if (inspect) {
    const url = inspectorUrl(proc.outputTail());
    if (url === null) throw new Error(`no inspector URL in the node's output:\n${proc.outputTail()}`);
    insp = await InspectorSession.connect(url);
  }

  // Requests in flight while the node writes a snapshot (tens of seconds on a loaded machine) wait it out.
  const rpc = new RpcClient(proc.url, 10 * 60_000);
  const stop = { load: false };
  try {
    const chainId = hexToBigInt(await rpc.call("eth_chainId"));
    const wallets = DEV_KEYS.slice(0, p.senders).map((k) => new Wallet(k));
    const ctx = {
      rpc,
      chainId,
      wallets,
      proc,
      params: { stallTimeoutMs: 30_000 } as never,
      log,
    };
    const token: Token = await setupToken(ctx, loadArtifact("TestToken"));
    const learn = new Interface(loadArtifact("ILearn").abi as string[]);
    log(`TestToken at ${token.address}; load ${p.rate} tx/s (${p.mix.join(",")}) from ${p.senders} senders`);

    const s: LoadState = {
      sent: 0,
      rejected: 0,
      included: 0,
      receiptsChecked: 0,
      receiptFailures: 0,
      calls: 0,
      callErrors: 0,
      errors: {},
      pending: new Map(),
      latenciesMs: [],
    };
    const pacer = new Pacer(p.rate);
    let kindTurn = 0;

    const build = (kind: Kind, to: string) => {
      if (kind === "value") return { to, data: "0x", value: VALUE_WEI };
      const iface = kind === "erc20" ? token.iface : learn;
      return {
        to: kind === "erc20" ? token.address : LEARN_ADDRESS,
        data: iface.encodeFunctionData("transfer", [to, 1n]),
        value: 0n,
      };
    };

    const senderLoop = async (i: number) => {
      const w = wallets[i];
      let nonce = await pendingNonce(rpc, w.address);
      const ready: Array<{ raw: string }> = [];
      while (!stop.load) {
        if (ready.length === 0) {
          // Signed in small batches ahead of their turn, so signing does not sit between pacing and sending.
          for (let k = 0; k < SIGN_AHEAD; k++) {
            const kind = p.mix[kindTurn++ % p.mix.length];
            const t = build(kind, randomAddress());
            ready.push({
              raw: await w.signTransaction({
                type: 2,
                chainId,
                nonce: nonce++,
                ...t,
                gasLimit: GAS[kind],
                maxFeePerGas: MAX_FEE,
                maxPriorityFeePerGas: MAX_PRIORITY_FEE,
              }),
            });
          }
        }
        await pacer.turn();
        if (stop.load) break;
        const tx = ready.shift() as { raw: string };
        const t0 = performance.now();
        try {
          const hash = await rpc.call<string>("eth_sendRawTransaction", [tx.raw]);
          s.pending.set(hash.toLowerCase(), t0);
          s.sent++;
        } catch (e) {
          // A rejected nonce would gap every later one: this sender stops.
          s.rejected++;
          countErr(s, e);
          return;
        }
      }
    };

    const watcher = async () => {
      let next = Number(hexToBigInt(await rpc.call("eth_blockNumber"))) + 1;
      while (!stop.load || s.pending.size > 0) {
        try {
          const head = Number(hexToBigInt(await rpc.call("eth_blockNumber")));
          for (; next <= head; next++) {
            const b = await rpc.call<{ transactions: string[] }>("eth_getBlockByNumber", [
              `0x${next.toString(16)}`,
              false,
            ]);
            const now = performance.now();
            for (const h of b.transactions) {
              const sentAt = s.pending.get(h.toLowerCase());
              if (sentAt === undefined) continue;
              s.pending.delete(h.toLowerCase());
              s.latenciesMs.push(now - sentAt);
              if (s.included++ % 50 === 0) {
                const r = await rpc.call<{ status: string } | null>("eth_getTransactionReceipt", [h]);
                s.receiptsChecked++;
                if (r?.status !== "0x1") s.receiptFailures++;
              }
            }
          }
        } catch (e) {
          countErr(s, e);
        }
        if (stop.load && s.pending.size > 0 && drainDeadline !== 0 && performance.now() > drainDeadline) break;
        await sleep(250);
      }
    };
    let drainDeadline = 0;

    const callLoop = async () => {
      const balanceOf = token.iface.encodeFunctionData("balanceOf", [wallets[0].address]);
      let k = 0;
      const t0 = performance.now();
      while (!stop.load) {
        const due = t0 + pacer.paused() + (k++ * 1000) / p.callRate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        await pacer.waitOpen();
        try {
          const to = k % 2 === 0 ? token.address : LEARN_ADDRESS;
          const data =
            k % 2 === 0 ? balanceOf : learn.encodeFunctionData("balanceOf", [wallets[k % wallets.length].address]);
          const r = await rpc.call<string>("eth_call", [{ to, data }, "latest"]);
          if (hexToBigInt(r) === 0n && to === token.address) throw new Error("balanceOf(account 0) returned 0");
          s.calls++;
        } catch (e) {
          s.callErrors++;
          countErr(s, e);
        }
      }
    };

    const loops = [...wallets.map((_, i) => senderLoop(i)), watcher(), callLoop()];

    const samples: Sample[] = [];
    const live: Array<{ t: number; liveHeapMB: number; rssMB: number }> = [];
    const snaps: SnapshotPoint[] = [];
    let mark = performance.now();
    let pausedAtMark = 0;
    const measured = () => pacer.elapsedSince(mark, pausedAtMark);
    const sample = async (t: number) => {
      const text = await metricsText(proc.url);
      const m = insp === null ? metricsMemory(text, proc.pid) : await insp.memoryUsage();
      samples.push(
        toSample(
          t,
          m,
          procMemory(proc.pid)?.anonymous ?? null,
          workerHeapBytes(text),
          s.included,
          procCpuSeconds(proc.pid),
        ),
      );
    };
    // The largest anonymous mappings at every --gc-sec: which native allocations grow (glibc arenas, V8 spaces).
    const anon: Array<{ t: number; ldb: { files: number; rss: number } } & AnonSummary> = [];

    const snapshot = async (i: number) => {
      if (insp === null) return;
      pacer.pause();
      const t = measured();
      const t0 = performance.now();
      const file = join(snapDir, `soak-${i}.heapsnapshot`);
      await insp.heapSnapshot(file);
      const afterGc = await insp.memoryUsage();
      const pauseSec = round((performance.now() - t0) / 1000, 1);
      snaps.push({ t: round(t, 1), afterGc, pauseSec, file });
      log(
        `snapshot ${i} at ${round(t / 60, 1)} min: live heap ${mb(afterGc.heapUsed)} MB, RSS ${mb(afterGc.rss)} MB (pause ${pauseSec} s)`,
      );
      pacer.resume();
    };

    // Warm-up: load, samples with negative time, then the first snapshot; measured time starts after it.
    const warmEnd = performance.now() + p.warmupSec * 1000;
    while (performance.now() < warmEnd) {
      await sleep(p.sampleSec * 1000);
      await sample(-(warmEnd - performance.now()) / 1000);
      if (proc.exited()) throw new Error(`the node exited during warm-up\n${proc.outputTail()}`);
    }
    const w = samples[samples.length - 1];
    log(
      `warm-up done: ${s.included} txs included, pending ${s.pending.size}, rejected ${s.rejected}, RSS ${w?.rssMB} MB`,
    );
    mark = performance.now();
    pausedAtMark = pacer.paused();
    if (p.snapshots > 0) await snapshot(0);
    const total = p.minutes * 60;
    // The middle snapshots; the last is taken after the load stops.
    const snapAt = Array.from(
      { length: Math.max(0, p.snapshots - 2) },
      (_, i) => ((i + 1) * total) / (p.snapshots - 1),
    );
    let lastProgress = 0;
    let lastGc = Number.NEGATIVE_INFINITY;
    const includedAtMark = s.included;
    for (;;) {
      await sleep(p.sampleSec * 1000);
      if (proc.exited()) throw new Error(`the node exited\n${proc.outputTail()}`);
      const t = measured();
      await sample(t);
      if (t - lastGc >= p.gcSec) {
        lastGc = t;
        if (insp !== null) {
          const m = await insp.afterFullGc();
          live.push({ t: round(t, 1), liveHeapMB: mb(m.heapUsed), rssMB: mb(m.rss) });
        }
        const a = procAnon(proc.pid);
        if (a !== null) anon.push({ t: round(t, 1), ...a });
      }
      if (t - lastProgress >= 30) {
        lastProgress = t;
        const last = samples[samples.length - 1];
        log(
          `${round(t / 60, 1)}/${p.minutes} min: ${round((s.included - includedAtMark) / t, 0)} tx/s included, ` +
            `pending ${s.pending.size}, rejected ${s.rejected}, RSS ${last.rssMB} MB (anon ${last.anonMB}, workers' heaps ${last.workerHeapMB}), heap ${last.heapUsedMB}/${last.heapTotalMB} MB, ext ${last.externalMB} MB`,
        );
      }
      if (snapAt.length > 0 && t >= snapAt[0]) {
        snapAt.shift();
        await snapshot(snaps.length);
      }
      if (t >= total) break;
    }
    const measuredSec = measured();
    const includedMeasured = s.included - includedAtMark;
    stop.load = true;
    drainDeadline = performance.now() + 30_000;
    await Promise.all(loops);
    if (p.snapshots > 0) await snapshot(snaps.length);
    await insp?.close();

    // The snapshots are parsed after the load, one at a time (each is a large JSON text).
    let growth: ConstructorGrowth[] = [];
    if (snaps.length >= 2) {
      log("diffing the first and last heap snapshots…");
      const totalsOf = (file: string) => constructorTotals(JSON.parse(readFileSync(file, "utf8")) as HeapSnapshotJson);
      growth = growthBetween(totalsOf(snaps[0].file), totalsOf(snaps[snaps.length - 1].file), 15);
    }
    if (!p.keepSnapshots) rmSync(snapDir, { recursive: true, force: true });

    const measuredSamples = samples.filter((x) => x.t >= 0);
    const secondHalf = measuredSamples.filter((x) => x.t >= measuredSec / 2);
    const per10 = (key: keyof Sample) => {
      const k = slope(secondHalf.map((x) => ({ x: x.t, y: Number(x[key] ?? 0) })));
      return k === null ? null : round(k * 600, 2);
    };
    // Node CPU per included tx (all its threads): over the measured time and over its second half.
    const cpuPerTx = (xs: Sample[]) => {
      const a = xs[0];
      const b = xs[xs.length - 1];
      if (a?.cpuSec == null || b?.cpuSec == null || b.included <= a.included) return null;
      return round(((b.cpuSec - a.cpuSec) * 1e6) / (b.included - a.included), 0);
    };
    const cpuMicrosPerTx = { measured: cpuPerTx(measuredSamples), secondHalf: cpuPerTx(secondHalf) };
    // Without an inspector there is no forced GC: the lowest heap used in each --gc-sec window (right after a
    // GC) bounds the live heap from above, so a flat trough means no growth of the live heap either.
    const troughs: Array<{ t: number; heapUsedMB: number }> = [];
    for (const x of measuredSamples) {
      const w = Math.floor(x.t / p.gcSec);
      const last = troughs[troughs.length - 1];
      if (last === undefined || Math.floor(last.t / p.gcSec) !== w) troughs.push({ t: x.t, heapUsedMB: x.heapUsedMB });
      else if (x.heapUsedMB < last.heapUsedMB) troughs[troughs.length - 1] = { t: x.t, heapUsedMB: x.heapUsedMB };
    }
    // A last, partial window may hold no GC: its lowest sample bounds nothing.
    if (troughs.length > 0 && Math.floor(troughs[troughs.length - 1].t / p.gcSec) >= Math.floor(measuredSec / p.gcSec))
      troughs.pop();
    const troughSlope = slope(troughs.filter((x) => x.t >= measuredSec / 2).map((x) => ({ x: x.t, y: x.heapUsedMB })));
    const liveSlope = slope(live.filter((x) => x.t >= measuredSec / 2).map((x) => ({ x: x.t, y: x.liveHeapMB })));
    const slopes = {
      liveHeapMB: liveSlope === null ? null : round(liveSlope * 600, 2),
      rssMB: per10("rssMB"),
      heapUsedMB: per10("heapUsedMB"),
      heapTotalMB: per10("heapTotalMB"),
      externalMB: per10("externalMB"),
      anonMB: per10("anonMB"),
      workerHeapMB: per10("workerHeapMB"),
      heapUsedTroughMB: troughSlope === null ? null : round(troughSlope * 600, 2),
      ldbMB: (() => {
        const k = slope(anon.filter((x) => x.t >= measuredSec / 2).map((x) => ({ x: x.t, y: x.ldb.rss / MB })));
        return k === null ? null : round(k * 600, 2);
      })(),
    };
    const peakRssMB = Math.max(...samples.map((x) => x.rssMB));
    const peakRssBeforeSnapshotsMB = Math.max(
      ...samples.filter((x) => p.snapshots === 0 || x.t < 0).map((x) => x.rssMB),
    );
    const liveGrowthMB =
      snaps.length >= 2 ? mb(snaps[snaps.length - 1].afterGc.heapUsed - snaps[0].afterGc.heapUsed) : null;
    const grows = slopes.liveHeapMB === null ? null : slopes.liveHeapMB > GROWTH_LIMIT_MB_PER_10MIN;
    const rssOk = peakRssBeforeSnapshotsMB < RSS_GOAL_MB;
    const verdict =
      `RSS peak ${peakRssBeforeSnapshotsMB} MB${p.snapshots > 0 ? " (before the first snapshot)" : ""} ${rssOk ? "<" : "≥"} ${RSS_GOAL_MB} MB: ${rssOk ? "MET" : "NOT MET"}; ` +
      `live-heap slope ${slopes.liveHeapMB} MB/10 min (limit ${GROWTH_LIMIT_MB_PER_10MIN}): ${grows === null ? "too few points" : grows ? "GROWS" : "no growth"}`;

    const result = {
      date: new Date().toISOString(),
      params: p,
      command: proc.command,
      measuredSec: round(measuredSec, 1),
      includedTxPerSec: round(includedMeasured / measuredSec, 1),
      load: {
        sent: s.sent,
        included: s.included,
        rejected: s.rejected,
        neverIncluded: s.pending.size,
        receiptsChecked: s.receiptsChecked,
        receiptFailures: s.receiptFailures,
        calls: s.calls,
        callErrors: s.callErrors,
        inclusionMs: summarize(s.latenciesMs),
        errors: s.errors,
      },
      peakRssMB,
      peakRssBeforeSnapshotsMB,
      slopesPer10Min: slopes,
      cpuMicrosPerTx,
      heapUsedTroughs: troughs,
      snapshots: snaps.map((x) => ({
        t: x.t,
        pauseSec: x.pauseSec,
        liveHeapMB: mb(x.afterGc.heapUsed),
        rssMB: mb(x.afterGc.rss),
        heapTotalMB: mb(x.afterGc.heapTotal),
        externalMB: mb(x.afterGc.external),
      })),
      liveHeapGrowthMB: liveGrowthMB,
      topGrowth: growth,
      liveHeap: live,
      anonMappings: anon,
      samples,
      verdict,
      nodeLogIssues: proc.issues(),
    };
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);

    // The table: the memory sample at the start, each quarter and the end of the measured time, with the live
    // heap of the nearest forced GC; snapshot points are listed beside it.
    const near = <T extends { t: number }>(xs: T[], t: number): T | undefined =>
      xs.reduce<T | undefined>((b, x) => (b === undefined || Math.abs(x.t - t) < Math.abs(b.t - t) ? x : b), undefined);
    const lines = [
      `Soak: ${round(measuredSec / 60, 1)} min measured at ${result.includedTxPerSec} tx/s included (${p.mix.join(",")}), ${s.calls} eth_calls; ` +
        `sent ${s.sent}, rejected ${s.rejected}, never included ${s.pending.size}, receipt failures ${s.receiptFailures}/${s.receiptsChecked}, call errors ${s.callErrors}`,
      "",
      "| min | RSS MB | heap used MB | heap total MB | external MB | live heap after GC MB |",
      "| ---: | ---: | ---: | ---: | ---: | ---: |",
      ...[0, 0.25, 0.5, 0.75, 1].map((f) => {
        const x = near(measuredSamples, f * measuredSec);
        const l = near(live, f * measuredSec);
        return `| ${round((x?.t ?? 0) / 60, 1)} | ${x?.rssMB ?? "-"} | ${x?.heapUsedMB ?? "-"} | ${x?.heapTotalMB ?? "-"} | ${x?.externalMB ?? "-"} | ${l?.liveHeapMB ?? "-"} |`;
      }),
      ...(snaps.length === 0
        ? []
        : [
            "",
            `Snapshots (min: live heap MB / RSS MB after it, pause s): ${snaps.map((x) => `${round(x.t / 60, 1)}: ${mb(x.afterGc.heapUsed)} / ${mb(x.afterGc.rss)}, ${x.pauseSec}`).join("; ")}`,
          ]),
      "",
      `Live heap after a full GC (MB, every ${p.gcSec} s): ${live.map((x) => x.liveHeapMB).join(" ")}`,
      `Heap used, lowest in each ${p.gcSec} s (MB; bounds the live heap): ${troughs.map((x) => x.heapUsedMB).join(" ")}`,
      `Slope over the second half (MB per 10 min): live heap ${slopes.liveHeapMB}, RSS ${slopes.rssMB}, anonymous ${slopes.anonMB}, workers' heaps ${slopes.workerHeapMB}, heap used ${slopes.heapUsedMB} (lowest per window ${slopes.heapUsedTroughMB}), heap total ${slopes.heapTotalMB}, external ${slopes.externalMB}, mapped LevelDB tables ${slopes.ldbMB}`,
      `Node CPU µs per included tx (all threads): ${cpuMicrosPerTx.measured} measured, ${cpuMicrosPerTx.secondHalf} second half`,
      ...[anon[0], anon[anon.length - 1]]
        .filter((a) => a !== undefined)
        .map(
          (a) =>
            `Mapped LevelDB tables at ${round(a.t / 60, 1)} min: ${a.ldb.files} files, ${mb(a.ldb.rss)} MB resident. Anonymous mappings: ${a.count}, resident MB by mapping size ≤1 MB / ≤64 MB / >64 MB ${mb(a.bySize.small)} / ${mb(a.bySize.upTo64MB)} / ${mb(a.bySize.large)}; largest ${a.top
              .slice(0, 5)
              .map((m) => `${mb(m.rss)}/${mb(m.size)}`)
              .join(", ")} (resident/size MB)`,
        ),
      `Peak RSS ${peakRssMB} MB (before the first snapshot: ${peakRssBeforeSnapshotsMB} MB); live heap first→last snapshot ${liveGrowthMB === null ? "-" : `${liveGrowthMB >= 0 ? "+" : ""}${liveGrowthMB} MB`}`,
      "",
      "Top constructors by shallow-size growth, first → last snapshot:",
      "| constructor | Δ count | Δ self MB | self MB at end |",
      "| --- | ---: | ---: | ---: |",
      ...growth.map(
        (g) =>
          `| ${g.name.slice(0, 60)} | ${g.countDelta} | ${round(g.selfBytesDelta / MB, 2)} | ${round(g.selfBytesAfter / MB, 2)} |`,
      ),
      "",
      `Verdict: ${verdict}`,
      `JSON: ${outPath}`,
    ];
    console.log(lines.join("\n"));
    return s.rejected === 0 && s.receiptFailures === 0 && s.callErrors === 0 ? 0 : 1;
  } finally {
    stop.load = true;
    await insp?.close().catch(() => {});
    log(`node stopped: ${await proc.stop()}`);
  }
}

process.on("exit", killAllStarted);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    killAllStarted();
    process.exit(130);
  });
}
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    killAllStarted();
    process.exit(1);
  },
);
