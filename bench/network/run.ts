// `npm run bench:network`: finality and tx→final latency of a fresh 4-validator localnet, with and without a killed
// validator, on loopback or (--netns) as separate hosts in network namespaces. See bench/network/README.md.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../../contracts/artifacts.js";
import type { LogIssues } from "../procs.js";
import { sleep } from "../rpc.js";
import { round } from "../stats.js";
import { azoraVersion } from "../version.js";
import { HELP, type NetworkBenchParams, parseArgs, UsageError } from "./args.js";
import { type FinalityResult, measureIdleFinality, ProposerSchedule } from "./finality.js";
import { NetObserver } from "./heads.js";
import {
  benchSenders,
  devSenders,
  fundSenders,
  type LoadCtx,
  type LoadStepResult,
  runLoadStep,
  type Sender,
  warmUp,
} from "./load.js";
import {
  foreignAzoraProcesses,
  killAllStarted,
  type Localnet,
  machineBusyCpuSeconds,
  type NetNode,
  startLocalnet,
  statusLine,
  waitReady,
} from "./localnet.js";
import { breakdown, perHeightLine, scrapeAll, stepLine } from "./metrics.js";
import {
  createTopology,
  type NetnsTopology,
  NetnsUnavailableError,
  preflight,
  removeStaleNamespaces,
  teardownAllSync,
} from "./netns.js";
import { figures, type PhaseRecord, type Phases, type RampRecord, table } from "./report.js";
import { runSyncBench, type SyncResult, syncRows, syncStagesLine } from "./sync.js";

const VALIDATORS = 4;
/** The validator killed in the one-down phases. */
const VICTIM = 3;
const READY_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
/** Fresh load networks at most (one more after each stall). */
const MAX_LOAD_NETWORKS = 4;
const WARMUP_RATE = 50;
/** Accounts the load steps send from (funded per network): 5 tx/s each at 500 tx/s, as many-user traffic. */
const LOAD_SENDERS = 100;
const SENDER_FUNDING_WEI = 50n * 10n ** 18n;
const WARMUP_S = 3;

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const errMsg = (e: unknown) => (e instanceof Error ? e.message : String(e));

let keepDirs = false;
let waitQuietS = 0;
/** Measurement-validity warnings (other work on the machine); they do not fail the run. */
const warnings: string[] = [];

interface NetworkRecord {
  label: string;
  emptyBlockIntervalMs: number | null;
  consensus: Record<string, number> | null;
  initCommand: string | null;
  startCommand: string | null;
  startupSec: number | null;
  /** Fresh networks that never became ready (each replaced by a new one). */
  startFailures: string[];
  error: string | null;
  nodes: Array<{
    name: string;
    stop: string | null;
    cpuSec: number | null;
    rssMiB: number | null;
    logIssues: LogIssues;
    logFile: string | null;
  }>;
}

