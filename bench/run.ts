// `npm run bench`: the same workload against a fresh `azora dev` node and a fresh Anvil, in the same run.
// See bench/README.md for what is measured and how to read the result.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Wallet } from "ethers";
import { loadArtifact, repoRoot } from "../contracts/artifacts.js";
import { type BenchParams, HELP, parseArgs, TARGETS, type Target, UsageError } from "./args.js";
import { DEV_KEYS } from "./devKeys.js";
import { type ExecutionFigure, type ExecutionResults, executionBench } from "./execution.js";
import {
  type LedgerResults,
  learnTransfers,
  ledgerTable,
  nftMints,
  setupContractCollections,
  setupNativeCollections,
} from "./ledger.js";
import { type CpuPerTx, cpuTable } from "./nodeCpu.js";
import {
  DEFAULT_PIPELINE_OPTIONS,
  type PipelineResults,
  pipelineBench,
  pipelineCpuRows,
  pipelineTable,
} from "./pipeline.js";
import { anvilVersion, findAnvil, killAllStarted, startAnvil, startAzora, type TargetProcess } from "./procs.js";
import { figuresOf, ratios, type TargetResult, table, warmth } from "./report.js";
import { hexToBigInt, RpcClient } from "./rpc.js";
import { markdownTable, writeJSON } from "./script.js";
import { type SearchBenchResult, searchBench, searchTable } from "./search.js";
import { type ServicesBenchResult, servicesBench, servicesTables } from "./services.js";
import { round } from "./stats.js";
import { type StorageBenchResult, storageTable } from "./storage.js";
import { perTxByThread, threadTable } from "./threadCpu.js";
import { type TracingBenchResult, tracingBench, tracingTable } from "./tracing.js";
import { azoraVersion } from "./version.js";
import { type VideoBenchResult, videoBench, videoTable } from "./video.js";
import { type Ctx, erc20Transfers, ethCalls, setupToken, type Token, valueTransfers } from "./workloads.js";

const log = (msg: string) => process.stdout.write(`${msg}\n`);

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function emptyResult(target: Target): TargetResult {
  return {
    target,
    ok: false,
    error: null,
    version: null,
    command: null,
    startupSec: null,
    phases: { value: null, erc20: null, ethCall: null, ethCallNet: null },
    ledger: null,
    figures: {},
    node: { stop: null, rssMiBAtEnd: null, logIssues: { counts: {}, samples: [] } },
  };
}

