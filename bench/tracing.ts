// The tracing phase of `npm run bench` (`--tracing-only`, `--no-tracing`): debug_traceTransaction with callTracer
// per second on a multi-contract transaction — an OpenZeppelin ERC-1967 proxy delegating to a router that deposits
// into a vault and takes part of it back (six call frames) — against a fresh `azora dev` and a fresh Anvil, in the
// same run. The two nodes trace the same transactions (same deployer, nonces and calldata, so the same addresses):
// their callTracer outputs are compared field by field as a cross-check.

import { performance } from "node:perf_hooks";
import { ContractFactory, Interface, type InterfaceAbi, JsonRpcProvider, parseEther, Wallet } from "ethers";
import { loadArtifact } from "../contracts/artifacts.js";
import { anvilVersion, findAnvil, startAnvil, startAzora, type TargetProcess } from "./procs.js";
import { RpcClient } from "./rpc.js";
import { type LatencySummary, round, summarize } from "./stats.js";
import { azoraVersion } from "./version.js";

const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export interface TracingParams {
  root: string;
  log: (msg: string) => void;
  /** Traces per target. */
  traces: number;
  /** Concurrent callers. */
  callers: number;
  /** Distinct transactions traced in turn. */
  txs: number;
  azoraArgs: string[];
  anvilArgs: string[];
  only: "azora" | "anvil" | null;
}

export interface TracingTargetResult {
  target: "azora" | "anvil";
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
  /** callTracer outputs of Azora and Anvil for the same transactions: identical, or the first difference. */
  crossCheck: { identical: boolean; differences: string[] } | null;
}

// biome-ignore lint/suspicious/noExplicitAny: traces are arbitrary JSON.
type Json = any;

function countFrames(f: Json): number {
  return 1 + ((f.calls as Json[] | undefined) ?? []).reduce((n: number, c: Json) => n + countFrames(c), 0);
}

/** Deploys the vault, router and proxy and sends `txs` forward() calls, each mined; returns their hashes. */
async function setup(url: string, txs: number): Promise<string[]> {
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 });
  const w = new Wallet(DEPLOYER_KEY, provider);
  const deploy = async (name: string, args: unknown[] = []) => {
    const a = loadArtifact(name);
    const c = await new ContractFactory(a.abi as InterfaceAbi, a.bytecode, w).deploy(...args, { gasLimit: 3_000_000n });
    await c.waitForDeployment();
    return c.getAddress();
  };
  const vault = await deploy("TraceVault");
  const router = await deploy("TraceRouter");
  const proxy = await deploy("TraceProxy", [router, w.address]);
  const iface = new Interface(loadArtifact("TraceRouter").abi as InterfaceAbi);
  const hashes: string[] = [];
  for (let i = 0; i < txs; i++) {
    const tx = await w.sendTransaction({
      to: proxy,
      value: parseEther("1"),
      data: iface.encodeFunctionData("forward", [vault, BigInt(i + 1)]),
      gasLimit: 300_000n,
    });
    const r = await tx.wait();
    if (r?.status !== 1) throw new Error(`forward #${i} failed`);
    hashes.push(tx.hash);
  }
  provider.destroy();
  return hashes;
}

