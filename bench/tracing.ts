// The tracing phase of `npm run bench` (`npm run bench:trace`, `--no-tracing`): debug_traceTransaction with
// callTracer per second on multi-contract transactions, against a fresh `azora dev` and a fresh Anvil in the same run:
//  - a 2-of-3 Safe (v1.4.1, the published npm artifacts) executing a transfer: EOA → proxy → singleton (DELEGATECALL)
//    → two ecrecover checks → recipient;
//  - an OpenZeppelin ERC-1967 proxy delegating to a router that deposits into a vault and takes part of it back.
// The two nodes trace the same transactions (same deployer, nonces and calldata, so the same addresses): their
// callTracer outputs are compared field by field as a cross-check.

import { performance } from "node:perf_hooks";
import { JsonRpcProvider, Wallet } from "ethers";
import { devnetGenesis } from "../genesis/devnet.js";
import { DEV_KEYS } from "./devKeys.js";
import { anvilVersion, findAnvil, startAnvil, startAzora, type TargetProcess } from "./procs.js";
import { RpcClient } from "./rpc.js";
import { markdownTable } from "./script.js";
import { type LatencySummary, round, summarize } from "./stats.js";
import { TRACE_WORKLOADS, type TraceWorkload } from "./traceWorkloads.js";
import { azoraVersion } from "./version.js";

const DEPLOYER_KEY = DEV_KEYS[0];

export interface TracingParams {
  root: string;
  log: (msg: string) => void;
  /** Traces per target and workload. */
  traces: number;
  /** Concurrent callers. */
  callers: number;
  /** Distinct transactions traced in turn, per workload. */
  txs: number;
  azoraArgs: string[];
  anvilArgs: string[];
  only: "azora" | "anvil" | null;
}

export interface TracingTargetResult {
  target: "azora" | "anvil";
  workload: TraceWorkload["name"];
  version: string | null;
  ok: boolean;
  error: string | null;
  traces: number;
  failed: number;
  durationSec: number | null;
  tracesPerSec: number | null;
  latencyMs: LatencySummary | null;
  /** Frames in one traced transaction's call tree. */
  frames: number | null;
  cpu: { nodeCpuSec: number | null; wallSec: number | null };
  rssMiBAtEnd: number | null;
}

export interface TracingBenchResult {
  params: { traces: number; callers: number; txs: number };
  results: TracingTargetResult[];
  /**
   * Per workload: callTracer outputs of Azora and Anvil for the same transactions, compared field by field — the
   * fields that differ (a path in the call tree, how many transactions, one example), each marked when it is a known
   * difference; `agrees` when every difference is a known one.
   */
  crossChecks: { workload: TraceWorkload["name"]; agrees: boolean; differences: TraceDifference[] }[];
}

export interface TraceDifference {
  /** The field, as a path in the call tree (`.calls[0].gas`). */
  path: string;
  /** Transactions whose traces differ there. */
  txs: number;
  azora: unknown;
  anvil: unknown;
  /** Why the difference is expected (Azora follows geth there), or null when it is not understood. */
  known: string | null;
}