async function phase<T>(name: string, net: Localnet, fn: () => Promise<T>): Promise<PhaseRecord<T>> {
  await waitQuiet(net.label, waitQuietS);
  log(`[${net.label}] ${name}`);
  const live = net.live();
  const before = await scrapeAll(live);
  const cpu0 = live.map((n) => n.cpuSeconds());
  const bench0 = process.cpuUsage();
  const machine0 = machineBusyCpuSeconds();
  const foreign = new Set(foreignAzoraProcesses());
  const t0 = performance.now();
  let result: T | null = null;
  let error: string | null = null;
  try {
    result = await fn();
  } catch (e) {
    error = errMsg(e);
    log(`  FAILED: ${error}`);
  }
  const wallSec = (performance.now() - t0) / 1000;
  const stillLive = live.filter((n) => !n.exited());
  const after = await scrapeAll(stillLive);
  const cpu1 = live.map((n) => n.cpuSeconds());
  let nodesCpu: number | null = 0;
  for (let i = 0; i < live.length; i++) {
    const a = cpu0[i];
    const b = cpu1[i];
    if (a === null || (b === null && !live[i].exited())) nodesCpu = null;
    else if (nodesCpu !== null && b !== null) nodesCpu += b - a;
  }
  const b = process.cpuUsage(bench0);
  const machine1 = machineBusyCpuSeconds();
  for (const f of foreignAzoraProcesses()) foreign.add(f);
  const benchCpu = (b.user + b.system) / 1e6;
  const otherCpu =
    machine0 === null || machine1 === null || nodesCpu === null ? null : machine1 - machine0 - nodesCpu - benchCpu;
  if (foreign.size > 0 || (otherCpu !== null && otherCpu > 0.1 * wallSec * cpus().length)) {
    const w =
      `${net.label}: ${name}: other work used ${otherCpu === null ? "?" : round(otherCpu, 1)} CPU s of ` +
      `${round(wallSec * cpus().length, 1)}${foreign.size > 0 ? `; ${foreign.size} azora process(es) not started by this bench were running` : ""}` +
      " — the figures are skewed";
    warnings.push(w);
    log(`  WARNING: ${w}`);
  }
  const time = after.size > 0 ? breakdown(before, after) : null;
  if (time !== null) {
    log(`  where the time goes (ms, mean over ${time.nodes} nodes): ${stepLine(time)}`);
    if (time.perHeight !== null) log(`  CPU per height: ${perHeightLine(time.perHeight)}`);
    if (time.decided.roundAboveZero > 0)
      log(
        `  heights decided in round ≥ 1: ${time.decided.roundAboveZero} of ${time.decided.count} (summed over nodes)`,
      );
  }
  return {
    name,
    result,
    error,
    time,
    cpu: {
      wallSec: round(wallSec, 2),
      nodesCpuSec: nodesCpu === null ? null : round(nodesCpu, 2),
      benchCpuSec: round(benchCpu, 2),
      otherCpuSec: otherCpu === null ? null : round(otherCpu, 2),
      foreignAzoraProcesses: [...foreign],
    },
  };
}

function logFinality(f: FinalityResult): void {
  log(
    `  ${f.heights} heights in ${f.windowSec} s (${f.blocksPerSec} blocks/s, interval ${f.emptyBlockIntervalMs} ms): ` +
      `first node p50 ${f.firstNodeMs.p50} p99 ${f.firstNodeMs.p99} ms, all nodes p50 ${f.allNodesMs.p50} ` +
      `p99 ${f.allNodesMs.p99} ms; block interval p50 ${f.blockIntervalMs.p50} ms; ` +
      `${f.heightsProposedAfterRound0} not decided on the round-0 proposal`,
  );
  if (f.byRound0Proposer !== null) {
    const d = f.byRound0Proposer.dead;
    const a = f.byRound0Proposer.alive;
    log(
      `  round-0 proposer dead: ${d.heights} heights, all-live p50 ${d.allNodesMs.p50} p99 ${d.allNodesMs.p99} ms; ` +
        `alive: ${a.heights} heights, p50 ${a.allNodesMs.p50} p99 ${a.allNodesMs.p99} ms`,
    );
  }
}

class Session {
  readonly networks: NetworkRecord[] = [];
  readonly problems: string[] = [];

  constructor(
    readonly params: NetworkBenchParams,
    readonly root: string,
    readonly cli: string,
    readonly topo: NetnsTopology | null,
    readonly senders: Sender[],
  ) {}