async function runTarget(
  target: "azora" | "anvil",
  p: TracingParams,
): Promise<{ result: TracingTargetResult; samples: Json[] }> {
  const res: TracingTargetResult = {
    target,
    version: null,
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
  };
  const say = (m: string) => p.log(`[tracing/${target}] ${m}`);
  let proc: TargetProcess | null = null;
  const samples: Json[] = [];
  const rpc: RpcClient[] = [];
  try {
    if (target === "azora") {
      res.version = azoraVersion(p.root);
      proc = await startAzora(`${p.root}/dist/node/cli.js`, p.root, p.azoraArgs);
    } else {
      const bin = findAnvil(p.root);
      res.version = await anvilVersion(bin);
      // Automine: every transaction of the setup gets its own block at once (as on Azora).
      proc = await startAnvil(bin, p.anvilArgs, { automine: true });
    }
    say(`up at ${proc.url}; deploying proxy → router → vault and sending ${p.txs} forward() calls (untimed)`);
    const hashes = await setup(proc.url, p.txs);
    const client = new RpcClient(proc.url, 60_000);
    rpc.push(client);
    for (const h of hashes) samples.push(await client.call("debug_traceTransaction", [h, { tracer: "callTracer" }]));
    res.frames = countFrames(samples[0]);
    say(`${res.frames} call frames per transaction; ${p.traces} traces from ${p.callers} callers`);
    const expected = samples.map((s) => JSON.stringify(s));
    const latencies: number[] = [];
    let next = 0;
    const cpu0 = proc.cpuSeconds();
    const t0 = performance.now();
    const caller = async () => {
      const c = new RpcClient(proc?.url as string, 60_000);
      rpc.push(c);
      while (next < p.traces) {
        const i = next++;
        const k = i % hashes.length;
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
    say(`${res.tracesPerSec} traces/s, p50 ${res.latencyMs.p50} ms, p99 ${res.latencyMs.p99} ms, ${res.failed} failed`);
  } catch (e) {
    res.error = (e as Error).message;
    say(`FAILED ${res.error}`);
  } finally {
    for (const c of rpc) c.close();
    if (proc !== null) {
      res.rssMiBAtEnd = proc.rssMiB();
      await proc.stop();
    }
  }
  return { result: res, samples };
}

/** Field-by-field comparison of two callTracer trees; the paths that differ. */
function diffTraces(a: Json, b: Json, path: string, out: string[]): void {
  if (out.length >= 10) return;
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    if (a !== b) out.push(`${path}: azora ${JSON.stringify(a)} vs anvil ${JSON.stringify(b)}`);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffTraces(a[k], b[k], `${path}.${k}`, out);
}

export async function tracingBench(p: TracingParams): Promise<TracingBenchResult> {
  const targets = p.only === null ? (["azora", "anvil"] as const) : ([p.only] as const);
  const results: TracingTargetResult[] = [];
  const samples: Record<string, Json[]> = {};
  for (const t of targets) {
    const r = await runTarget(t, p);
    results.push(r.result);
    samples[t] = r.samples;
  }
  let crossCheck: TracingBenchResult["crossCheck"] = null;
  if (samples.azora?.length > 0 && samples.anvil?.length > 0) {
    const differences: string[] = [];
    for (let i = 0; i < Math.min(samples.azora.length, samples.anvil.length); i++) {
      diffTraces(samples.azora[i], samples.anvil[i], `tx${i}`, differences);
    }
    crossCheck = { identical: differences.length === 0, differences };
  }
  return { params: { traces: p.traces, callers: p.callers, txs: p.txs }, results, crossCheck };
}

/** figure | Azora | Anvil | Azora/Anvil. */
export function tracingTable(r: TracingBenchResult): string {
  const az = r.results.find((x) => x.target === "azora");
  const an = r.results.find((x) => x.target === "anvil");
  const rows: [string, number | null | undefined, number | null | undefined][] = [
    ["callTracer traces/s", az?.tracesPerSec, an?.tracesPerSec],
    ["latency p50 (ms)", az?.latencyMs?.p50, an?.latencyMs?.p50],
    ["latency p99 (ms)", az?.latencyMs?.p99, an?.latencyMs?.p99],
    ["node CPU s per 1,000 traces", perThousand(az), perThousand(an)],
    ["failed or wrong traces", az?.failed, an?.failed],
  ];
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "—" : String(v));
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? "—" : `${round(a / b, 2)}×`;
  const head = [
    `debug_traceTransaction callTracer, ${az?.frames ?? an?.frames ?? "?"}-frame proxy tx, ${r.params.callers} callers`,
    "Azora",
    "Anvil",
    "Azora/Anvil",
  ];
  const body = rows.map(([n, a, b]) => [n, fmt(a), fmt(b), n.startsWith("failed") ? "—" : ratio(a, b)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((x) => x[i].length)));
  const line = (c: string[]) =>
    `| ${c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join(" | ")} |`;
  const lines = [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...body.map(line),
  ];
  if (r.crossCheck !== null) {
    lines.push(
      r.crossCheck.identical
        ? "callTracer output: identical on Azora and Anvil for the same transactions"
        : `callTracer output differs from Anvil's: ${r.crossCheck.differences.join("; ")}`,
    );
  }
  return lines.join("\n");
}

function perThousand(r: TracingTargetResult | undefined): number | null {
  if (r === undefined || r.cpu.nodeCpuSec === null || r.traces === 0) return null;
  return round((r.cpu.nodeCpuSec / r.traces) * 1000, 2);
}