async function runTarget(target: Target, params: BenchParams, root: string): Promise<TargetResult> {
  const res = emptyResult(target);
  const errors: string[] = [];
  const say = (msg: string) => log(`[${target}] ${msg}`);
  let proc: TargetProcess | null = null;
  let rpc: RpcClient | null = null;
  try {
    const artifact = loadArtifact("TestToken");
    const t0 = performance.now();
    if (target === "azora") {
      res.version = azoraVersion(root);
      say(`starting azora ${res.version}…`);
      proc = await startAzora(join(root, "dist/node/cli.js"), root, params.azoraArgs);
    } else {
      const bin = findAnvil(root);
      res.version = await anvilVersion(bin);
      say(`starting ${res.version.split(";")[0]}…`);
      proc = await startAnvil(bin, params.anvilArgs, { automine: params.anvilAutomine });
    }
    res.startupSec = round((performance.now() - t0) / 1000, 2);
    res.command = proc.command;
    say(`up at ${proc.url} (pid ${proc.pid}) in ${res.startupSec} s`);
    rpc = new RpcClient(proc.url);
    const chainId = hexToBigInt(await rpc.call("eth_chainId"));
    const ctx: Ctx = {
      rpc,
      chainId,
      wallets: DEV_KEYS.slice(0, params.senders).map((k) => new Wallet(k)),
      proc,
      params,
      log: say,
    };

    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
      if (proc?.exited()) {
        errors.push(`${name}: skipped, the node process is gone`);
        return null;
      }
      say(`${name}`);
      try {
        return await fn();
      } catch (e) {
        const m = `${name}: ${errMsg(e)}`;
        errors.push(m);
        say(`FAILED ${m}`);
        return null;
      }
    };
    const noteFailure = (name: string, r: { ok: boolean; error?: string } | null) => {
      if (r === null || r.ok) return;
      const extra = "checks" in r ? (r.checks as { problems: string[] }).problems : [];
      const m = `${name}: ${[r.error ?? "failures", ...extra].join("; ")}`;
      errors.push(m);
      say(`FAILED ${m}`);
    };

    res.phases.value = await phase("value transfers", () => valueTransfers(ctx));
    noteFailure("value transfers", res.phases.value);
    const token: Token | null = await phase("TestToken setup (deploy + fund senders, untimed)", () =>
      setupToken(ctx, artifact),
    );
    if (token !== null) {
      const erc20 = await phase("ERC-20 transfers", () => erc20Transfers(ctx, token));
      res.phases.erc20 = erc20?.result ?? null;
      noteFailure("ERC-20 transfers", res.phases.erc20);
      const holders = erc20?.recipients ?? [];
      if (params.callClient !== "net") {
        res.phases.ethCall = await phase("eth_call balanceOf", () => ethCalls(ctx, token, holders, "http"));
        noteFailure("eth_call balanceOf", res.phases.ethCall);
      }
      if (params.callClient !== "http") {
        res.phases.ethCallNet = await phase("eth_call balanceOf, lean client", () =>
          ethCalls(ctx, token, holders, "net"),
        );
        noteFailure("eth_call balanceOf, lean client", res.phases.ethCallNet);
      }
    } else errors.push("ERC-20 transfers and eth_call skipped: no token");

    if (target === "azora" && params.ledger) {
      const ledger: LedgerResults = { learnTransfers: null, nftMintsNative: null, nftMintsContract: null };
      ledger.learnTransfers = await phase("LEARN transfers (native module)", () => learnTransfers(ctx));
      noteFailure("LEARN transfers", ledger.learnTransfers);
      const native = await phase("native NFT collections (untimed)", () => setupNativeCollections(ctx));
      if (native !== null) {
        ledger.nftMintsNative = await phase("NFT mints (native collections)", () => nftMints(ctx, native));
        noteFailure("NFT mints (native)", ledger.nftMintsNative);
      }
      const contracts = await phase("BenchNFT deployments (untimed)", () => setupContractCollections(ctx));
      if (contracts !== null) {
        ledger.nftMintsContract = await phase("NFT mints (OpenZeppelin ERC721URIStorage)", () =>
          nftMints(ctx, contracts),
        );
        noteFailure("NFT mints (OZ)", ledger.nftMintsContract);
      }
      res.ledger = ledger;
    }
  } catch (e) {
    errors.push(errMsg(e));
    say(`FAILED ${errMsg(e)}`);
  } finally {
    rpc?.close();
    if (proc !== null) {
      res.node.rssMiBAtEnd = proc.rssMiB();
      res.node.peakRssMiB = proc.peakRssMiB();
      if (res.node.peakRssMiB !== null) say(`node peak RSS (VmHWM): ${res.node.peakRssMiB.toFixed(1)} MiB`);
      res.node.stop = await proc.stop();
      res.node.logIssues = proc.issues();
      say(`stopped: ${res.node.stop}`);
      if (!/^exit code 0$|signal SIGTERM/.test(res.node.stop) && target === "azora")
        errors.push(`azora did not stop cleanly: ${res.node.stop}`);
    }
  }
  res.figures = figuresOf(res);
  res.error = errors.length > 0 ? errors.join("\n") : null;
  res.ok = errors.length === 0;
  return res;
}