  /** Starts a network, runs `body` with it, always stops it and records how its nodes ended. */
  async withNetwork(
    label: string,
    emptyBlockIntervalMs: number | undefined,
    minHeight: number,
    body: (net: Localnet, obs: NetObserver, schedule: ProposerSchedule) => Promise<void>,
  ): Promise<void> {
    const rec: NetworkRecord = {
      label,
      emptyBlockIntervalMs: emptyBlockIntervalMs ?? null,
      consensus: null,
      initCommand: null,
      startCommand: null,
      startupSec: null,
      startFailures: [],
      error: null,
      nodes: [],
    };
    this.networks.push(rec);
    await waitQuiet(label, waitQuietS);
    log(`\n[${label}] starting ${VALIDATORS} validators${this.topo !== null ? " in network namespaces" : ""}…`);
    const t0 = performance.now();
    let net: Localnet | null = null;
    let obs: NetObserver | null = null;
    const wasKilled = (n: NetNode) => killedByBench.has(n);
    try {
      for (let attempt = 1; ; attempt++) {
        net = await startLocalnet({
          label,
          root: this.root,
          cli: this.cli,
          validators: VALIDATORS,
          emptyBlockIntervalMs,
          consensusOverrides: this.overrides(emptyBlockIntervalMs),
          minBlockIntervalMs: this.params.minBlockIntervalMs,
          netns: this.topo,
          relayDelayMs: this.params.relay ? this.params.delayMs : null,
          relayScript: join(this.root, "dist/bench/network/relay.js"),
          keep: this.params.keep,
          nodeFlags:
            this.params.nodeCpuProfDir === null
              ? []
              : ["--cpu-prof", "--cpu-prof-dir", resolve(this.params.nodeCpuProfDir)],
          log,
        });
        rec.initCommand = net.initCommand;
        rec.startCommand = net.nodes[0].command;
        rec.emptyBlockIntervalMs = net.emptyBlockIntervalMs;
        rec.consensus = net.consensus;
        try {
          await waitReady(net, minHeight, READY_TIMEOUT_MS);
          break;
        } catch (e) {
          // A fresh network that does not commit is a node problem worth reporting; try a new one.
          const msg = `[${label}] start attempt ${attempt}: ${errMsg(e)}`;
          this.problems.push(msg);
          log(msg);
          rec.startFailures.push(errMsg(e));
          await net.stop();
          net = null;
          if (attempt >= START_ATTEMPTS) throw new Error(`no committing network after ${attempt} attempts`);
        }
      }
      rec.startupSec = round((performance.now() - t0) / 1000, 1);
      log(
        `[${label}] ready in ${rec.startupSec} s: RPC ${net.nodes.map((n) => n.rpcUrl).join(" ")} ` +
          `(empty-block interval ${net.emptyBlockIntervalMs} ms)${this.params.keep ? `, dir ${net.dir}` : ""}`,
      );
      obs = await NetObserver.open(net.nodes);
      await body(net, obs, new ProposerSchedule(net));
      for (const w of obs.watchers) {
        if (w.closed && !wasKilled(w.node))
          this.problems.push(`[${label}] ${w.node.name}: newHeads WebSocket closed: ${w.closeReason}`);
      }
      for (const n of net.nodes) {
        if (n.exited() && !wasKilled(n))
          this.problems.push(`[${label}] ${n.name} exited unexpectedly (${await n.exitInfo})`);
      }
    } catch (e) {
      rec.error = errMsg(e);
      this.problems.push(`[${label}] ${rec.error}`);
      log(`[${label}] FAILED: ${rec.error}`);
    } finally {
      obs?.close();
      if (net !== null) {
        const cpu = net.nodes.map((n) => n.cpuSeconds());
        const rss = net.nodes.map((n) => n.rssMiB());
        const how = await net.stop();
        net.nodes.forEach((n, i) => {
          rec.nodes.push({
            name: n.name,
            stop: how[i],
            cpuSec: cpu[i],
            rssMiB: rss[i] === null ? null : round(rss[i] as number, 1),
            logIssues: n.issues(),
            logFile: this.params.keep ? n.logFile : null,
          });
          const clean = /^exit code 0$|signal SIGTERM/.test(how[i]);
          if (!wasKilled(n) && !clean) this.problems.push(`[${label}] ${n.name} did not stop cleanly: ${how[i]}`);
        });
        log(`[${label}] stopped: ${how.map((h, i) => `node${i} ${h}`).join(", ")}`);
      }
    }
  }

  /**
   * True when a load step ended because the chain stopped including its txs: records the nodes' consensus state
   * (height, round, step) as evidence; later steps on this network would measure nothing.
   */
  async stalled(net: Localnet, rec: PhaseRecord<LoadStepResult>): Promise<boolean> {
    const err = rec.result?.error ?? rec.error;
    if (err === null || !/no progress/.test(err)) return false;
    const st = await statusLine(net);
    const msg = `[${net.label}] ${rec.name}: the chain stopped including txs (${err}); nodes: ${st}`;
    this.problems.push(msg);
    log(`  STALL: ${st}`);
    return true;
  }

