// `npm run bench:viem`: a second load generator, written with viem instead of the main bench's ethers client and
// block watcher, against a fresh `azora dev` and a fresh Anvil (`--block-time 1`) in the same run. OpenZeppelin
// ERC-20 transfers compiled here with the optimizer on and off, value transfers, receipts polled per sender,
// `eth_call balanceOf` through readContract. Prints one table with the Azora/Anvil ratios and writes JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { Abi, Hex } from "viem";
import { repoRoot } from "../contracts/artifacts.js";
import { DEFAULT_WARMUP_TXS, nonNegativeInt, positiveInt, readFlags, splitArgs, UsageError } from "./args.js";
import { DEV_KEYS } from "./devKeys.js";
import { anvilVersion, findAnvil, killAllStarted, startAnvil, startAzora, type TargetProcess } from "./procs.js";
import { warmth } from "./report.js";
import { markdownTable, writeJSON } from "./script.js";
import { round } from "./stats.js";
import { azoraVersion } from "./version.js";
import {
  balanceCalls,
  deployToken,
  erc20Transfers,
  type ViemCallPhase,
  type ViemTxPhase,
  valueTransfers,
  viemCtx,
} from "./viemLoad.js";

const HELP = `Usage: node dist/bench/viemMain.js [options]   (npm run bench:viem -- [options])

A viem load generator against a fresh azora dev node and a fresh Anvil, in the same run.

  --txs N           transactions per transfer phase (default 2000)
  --senders N       concurrent senders, dev accounts 0..N-1 (default 8, max 10)
  --calls N         eth_call balanceOf calls (default 10000)
  --callers N       concurrent callers (default 20)
  --warmup-txs N    before each timed phase, N txs (calls) of the same workload untimed, on both targets:
                    steady-state figures (default ${DEFAULT_WARMUP_TXS}; 0 = a fresh node's cold figures)
  --only azora|anvil  one target
  --azora-args "…"  extra arguments for azora dev
  --azora-cli FILE  the azora CLI to run (default dist/node/cli.js; another build's, for A/B runs)
  --out FILE        JSON result (default bench/results/viem-latest.json)
  --help            this text
`;