function printDetails(r: TargetResult): void {
  const p = r.phases;
  for (const [name, ph] of [
    ["value", p.value],
    ["erc20", p.erc20],
  ] as const) {
    if (ph === null) continue;
    log(
      `  ${name.padEnd(6)} ${ph.included}/${ph.txs} included in ${ph.blocks.count} blocks (max ${ph.blocks.maxTxs}/block), ` +
        `submit rtt p50 ${ph.submitRttMs.p50} ms p99 ${ph.submitRttMs.p99} ms, ` +
        `cpu node ${ph.cpu.nodeCpuSec ?? "?"} s / bench ${ph.cpu.benchCpuSec} s over ${ph.cpu.wallSec} s`,
    );
  }
  for (const c of [p.ethCall, p.ethCallNet]) {
    if (c === null || c === undefined) continue;
    log(
      `  call ${c.client.padEnd(4)} ${c.succeeded}/${c.calls} ok in ${c.durationSec} s, ` +
        `cpu node ${c.cpu.nodeCpuSec ?? "?"} s / bench ${c.cpu.benchCpuSec} s (${c.clientCpuMicrosPerCall ?? "?"} µs a call)`,
    );
  }
  const issues = r.node.logIssues;
  if (Object.keys(issues.counts).length > 0) {
    log(`  log issues: ${JSON.stringify(issues.counts)}`);
    for (const s of issues.samples.slice(0, 5)) log(`    ${s.count}× ${s.level}: ${s.msg}`);
  }
  if (r.error !== null) log(`  ERRORS:\n    ${r.error.split("\n").join("\n    ")}`);
}

/** Node CPU per tx for every transaction workload of the run (Anvil runs only the first two). */
function cpuRows(results: Partial<Record<Target, TargetResult>>) {
  const az = results.azora;
  const an = results.anvil;
  const c = (r: TargetResult | undefined, pick: (r: TargetResult) => { cpuPerTx: CpuPerTx } | null | undefined) =>
    r === undefined ? null : (pick(r)?.cpuPerTx ?? null);
  return [
    { name: "Value transfer", azora: c(az, (r) => r.phases.value), anvil: c(an, (r) => r.phases.value) },
    { name: "ERC-20 transfer (OZ)", azora: c(az, (r) => r.phases.erc20), anvil: c(an, (r) => r.phases.erc20) },
    { name: "LEARN transfer (native)", azora: c(az, (r) => r.ledger?.learnTransfers), anvil: null },
    { name: "NFT mint (native)", azora: c(az, (r) => r.ledger?.nftMintsNative), anvil: null },
    { name: "NFT mint (OZ ERC721URIStorage)", azora: c(az, (r) => r.ledger?.nftMintsContract), anvil: null },
    {
      name: "eth_call balanceOf (per call)",
      azora: callCpu(az?.phases.ethCall ?? null),
      anvil: callCpu(an?.phases.ethCall ?? null),
    },
    {
      name: "eth_call balanceOf, lean client (per call)",
      azora: callCpu(az?.phases.ethCallNet ?? null),
      anvil: callCpu(an?.phases.ethCallNet ?? null),
    },
  ];
}

function callCpu(c: TargetResult["phases"]["ethCall"] | undefined): CpuPerTx | null {
  if (c === null || c === undefined || c.succeeded === 0 || c.cpu.nodeCpuSec === null) return null;
  return {
    totalMicros: round((c.cpu.nodeCpuSec * 1e6) / c.succeeded, 0),
    stagesMicros: null,
    threadsMicros: c.cpu.nodeThreadsSec === null ? null : perTxByThread(c.succeeded, c.cpu.nodeThreadsSec),
  };
}

const EXECUTION_TXS = 4000;
const EXECUTION_BLOCK = 200;