  /** An idle window with (almost) no heights: the chain stalled; records the nodes' consensus state. */
  async idleStalled(net: Localnet, rec: PhaseRecord<FinalityResult>): Promise<void> {
    const f = rec.result;
    if (f === null || f.heights >= Math.max(3, f.windowSec)) return;
    const st = await statusLine(net);
    this.problems.push(`[${net.label}] ${rec.name}: only ${f.heights} heights in ${f.windowSec} s; nodes: ${st}`);
    log(`  STALL: ${st}`);
  }

  /** --genesis-consensus, except that the idle network keeps its own empty-block interval. */
  overrides(emptyBlockIntervalMs: number | undefined): Record<string, number> {
    const o = { ...this.params.genesisConsensus };
    if (emptyBlockIntervalMs !== undefined) delete o.emptyBlockIntervalMs;
    return o;
  }

  /** Funds the load senders from the dev accounts (untimed) and switches the context to them. */
  async useBenchSenders(ctx: LoadCtx, label: string): Promise<void> {
    const to = benchSenders(LOAD_SENDERS);
    log(`[${label}] funding ${to.length} sender accounts from the ${this.senders.length} dev accounts (untimed)`);
    await fundSenders(ctx, this.senders, to, SENDER_FUNDING_WEI);
    ctx.senders = to;
    ctx.steps++; // the steps after funding pay more than the funding txs did
  }

  loadCtx(net: Localnet, obs: NetObserver, schedule: ProposerSchedule): LoadCtx {
    return { steps: 0, net, obs, schedule, senders: this.senders, stallTimeoutMs: this.params.stallTimeoutMs, log };
  }
}

/** Waits (up to `maxS`) while azora nodes this bench did not start run on the machine; logs them. */
async function waitQuiet(label: string, maxS: number): Promise<void> {
  let foreign = foreignAzoraProcesses();
  if (foreign.length === 0) return;
  log(`[${label}] ${foreign.length} azora process(es) not started by this bench are running:`);
  for (const f of foreign.slice(0, 8)) log(`    ${f}`);
  if (maxS <= 0) return;
  const deadline = performance.now() + maxS * 1000;
  while (foreign.length > 0 && performance.now() < deadline) {
    await sleep(2000);
    foreign = foreignAzoraProcesses();
  }
  log(
    foreign.length === 0
      ? `[${label}] they are gone; starting`
      : `[${label}] still ${foreign.length} after ${maxS} s; starting anyway`,
  );
}

/** Nodes this bench killed on purpose (their exit is not a problem). */
const killedByBench = new Set<NetNode>();

async function killVictim(net: Localnet): Promise<void> {
  const victim = net.nodes[VICTIM];
  killedByBench.add(victim);
  log(`[${net.label}] kill -9 ${victim.name} (pid ${victim.pid})`);
  await victim.kill9();
  await sleep(2000); // peers notice the closed connections; the measured window is the steady state after that
}