/** A plain OpenZeppelin ERC-20, compiled here (not the project's build) with each optimizer setting. */
const TOKEN_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract ViemBenchToken is ERC20 {
    constructor(uint256 supply) ERC20("Viem Bench Token", "VBT") { _mint(msg.sender, supply); }
}
`;

interface Params {
  txs: number;
  senders: number;
  calls: number;
  callers: number;
  warmupTxs: number;
  only: "azora" | "anvil" | null;
  azoraArgs: string[];
  azoraCli: string | null;
  out: string;
}

function parseArgs(argv: string[]): Params | null {
  const p: Params = {
    txs: 2000,
    senders: 8,
    calls: 10_000,
    callers: 20,
    warmupTxs: DEFAULT_WARMUP_TXS,
    only: null,
    azoraArgs: [],
    azoraCli: null,
    out: "bench/results/viem-latest.json",
  };
  const int = (flag: string, v: string, max = Number.MAX_SAFE_INTEGER) => positiveInt(flag, v, max);
  const complete = readFlags(argv, (flag, next) => {
    if (flag === "--txs") p.txs = int(flag, next());
    else if (flag === "--senders") p.senders = int(flag, next(), DEV_KEYS.length);
    else if (flag === "--calls") p.calls = int(flag, next());
    else if (flag === "--callers") p.callers = int(flag, next());
    else if (flag === "--warmup-txs") p.warmupTxs = nonNegativeInt(flag, next());
    else if (flag === "--only") {
      const t = next();
      if (t !== "azora" && t !== "anvil") throw new UsageError("--only must be azora or anvil");
      p.only = t;
    } else if (flag === "--azora-args") p.azoraArgs = splitArgs(next());
    else if (flag === "--out") p.out = next();
    else if (flag === "--azora-cli") p.azoraCli = resolve(next());
    else throw new UsageError(`unknown option ${flag} (see --help)`);
  });
  return complete ? p : null;
}

interface Compiled {
  abi: Abi;
  bytecode: Hex;
}

function compileToken(root: string, optimize: boolean): Compiled {
  const require = createRequire(join(root, "package.json"));
  const solc = require("solc") as { compile(input: string, opts: { import: (p: string) => unknown }): string };
  const input = {
    language: "Solidity",
    sources: { "ViemBenchToken.sol": { content: TOKEN_SOURCE } },
    settings: {
      evmVersion: "prague",
      optimizer: { enabled: optimize, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImports = (path: string) => {
    try {
      return { contents: readFileSync(join(root, "node_modules", path), "utf8") };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const c = out.contracts["ViemBenchToken.sol"].ViemBenchToken;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

interface TargetRun {
  target: "azora" | "anvil";
  version: string | null;
  ok: boolean;
  error: string | null;
  value: ViemTxPhase | null;
  erc20Optimized: ViemTxPhase | null;
  erc20Unoptimized: ViemTxPhase | null;
  ethCall: ViemCallPhase | null;
}

const log = (m: string) => process.stdout.write(`${m}\n`);

async function runTarget(
  target: "azora" | "anvil",
  p: Params,
  root: string,
  tokens: { on: Compiled; off: Compiled },
): Promise<TargetRun> {
  const run: TargetRun = {
    target,
    version: null,
    ok: false,
    error: null,
    value: null,
    erc20Optimized: null,
    erc20Unoptimized: null,
    ethCall: null,
  };
  const say = (m: string) => log(`[viem/${target}] ${m}`);
  let proc: TargetProcess | null = null;
  try {
    if (target === "azora") {
      run.version = azoraVersion(root);
      proc = await startAzora(p.azoraCli ?? join(root, "dist/node/cli.js"), root, p.azoraArgs);
    } else {
      const bin = findAnvil(root);
      run.version = (await anvilVersion(bin)).split(";")[0];
      proc = await startAnvil(bin, []);
    }
    say(`${run.version} up at ${proc.url}`);
    const probe = viemCtx(proc.url, 1, [], proc, say);
    const ctx = viemCtx(
      proc.url,
      await probe.client.getChainId(),
      DEV_KEYS.slice(0, p.senders),
      proc,
      say,
      p.warmupTxs,
    );
    say("value transfers");
    run.value = await valueTransfers(ctx, p.txs);
    say("ERC-20 transfers, optimizer on");
    const tokenOn = await deployToken(ctx, tokens.on.abi, tokens.on.bytecode);
    const on = await erc20Transfers(ctx, tokenOn, p.txs);
    run.erc20Optimized = on.phase;
    say("ERC-20 transfers, optimizer off");
    const tokenOff = await deployToken(ctx, tokens.off.abi, tokens.off.bytecode);
    run.erc20Unoptimized = (await erc20Transfers(ctx, tokenOff, p.txs)).phase;
    say("eth_call balanceOf");
    run.ethCall = await balanceCalls(ctx, tokenOn, on.recipients, p.calls, p.callers);
    const problems = [run.value, run.erc20Optimized, run.erc20Unoptimized, run.ethCall].flatMap((x) => x.problems);
    run.ok = problems.length === 0;
    run.error = run.ok ? null : problems.join("; ");
  } catch (e) {
    run.error = (e as Error).message;
    say(`FAILED ${run.error}`);
  } finally {
    if (proc !== null) say(`stopped: ${await proc.stop()}`);
  }
  return run;
}

function table(az: TargetRun | undefined, an: TargetRun | undefined): string {
  type Row = [string, (r: TargetRun) => number | null | undefined, boolean];
  const tx = (name: string, pick: (r: TargetRun) => ViemTxPhase | null): Row[] => [
    [`${name}: tx/s (first submit → last receipt)`, (r) => pick(r)?.txPerSec, true],
    [`${name}: submit→receipt p50 (ms)`, (r) => pick(r)?.latencyMs.p50, true],
    [`${name}: submit→receipt p99 (ms)`, (r) => pick(r)?.latencyMs.p99, true],
    [`${name}: node CPU µs per tx`, (r) => pick(r)?.nodeCpuMicrosPerTx, true],
    [`${name}: gas per tx`, (r) => pick(r)?.gasPerTx, false],
  ];
  const rows: Row[] = [
    ...tx("Value transfers", (r) => r.value),
    ...tx("OZ ERC-20, optimizer on", (r) => r.erc20Optimized),
    ...tx("OZ ERC-20, optimizer off", (r) => r.erc20Unoptimized),
    ["eth_call balanceOf: calls/s", (r) => r.ethCall?.callsPerSec, true],
    ["eth_call balanceOf: p50 (ms)", (r) => r.ethCall?.latencyMs.p50, true],
    ["eth_call balanceOf: node CPU µs per call", (r) => r.ethCall?.nodeCpuMicrosPerCall, true],
    ["eth_call balanceOf: load generator CPU µs per call", (r) => r.ethCall?.clientCpuMicrosPerCall, false],
    ["eth_call balanceOf: answered from the result cache (%)", (r) => r.ethCall?.cacheHitPercent, false],
  ];
  const fmt = (v: number | null | undefined) =>
    v === null || v === undefined ? "—" : v.toLocaleString("en-US", { maximumFractionDigits: 1 });
  const body = rows.map(([label, get, ratio]) => {
    const a = az === undefined ? null : get(az);
    const b = an === undefined ? null : get(an);
    const r = ratio && a != null && b != null && b !== 0 ? `${(a / b).toFixed(2)}×` : "—";
    return [label, fmt(a), fmt(b), r];
  });
  const head = ["viem load generator", "Azora", "Anvil", "Azora/Anvil"];
  return markdownTable(head, body);
}

async function main(): Promise<number> {
  let p: Params | null;
  try {
    p = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench:viem: ${(e as Error).message}\n`);
    return 2;
  }
  if (p === null) {
    process.stdout.write(HELP);
    return 0;
  }
  const root = repoRoot();
  log("compiling the OpenZeppelin ERC-20 with the optimizer on and off…");
  const tokens = { on: compileToken(root, true), off: compileToken(root, false) };
  const targets = p.only === null ? (["azora", "anvil"] as const) : ([p.only] as const);
  const runs: Partial<Record<"azora" | "anvil", TargetRun>> = {};
  for (const t of targets) runs[t] = await runTarget(t, p, root, tokens);
  log(`\nFigures ${warmth(p.warmupTxs)}\n`);
  log(table(runs.azora, runs.anvil));
  for (const r of Object.values(runs)) if (r.error !== null) log(`${r.target}: FAILED ${r.error}`);
  const c = cpus();
  const out = writeJSON(p.out, {
    date: new Date().toISOString(),
    machine: {
      cpus: c.length,
      model: c[0]?.model ?? "unknown",
      memGB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    params: p,
    figures: p.warmupTxs > 0 ? "warm" : "cold",
    bytecodeBytes: {
      optimizerOn: (tokens.on.bytecode.length - 2) / 2,
      optimizerOff: (tokens.off.bytecode.length - 2) / 2,
    },
    results: runs,
  });
  log(`\nwrote ${out}`);
  return Object.values(runs).every((r) => r.ok) ? 0 : 1;
}

process.on("exit", killAllStarted);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAllStarted();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:viem: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    killAllStarted();
    process.exit(1);
  },
);
