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
  /**
   * callTracer outputs of Azora and Anvil for the same transactions, compared field by field: the fields that differ
   * (a path in the call tree, how many transactions, one example), each marked when it is a known difference;
   * `agrees` when every difference is a known one.
   */
  crossCheck: { agrees: boolean; differences: TraceDifference[] } | null;
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

/** Field-by-field comparison of two callTracer trees: calls `found` for each path where they differ. */
function diffTraces(a: Json, b: Json, path: string, found: (path: string, a: unknown, b: unknown) => void): void {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    if (a !== b) found(path, a, b);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffTraces(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, found);
}

function compareTraces(azora: Json[], anvil: Json[]): NonNullable<TracingBenchResult["crossCheck"]> {
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
  const samples: Record<string, Json[]> = {};
  for (const t of targets) {
    const r = await runTarget(t, p);
    results.push(r.result);
    samples[t] = r.samples;
  }
  let crossCheck: TracingBenchResult["crossCheck"] = null;
  if (samples.azora?.length > 0 && samples.anvil?.length > 0) crossCheck = compareTraces(samples.azora, samples.anvil);
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
    const { agrees, differences } = r.crossCheck;
    const n = r.params.txs;
    lines.push(
      agrees
        ? `callTracer output of the same ${n} transactions: identical on Azora and Anvil${differences.length > 0 ? " except where Azora follows geth" : ""}`
        : `callTracer output of the same ${n} transactions differs from Anvil's:`,
    );
    for (const d of differences) {
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