async function main(): Promise<number> {
  let params: NetworkBenchParams | null;
  try {
    params = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench:network: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (params === null) {
    process.stdout.write(HELP);
    return 0;
  }
  keepDirs = params.keep;
  waitQuietS = params.waitQuietS;
  const root = repoRoot();
  const date = new Date().toISOString();
  const mode = params.netns
    ? `netns, ${params.delayMs} ms one-way per link`
    : params.relay
      ? `loopback through delaying relays, ${params.delayMs} ms one-way per link`
      : "loopback (127.0.0.1)";
  const modeName = params.netns ? "netns" : params.relay ? "relay" : "loopback";

  const cli = resolve(params.cli ?? join(root, "dist/node/cli.js"));
  if (!existsSync(cli)) {
    process.stderr.write(`bench:network: ${cli} not found (run \`npm run build\`)\n`);
    return 2;
  }

  let topo: NetnsTopology | null = null;
  if (params.netns) {
    await removeStaleNamespaces(log);
    try {
      await preflight(params.delayMs);
    } catch (e) {
      if (e instanceof NetnsUnavailableError) {
        process.stderr.write(`bench:network: ${e.message}\n`);
        return 3;
      }
      throw e;
    }
    topo = await createTopology(VALIDATORS, params.delayMs, join(root, "dist/bench/network/forward.js"));
    log(`netns: ${topo.description}`);
  }

  const cpuList = cpus();
  const loadAtStart = loadavg().map((x) => round(x, 2));
  log(
    `bench:network — ${VALIDATORS} validators, ${mode}; ${cpuList.length} CPUs shared by the nodes and the load ` +
      `generator; windows of ${params.durationS} s; load average ${loadAtStart.join(" ")}`,
  );
  const s = new Session(params, root, cli, topo, await devSenders());
  const phases: Phases = { idle: null, idleOneDown: null, fixed: [], ramp: null, loadOneDown: null };
  let sync: SyncResult | null = null;
  const p = params;

  try {
    // 1 (and 4a): empty-block finality, heights back to back.
    if (p.only.has("idle"))
      await s.withNetwork("idle", p.idleIntervalMs, 3, async (net, obs, schedule) => {
        await sleep(2000);
        phases.idle = await phase("empty-block finality, 4 validators", net, () =>
          measureIdleFinality(net, obs, schedule, p.durationS),
        );
        if (phases.idle.result !== null) logFinality(phases.idle.result);
        await s.idleStalled(net, phases.idle);
        if (!p.skipKill) {
          await killVictim(net);
          phases.idleOneDown = await phase(`empty-block finality, node${VICTIM} killed`, net, () =>
            measureIdleFinality(net, obs, schedule, p.durationS),
          );
          if (phases.idleOneDown.result !== null) logFinality(phases.idleOneDown.result);
          await s.idleStalled(net, phases.idleOneDown);
        }
      });

    // 2 and 3: tx→final at fixed loads, then the ramp (genesis default interval).
    if (p.only.has("load")) {
      // Fixed rates, then the ramp. A step that stalls the chain is recorded and the remaining steps run on a
      // fresh network (a stalled chain would measure nothing), at most MAX_LOAD_NETWORKS networks.
      const steps = [
        ...p.rates.map((rate) => ({ rate, ramp: false })),
        ...p.ramp.map((rate) => ({ rate, ramp: true })),
      ];
      const ramp: RampRecord = { steps: [], highestSustained: null, stoppedAt: null };
      let next = 0;
      for (let n = 1; n <= MAX_LOAD_NETWORKS && next < steps.length && ramp.stoppedAt === null; n++) {
        const label = n === 1 ? "load" : `load#${n}`;
        await s.withNetwork(label, undefined, 1, async (net, obs, schedule) => {
          const ctx = s.loadCtx(net, obs, schedule);
          log(`[${label}] warm-up: ${WARMUP_RATE} tx/s for ${WARMUP_S} s (untimed)`);
          await warmUp(ctx, WARMUP_RATE, WARMUP_S);
          await s.useBenchSenders(ctx, label);
          while (next < steps.length) {
            const { rate, ramp: inRamp } = steps[next++];
            if (inRamp) phases.ramp = ramp;
            const name = inRamp ? `ramp: ${rate} tx/s` : `tx→final at ${rate} tx/s`;
            const rec = await phase(name, net, () => runLoadStep(ctx, rate, p.durationS));
            const r = rec.result;
            if (inRamp) {
              ramp.steps.push(rec);
              if (r === null || !r.sustained.ok) {
                ramp.stoppedAt = { rate, why: r === null ? [rec.error ?? "failed"] : r.sustained.why };
                await s.stalled(net, rec);
                return;
              }
              ramp.highestSustained = rate;
            } else {
              phases.fixed.push(rec);
              if (r !== null && r.notIncluded + r.doomed + r.rejected > 0)
                s.problems.push(
                  `[${label}] ${rate} tx/s: ${r.rejected} rejected, ${r.notIncluded + r.doomed} never included ` +
                    `(${JSON.stringify(r.rejectErrors)})`,
                );
            }
            if (await s.stalled(net, rec)) return; // the rest on a fresh network
          }
        });
      }
    }

    // 4b: tx→final with one validator killed.
    if (!p.skipKill && p.only.has("down")) {
      await s.withNetwork("load-1-down", undefined, 1, async (net, obs, schedule) => {
        const ctx = s.loadCtx(net, obs, schedule);
        log(`[load-1-down] warm-up: ${WARMUP_RATE} tx/s for ${WARMUP_S} s (untimed)`);
        await warmUp(ctx, WARMUP_RATE, WARMUP_S);
        await s.useBenchSenders(ctx, "load-1-down");
        await killVictim(net);
        const rate = p.rates[0];
        phases.loadOneDown = await phase(`tx→final at ${rate} tx/s, node${VICTIM} killed`, net, () =>
          runLoadStep(ctx, rate, p.durationS),
        );
        const r = phases.loadOneDown.result;
        if (r !== null && r.notIncluded + r.doomed + r.rejected > 0)
          s.problems.push(`[load-1-down] ${r.rejected} rejected, ${r.notIncluded + r.doomed} never included`);
        await s.stalled(net, phases.loadOneDown);
      });
    }
    // 5: block sync of a fresh full node (loopback only).
    if (p.only.has("sync")) sync = await syncPhase(p, root, cli, s.problems);
  } finally {
    if (topo !== null) await topo.teardown();
  }

  for (const ph of [phases.idle, phases.idleOneDown, ...phases.fixed, phases.loadOneDown]) {
    if (ph !== null && ph.error !== null) s.problems.push(`${ph.name}: ${ph.error}`);
  }

  // The goals are for loopback; with added link delay they are shown for reference, not checked.
  const rows = [
    ...(p.only.size === 1 && p.only.has("sync") ? [] : figures(phases)),
    ...(p.only.has("sync") ? syncRows(sync) : []),
  ].map((r) =>
    modeName === "loopback" ? r : { ...r, goal: r.goal === "" ? "" : `(${r.goal} on loopback)`, met: null },
  );
  log("");
  log(table(rows, modeName === "loopback" ? "loopback" : `${modeName} ${params.delayMs} ms/link`));
  if (sync !== null) log(`\nBlock sync, where the sync loop's time goes: ${syncStagesLine(sync)}`);
  log("");
  log("Where the time goes (consensus step durations from /metrics, mean / p99 ms over the live nodes):");
  const named: Array<[string, PhaseRecord<unknown> | null]> = [
    ["idle, 4 validators", phases.idle],
    ["idle, 1 down", phases.idleOneDown],
    ...phases.fixed.map((f): [string, PhaseRecord<unknown>] => [f.name, f]),
    ...(phases.ramp?.steps ?? []).map((f): [string, PhaseRecord<unknown>] => [f.name, f]),
    ["load, 1 down", phases.loadOneDown],
  ];
  for (const [name, ph] of named) {
    if (ph === null || ph.time === null) continue;
    const t = ph.time;
    const r = ph.result as Partial<LoadStepResult> | null;
    const blocks =
      r?.blocks !== undefined ? `, ${r.blocks.withOurTxs} blocks (mean ${r.blocks.meanTxs ?? "—"} txs)` : "";
    log(
      `  ${name.padEnd(34)} ${stepLine(t)}; round ≥ 1: ${t.decided.roundAboveZero}/${t.decided.count}` +
        `${blocks}; cpu nodes ${ph.cpu.nodesCpuSec ?? "?"} s + bench ${ph.cpu.benchCpuSec} s + other ` +
        `${ph.cpu.otherCpuSec ?? "?"} s / ${ph.cpu.wallSec} s wall`,
    );
  }
  log("");
  log("Per-node CPU per height by stage (ms; mean over the nodes that committed; other = process CPU − stages):");
  for (const [name, ph] of named) {
    if (ph === null || ph.time === null || ph.time.perHeight === null) continue;
    log(`  ${name.padEnd(34)} ${perHeightLine(ph.time.perHeight)}`);
  }
  const issues: string[] = [];
  for (const n of s.networks) {
    for (const node of n.nodes) {
      const c = node.logIssues.counts;
      if (Object.keys(c).length === 0) continue;
      issues.push(`  [${n.label}] ${node.name}: ${JSON.stringify(c)}`);
      for (const smp of node.logIssues.samples.slice(0, 4)) issues.push(`      ${smp.count}× ${smp.level}: ${smp.msg}`);
    }
  }
  if (issues.length > 0) {
    log("\nNode log warnings/errors:");
    for (const l of issues) log(l);
  }
  if (warnings.length > 0) {
    log("\nWARNINGS (measurement validity):");
    for (const w of warnings) log(`  ${w}`);
  }
  if (s.problems.length > 0) {
    log("\nPROBLEMS:");
    for (const pr of s.problems) log(`  ${pr}`);
  }

  const output = {
    date,
    mode: modeName,
    topology: topo?.description ?? "4 processes on 127.0.0.1",
    machine: {
      cpus: cpuList.length,
      model: cpuList[0]?.model ?? "unknown",
      memGB: round(totalmem() / 2 ** 30, 1),
      /** 1/5/15-min load averages when the run started and ended: other work on the machine skews the figures. */
      loadAvg: { atStart: loadAtStart, atEnd: loadavg().map((x) => round(x, 2)) },
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    version: params.cli === null ? azoraVersion(root) : `${azoraVersion(root)}; nodes run ${cli}`,
    params,
    figures: rows,
    phases,
    sync,
    networks: s.networks,
    problems: s.problems,
    warnings,
  };
  const out = resolve(params.out);
  const stamp = date.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  const dated = join(dirname(out), `network-${modeName === "loopback" ? "" : `${modeName}-`}${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const json = `${JSON.stringify(output, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Set ? [...v] : v), 2)}\n`;
  writeFileSync(out, json);
  if (basename(dated) !== basename(out)) writeFileSync(dated, json);
  log(`\nwrote ${out}\n  and ${dated}`);
  return s.problems.length === 0 ? 0 : 1;
}

async function syncPhase(
  p: NetworkBenchParams,
  root: string,
  cli: string,
  problems: string[],
): Promise<SyncResult | null> {
  await waitQuiet("sync", waitQuietS);
  log(
    `\n[sync] block sync: ${p.sync.emptyBlocks} empty blocks + ${p.sync.loadedBlocks} bursts of ` +
      `${p.sync.txsPerBlock} transfers, one validator making them (untimed), a fresh full node syncing them`,
  );
  const cpu0 = machineBusyCpuSeconds();
  try {
    const r = await runSyncBench({
      root,
      cli,
      keep: p.keep,
      ...p.sync,
      nodeFlags: p.nodeCpuProfDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", resolve(p.nodeCpuProfDir)],
      // The serving node's profile in a subdirectory: what answering the blocks requests costs.
      serverFlags:
        p.nodeCpuProfDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", resolve(p.nodeCpuProfDir, "server")],
      log,
    });
    const w = (x: SyncResult["empty"]) =>
      `${x.blocks} blocks, ${x.txs} txs in ${x.sec} s: ${x.blocksPerSec} blocks/s, ${x.txPerSec} tx/s, CPU ${x.cpuSec} s ` +
      `(${x.cpuMsPerBlock} ms/block${x.cpuUsPerTx === null ? "" : `, ${x.cpuUsPerTx} µs/tx`}); ` +
      `serving node CPU ${x.sourceCpuMsPerBlock} ms/block`;
    log(`  first block after ${r.timeToFirstBlockSec} s (process start included)`);
    log(`  empty part:  ${w(r.empty)}`);
    log(`  loaded part: ${w(r.loaded)}`);
    log(`  stages: ${syncStagesLine(r)}; peak RSS ${r.rssMiB ?? "?"} MiB`);
    const cpu1 = machineBusyCpuSeconds();
    if (cpu0 !== null && cpu1 !== null) log(`  machine busy CPU during the sync phase: ${round(cpu1 - cpu0, 1)} s`);
    return r;
  } catch (e) {
    problems.push(`[sync] ${errMsg(e)}`);
    log(`[sync] FAILED: ${errMsg(e)}`);
    return null;
  }
}

const cleanup = () => {
  killAllStarted(keepDirs);
  teardownAllSync();
};
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench:network: ${sig}, stopping the nodes and namespaces it started\n`);
    cleanup();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:network: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    cleanup();
    process.exit(1);
  },
);