/** figure | native | OZ | ratio, from the in-process execution phase. */
function executionTable(e: ExecutionResults): string {
  const f = (op: string) => e.figures.find((x) => x.op.startsWith(op));
  const rows: string[][] = [];
  const pairs: Array<[string, ExecutionFigure | undefined, ExecutionFigure | undefined]> = [
    ["ERC-20 transfer", f("LEARN transfer"), f("ERC-20 transfer")],
    ["NFT mint", f("NFT mint (native"), f("NFT mint (OpenZeppelin")],
  ];
  for (const [name, nat, oz] of pairs) {
    if (nat === undefined || oz === undefined) continue;
    const ratio = (a: number, b: number) => `${round(b / a, 2)}× faster`;
    rows.push([
      `${name}: µs per tx in apply`,
      String(nat.applyMicros),
      String(oz.applyMicros),
      ratio(nat.applyMicros, oz.applyMicros),
    ]);
    rows.push([
      `${name}: µs per tx incl. seal + commit`,
      String(nat.blockMicros),
      String(oz.blockMicros),
      ratio(nat.blockMicros, oz.blockMicros),
    ]);
    rows.push([
      `${name}: CPU µs per tx, apply / seal + commit`,
      `${nat.applyCpuMicros} / ${nat.sealCpuMicros}`,
      `${oz.applyCpuMicros} / ${oz.sealCpuMicros}`,
      ratio(nat.applyCpuMicros + nat.sealCpuMicros, oz.applyCpuMicros + oz.sealCpuMicros),
    ]);
    rows.push([
      `${name}: gas per tx`,
      String(nat.gasPerTx),
      String(oz.gasPerTx),
      `${round(nat.gasPerTx / oz.gasPerTx, 2)}×`,
    ]);
  }
  const v = f("value transfer");
  if (v !== undefined)
    rows.push([
      "(reference) value transfer: µs per tx in apply / incl. seal",
      `${v.applyMicros} / ${v.blockMicros}`,
      "—",
      "—",
    ]);
  const head = [
    `Execution only (in-process, ${EXECUTION_TXS} txs per op, blocks of ${e.blockSize})`,
    "native",
    "OZ contract",
    "native vs OZ",
  ];
  return markdownTable(head, rows);
}