/**
 * Differences from Anvil where Azora follows geth. geth's callTracer (eth/tracers/native/call.go, OnEnter at depth
 * 0) reports the transaction's gas limit as the top frame's `gas`; Anvil (revm-inspectors) reports the gas left after
 * the intrinsic cost.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  ".gas": "top frame's gas: geth (and Azora) report the transaction's gas limit, Anvil the gas after intrinsic cost",
};

// biome-ignore lint/suspicious/noExplicitAny: traces are arbitrary JSON.
type Json = any;

function countFrames(f: Json): number {
  return 1 + ((f.calls as Json[] | undefined) ?? []).reduce((n: number, c: Json) => n + countFrames(c), 0);
}

function emptyResult(target: "azora" | "anvil", workload: TraceWorkload["name"], version: string | null) {
  return {
    target,
    workload,
    version,
    ok: false,
    error: null,
    traces: 0,
    failed: 0,
    durationSec: null,
    tracesPerSec: null,
    latencyMs: null,
    frames: null,
    cpu: { nodeCpuSec: null, wallSec: null },
    rssMiBAtEnd: null,
  } as TracingTargetResult;
}

/** Traces `hashes` (callTracer) `p.traces` times from `p.callers` callers; every answer must equal the first one. */
async function timeTraces(
  proc: TargetProcess,
  hashes: string[],
  p: TracingParams,
  res: TracingTargetResult,
  clients: RpcClient[],
): Promise<Json[]> {
  const first = new RpcClient(proc.url, 60_000);
  clients.push(first);
  const samples: Json[] = [];
  for (const h of hashes) samples.push(await first.call("debug_traceTransaction", [h, { tracer: "callTracer" }]));
  res.frames = countFrames(samples[0]);
  const expected = samples.map((x) => JSON.stringify(x));
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = proc.cpuSeconds();
  const t0 = performance.now();
  const caller = async () => {
    const c = new RpcClient(proc.url, 60_000);
    clients.push(c);
    while (next < p.traces) {
      const k = next++ % hashes.length;
      const s = performance.now();
      try {
        const t = await c.call("debug_traceTransaction", [hashes[k], { tracer: "callTracer" }]);
        latencies.push(performance.now() - s);
        if (JSON.stringify(t) !== expected[k]) res.failed++;
      } catch {
        res.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: p.callers }, caller));
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = proc.cpuSeconds();
  res.traces = p.traces;
  res.durationSec = round(wall, 2);
  res.tracesPerSec = round((p.traces - res.failed) / wall, 1);
  res.latencyMs = summarize(latencies);
  res.cpu = { nodeCpuSec: cpu0 !== null && cpu1 !== null ? round(cpu1 - cpu0, 2) : null, wallSec: round(wall, 2) };
  res.ok = res.failed === 0;
  if (!res.ok) res.error = `${res.failed} traces failed or differed from the first trace of their transaction`;
  return samples;
}

/** One fresh node: every workload set up (untimed), then traced (timed), one workload after the other. */
async function runTarget(
  target: "azora" | "anvil",
  p: TracingParams,
): Promise<{ results: TracingTargetResult[]; samples: Map<TraceWorkload["name"], Json[]> }> {
  const say = (m: string) => p.log(`[tracing/${target}] ${m}`);
  const results: TracingTargetResult[] = [];
  const samples = new Map<TraceWorkload["name"], Json[]>();
  const clients: RpcClient[] = [];
  let proc: TargetProcess | null = null;
  let version: string | null = null;
  let provider: JsonRpcProvider | null = null;
  try {
    if (target === "azora") {
      version = azoraVersion(p.root);
      proc = await startAzora(`${p.root}/dist/node/cli.js`, p.root, p.azoraArgs);
    } else {
      const bin = findAnvil(p.root);
      version = await anvilVersion(bin);
      // Automine: every transaction of the setup gets its own block at once (as on Azora). Azora's chain id: what
      // the owners sign (Safe's EIP-712 domain) is then the same bytes on both, and so is every trace.
      const chainId = String(devnetGenesis().chainId);
      proc = await startAnvil(bin, ["--chain-id", chainId, ...p.anvilArgs], { automine: true });
    }
    provider = new JsonRpcProvider(proc.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 });
    const deployer = new Wallet(DEPLOYER_KEY, provider);
    for (const w of TRACE_WORKLOADS) {
      const res = emptyResult(target, w.name, version);
      results.push(res);
      try {
        say(`${w.title}: deploying and sending ${p.txs} transactions (untimed)`);
        const hashes = await w.setup(deployer, p.txs);
        const got = await timeTraces(proc, hashes, p, res, clients);
        samples.set(w.name, got);
        say(
          `${w.title}: ${res.frames} frames, ${res.tracesPerSec} traces/s, p50 ${res.latencyMs?.p50} ms, ` +
            `p99 ${res.latencyMs?.p99} ms, ${res.failed} failed`,
        );
      } catch (e) {
        res.error = (e as Error).message;
        say(`${w.title}: FAILED ${res.error}`);
      }
    }
  } catch (e) {
    const error = (e as Error).message;
    say(`FAILED ${error}`);
    for (const w of TRACE_WORKLOADS) results.push({ ...emptyResult(target, w.name, version), error });
  } finally {
    provider?.destroy();
    for (const c of clients) c.close();
    if (proc !== null) {
      const rss = proc.rssMiB();
      for (const r of results) r.rssMiBAtEnd = rss;
      await proc.stop();
    }
  }
  return { results, samples };
}