async function main(): Promise<number> {
  let params: BenchParams | null;
  try {
    params = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (params === null) {
    process.stdout.write(HELP);
    return 0;
  }
  const root = repoRoot();
  const onlyOnePhase = params.servicesOnly || params.mediaOnly || params.tracingOnly;
  const targets = onlyOnePhase ? [] : params.only === null ? [...TARGETS] : [params.only];
  const date = new Date().toISOString();
  if (targets.length > 0)
    log(
      `Azora vs Anvil: ${params.txs} txs × 2 phases from ${params.senders} senders, ` +
        `${params.calls} eth_calls from ${params.callers} callers — ${cpus().length} CPUs shared with the load generator\n` +
        `figures ${warmth(params.warmupTxs)}; new blocks seen by ${params.watch === "subscribe" ? "a newHeads subscription" : "eth_blockNumber polls every 5 ms"}`,
    );

  const results: Partial<Record<Target, TargetResult>> = {};
  for (const t of targets) {
    results[t] = await runTarget(t, params, root);
  }

  // 6. Execution only, in-process (no node): what the native modules cost next to the same
  // operations as contracts, without the per-transaction costs every transaction shares.
  let execution: ExecutionResults | null = null;
  if (targets.includes("azora") && params.ledger && params.execution) {
    log("\n[execution] native modules vs OpenZeppelin contracts inside the block executor (in-process)…");
    execution = await executionBench({ txs: EXECUTION_TXS, blockSize: EXECUTION_BLOCK });
  }

  // 6b. Admission to commit, in-process (no JSON-RPC): issue 14's per-node CPU goal as written.
  let pipeline: PipelineResults | null = null;
  let pipelineError: string | null = null;
  if (targets.includes("azora") && params.pipeline) {
    log("\n[pipeline] admission → commit in-process: raw txs through decode, admission, the dev producer, LevelDB…");
    try {
      pipeline = await pipelineBench({
        txs: params.txs,
        warmup: params.warmupTxs,
        batch: DEFAULT_PIPELINE_OPTIONS.batch,
        syncWrites: DEFAULT_PIPELINE_OPTIONS.syncWrites,
        log,
      });
    } catch (e) {
      pipelineError = errMsg(e);
      log(`[pipeline] FAILED ${pipelineError}`);
    }
  }

  // 7. Services: jobs through the market with worker processes on a fresh node.
  let services: ServicesBenchResult | null = null;
  let servicesError: string | null = null;
  if (params.services && !params.mediaOnly && !params.tracingOnly && (params.servicesOnly || params.only !== "anvil")) {
    log("\n[services] the job market with azora worker processes…");
    try {
      services = await servicesBench({
        root,
        log,
        jobs: params.servicesJobs,
        skipAI: params.servicesNoAI,
        meteredOnly: params.servicesMeteredOnly,
        batch: !params.servicesNoBatch,
        nodeArgs: params.azoraArgs,
        workerArgs: params.workerArgs,
      });
    } catch (e) {
      servicesError = errMsg(e);
      log(`[services] FAILED ${servicesError}`);
    }
  }

  // 8. Storage: the IPFS gateway vs @fastify/static (its own process: Helia needs the Promise.withResolvers polyfill).
  let storage: StorageBenchResult | null = null;
  let video: VideoBenchResult | null = null;
  const mediaErrors: string[] = [];
  const media = params.mediaOnly || (!params.servicesOnly && !params.tracingOnly && params.only !== "anvil");
  if (params.storage && media) {
    log("\n[storage] IPFS gateway vs @fastify/static on the same segments…");
    try {
      storage = runStorageBench(root);
    } catch (e) {
      mediaErrors.push(`storage: ${errMsg(e)}`);
      log(`[storage] FAILED ${errMsg(e)}`);
    }
  }
  // 9. Video: transcode speed per rendition.
  if (params.video && media) {
    log("\n[video] video/hls transcode speed…");
    try {
      video = await videoBench({ log });
    } catch (e) {
      mediaErrors.push(`video: ${errMsg(e)}`);
      log(`[video] FAILED ${errMsg(e)}`);
    }
  }

  // 10. Tracing: debug_traceTransaction with callTracer per second, Azora vs Anvil, outputs compared.
  let tracing: TracingBenchResult | null = null;
  let tracingError: string | null = null;
  if (params.tracingOnly || (params.tracing && !params.servicesOnly && !params.mediaOnly)) {
    log(
      "\n[tracing] debug_traceTransaction (callTracer) on a Safe execution and a proxy → router → vault transaction…",
    );
    try {
      tracing = await tracingBench({
        root,
        log,
        traces: params.traces,
        callers: params.traceCallers,
        txs: 16,
        azoraArgs: params.azoraArgs,
        anvilArgs: params.anvilArgs,
        only: params.only,
      });
      const failed = tracing.results.filter((r) => !r.ok).map((r) => `${r.target}/${r.workload}: ${r.error}`);
      for (const c of tracing.crossChecks)
        if (!c.agrees) failed.push(`${c.workload}: callTracer output differs from Anvil's (see the table)`);
      if (failed.length > 0) tracingError = failed.join("; ");
    } catch (e) {
      tracingError = errMsg(e);
      log(`[tracing] FAILED ${tracingError}`);
    }
  }

  // 11. Search: Azora Search on Debian's package descriptions, embedded and PostgreSQL, beside MiniSearch.
  let search: SearchBenchResult | null = null;
  if (params.search && !params.servicesOnly && !params.mediaOnly && !params.tracingOnly && params.only !== "anvil") {
    log("\n[search] Azora Search on apt-cache dumpavail…");
    try {
      search = await searchBench({ log });
    } catch (e) {
      log(`[search] FAILED ${errMsg(e)}`);
    }
  }

  log("");
  if (targets.length > 0) log(`Figures ${warmth(params.warmupTxs)}\n\n${table(results)}`);
  log("");
  const azoraLedger = results.azora?.ledger;
  if (azoraLedger !== undefined && azoraLedger !== null) {
    log(ledgerTable(azoraLedger, results.azora?.phases.erc20 ?? null));
    log("");
  }
  if (targets.length > 0) {
    log(cpuTable([...cpuRows(results), ...(pipeline === null ? [] : pipelineCpuRows(pipeline))]));
    log("");
    log(threadTable(cpuRows(results).map((r) => ({ name: r.name, threads: r.azora?.threadsMicros }))));
    log("");
  }
  if (execution !== null) {
    log(executionTable(execution));
    log("");
  }
  if (pipeline !== null) {
    log(pipelineTable(pipeline));
    log("");
  }
  if (services !== null) {
    log(servicesTables(services));
    log("");
  }
  if (search !== null) {
    log(searchTable(search));
    log("");
  }
  for (const t of targets) {
    const r = results[t];
    if (r === undefined) continue;
    log(`${t} ${r.version ?? ""}: ${r.ok ? "all checks passed" : "FAILED"}`);
    printDetails(r);
  }
  if (servicesError !== null) log(`services: FAILED ${servicesError}`);
  if (storage !== null) log(`\n${storageTable(storage)}`);
  if (video !== null) log(`\n${videoTable(video)}`);
  for (const m of mediaErrors) log(`${m.split(":")[0]}: FAILED ${m}`);
  if (tracing !== null) log(`\n${tracingTable(tracing)}`);
  if (tracingError !== null) log(`tracing: FAILED ${tracingError}`);

  const cpuList = cpus();
  const output = {
    date,
    machine: {
      cpus: cpuList.length,
      model: cpuList[0]?.model ?? "unknown",
      memGB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    params: {
      txs: params.txs,
      senders: params.senders,
      callers: params.callers,
      calls: params.calls,
      warmupTxs: params.warmupTxs,
      watch: params.watch,
      figures: params.warmupTxs > 0 ? "warm" : "cold",
      only: params.only,
      azoraArgs: params.azoraArgs,
      anvilArgs: params.anvilArgs,
      anvilAutomine: params.anvilAutomine,
      stallTimeoutMs: params.stallTimeoutMs,
      fees: { maxFeePerGasGwei: 100, maxPriorityFeePerGasGwei: 1 },
    },
    results,
    cpuPerTx: targets.length > 0 ? cpuRows(results) : null,
    execution,
    pipeline,
    services,
    storage,
    video,
    tracing,
    search,
    ratios: ratios(results.azora, results.anvil),
  };
  const out = resolve(params.out);
  const dated = join(dirname(out), `${date.replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}.json`);
  writeJSON(out, output);
  if (basename(dated) !== basename(out)) writeJSON(dated, output);
  log(`\nwrote ${out}\n  and ${dated}`);
  const phasesOk =
    pipelineError === null && servicesError === null && mediaErrors.length === 0 && tracingError === null;
  return targets.every((t) => results[t]?.ok === true) && phasesOk ? 0 : 1;
}

process.on("exit", killAllStarted);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping the nodes it started\n`);
    killAllStarted();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    killAllStarted();
    process.exit(1);
  },
);

/** The storage bench in a child process (`bench:storage`'s script, with the polyfill Helia needs). */
function runStorageBench(root: string): StorageBenchResult {
  const out = join(root, "bench/results/storage-phase.json");
  execFileSync(
    process.execPath,
    ["--import", join(root, "dist/node/polyfill.js"), join(root, "dist/bench/storageMain.js"), "--out", out],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  return JSON.parse(readFileSync(out, "utf8")) as StorageBenchResult;
}