/** Field-by-field comparison of two callTracer trees: calls `found` for each path where they differ. */
function diffTraces(a: Json, b: Json, path: string, found: (path: string, a: unknown, b: unknown) => void): void {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    if (a !== b) found(path, a, b);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffTraces(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, found);
}

function compareTraces(azora: Json[], anvil: Json[]): { agrees: boolean; differences: TraceDifference[] } {
  const byPath = new Map<string, TraceDifference>();
  for (let i = 0; i < Math.min(azora.length, anvil.length); i++) {
    diffTraces(azora[i], anvil[i], "", (path, a, b) => {
      const d = byPath.get(path);
      if (d !== undefined) d.txs++;
      else byPath.set(path, { path, txs: 1, azora: a, anvil: b, known: KNOWN_DIFFERENCES[path] ?? null });
    });
  }
  const differences = [...byPath.values()];
  return { agrees: differences.every((d) => d.known !== null), differences };
}

export async function tracingBench(p: TracingParams): Promise<TracingBenchResult> {
  const targets = p.only === null ? (["azora", "anvil"] as const) : ([p.only] as const);
  const results: TracingTargetResult[] = [];
  const samples: Partial<Record<"azora" | "anvil", Map<TraceWorkload["name"], Json[]>>> = {};
  for (const t of targets) {
    const r = await runTarget(t, p);
    results.push(...r.results);
    samples[t] = r.samples;
  }
  const crossChecks: TracingBenchResult["crossChecks"] = [];
  for (const w of TRACE_WORKLOADS) {
    const az = samples.azora?.get(w.name);
    const an = samples.anvil?.get(w.name);
    if (az !== undefined && an !== undefined) crossChecks.push({ workload: w.name, ...compareTraces(az, an) });
  }
  return { params: { traces: p.traces, callers: p.callers, txs: p.txs }, results, crossChecks };
}

/** Per workload: figure | Azora | Anvil | Azora/Anvil, then the cross-check of the outputs. */
export function tracingTable(r: TracingBenchResult): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : String(v));
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? "—" : `${round(a / b, 2)}×`;
  const head = [`debug_traceTransaction, callTracer, ${r.params.callers} callers`, "Azora", "Anvil", "Azora/Anvil"];
  const body: string[][] = [];
  for (const w of TRACE_WORKLOADS) {
    const az = r.results.find((x) => x.target === "azora" && x.workload === w.name);
    const an = r.results.find((x) => x.target === "anvil" && x.workload === w.name);
    const frames = az?.frames ?? an?.frames ?? "?";
    const rows: [string, number | null | undefined, number | null | undefined][] = [
      [`${w.title} (${frames} frames): traces/s`, az?.tracesPerSec, an?.tracesPerSec],
      ["  latency p50 (ms)", az?.latencyMs?.p50, an?.latencyMs?.p50],
      ["  latency p99 (ms)", az?.latencyMs?.p99, an?.latencyMs?.p99],
      ["  node CPU s per 1,000 traces", perThousand(az), perThousand(an)],
      ["  failed or wrong traces", az?.failed, an?.failed],
    ];
    for (const [n, a, b] of rows) body.push([n, fmt(a), fmt(b), n.includes("failed") ? "—" : ratio(a, b)]);
  }
  const lines = [markdownTable(head, body)];
  for (const c of r.crossChecks) {
    const title = TRACE_WORKLOADS.find((w) => w.name === c.workload)?.title ?? c.workload;
    lines.push(
      c.agrees
        ? `${title}: callTracer output identical on Azora and Anvil${c.differences.length > 0 ? " except where Azora follows geth" : ""}`
        : `${title}: callTracer output differs from Anvil's:`,
    );
    for (const d of c.differences) {
      const what = `${d.path} (${d.txs} txs): Azora ${JSON.stringify(d.azora)}, Anvil ${JSON.stringify(d.anvil)}`;
      lines.push(`  ${what}${d.known !== null ? ` — ${d.known}` : " — NOT UNDERSTOOD"}`);
    }
  }
  return lines.join("\n");
}

function perThousand(r: TracingTargetResult | undefined): number | null {
  if (r === undefined || r.cpu.nodeCpuSec === null || r.traces === 0) return null;
  return round((r.cpu.nodeCpuSec / r.traces) * 1000, 2);
}
