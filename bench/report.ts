// The summary table and the ratios in the JSON result.
import type { Target } from "./args.js";
import type { LedgerResults } from "./ledger.js";
import { markdownTable } from "./script.js";
import type { CallPhaseResult, TxPhaseResult } from "./workloads.js";

export interface TargetResult {
  target: Target;
  ok: boolean;
  /** Why the target (or one of its phases) failed; null when everything passed. */
  error: string | null;
  version: string | null;
  command: string | null;
  startupSec: number | null;
  phases: {
    value: TxPhaseResult | null;
    erc20: TxPhaseResult | null;
    /** Phase 3 through node:http (bench/rpc.ts). */
    ethCall: CallPhaseResult | null;
    /** Phase 3b: the same calls through the lean raw-socket client (bench/leanRpc.ts). */
    ethCallNet?: CallPhaseResult | null;
  };
  /** Azora only: native modules vs the same operations on OpenZeppelin contracts. */
  ledger: LedgerResults | null;
  figures: Record<string, number | null>;
  node: {
    stop: string | null;
    rssMiBAtEnd: number | null;
    /** The node's peak RSS over the whole run (`VmHWM`; issue 14's memory goal: < 400 MB). */
    peakRssMiB?: number | null;
    logIssues: { counts: Record<string, number>; samples: Array<{ level: string; msg: string; count: number }> };
  };
}

interface Figure {
  key: string;
  label: string;
  digits: number;
  /** Counts (failures) get no ratio. */
  ratio: boolean;
  get(r: TargetResult): number | null | undefined;
}

function txFigures(phase: "value" | "erc20", name: string): Figure[] {
  return [
    {
      key: `${phase}.txPerSec`,
      label: `${name}: tx/s (first submit → last inclusion)`,
      digits: 0,
      ratio: true,
      get: (r) => r.phases[phase]?.txPerSec,
    },
    {
      key: `${phase}.submitTxPerSec`,
      label: `${name}: submit-only tx/s`,
      digits: 0,
      ratio: true,
      get: (r) => r.phases[phase]?.submitTxPerSec,
    },
    {
      key: `${phase}.latencyP50Ms`,
      label: `${name}: submit→inclusion p50 (ms)`,
      digits: 0,
      ratio: true,
      get: (r) => r.phases[phase]?.latencyMs.p50,
    },
    {
      key: `${phase}.latencyP99Ms`,
      label: `${name}: submit→inclusion p99 (ms)`,
      digits: 0,
      ratio: true,
      get: (r) => r.phases[phase]?.latencyMs.p99,
    },
    {
      key: `${phase}.failures`,
      label: `${name}: failed txs`,
      digits: 0,
      ratio: false,
      get: (r) => r.phases[phase]?.failures,
    },
  ];
}

function callFigures(phase: "ethCall" | "ethCallNet", name: string): Figure[] {
  return [
    {
      key: `${phase}.callsPerSec`,
      label: `${name}: calls/s`,
      digits: 0,
      ratio: true,
      get: (r) => r.phases[phase]?.callsPerSec,
    },
    {
      key: `${phase}.latencyP50Ms`,
      label: `${name}: p50 (ms)`,
      digits: 2,
      ratio: true,
      get: (r) => r.phases[phase]?.latencyMs.p50,
    },
    {
      key: `${phase}.latencyP99Ms`,
      label: `${name}: p99 (ms)`,
      digits: 2,
      ratio: true,
      get: (r) => r.phases[phase]?.latencyMs.p99,
    },
    {
      key: `${phase}.clientCpuMicrosPerCall`,
      label: `${name}: load generator CPU µs per call`,
      digits: 0,
      ratio: false,
      get: (r) => r.phases[phase]?.clientCpuMicrosPerCall,
    },
    {
      key: `${phase}.failures`,
      label: `${name}: errors + wrong results`,
      digits: 0,
      ratio: false,
      get: (r) => {
        const c = r.phases[phase];
        return c === null || c === undefined ? null : c.errors + c.wrongResults;
      },
    },
  ];
}

export const FIGURES: Figure[] = [
  ...txFigures("value", "Value transfers"),
  ...txFigures("erc20", "ERC-20 transfers"),
  ...callFigures("ethCall", "eth_call balanceOf"),
  ...callFigures("ethCallNet", "eth_call balanceOf, lean client"),
];

export function figuresOf(r: TargetResult): Record<string, number | null> {
  return Object.fromEntries(FIGURES.map((f) => [f.key, f.get(r) ?? null]));
}

export function ratios(
  azora: TargetResult | undefined,
  anvil: TargetResult | undefined,
): Record<string, number | null> {
  return Object.fromEntries(
    FIGURES.filter((f) => f.ratio).map((f) => {
      const a = azora === undefined ? null : (f.get(azora) ?? null);
      const b = anvil === undefined ? null : (f.get(anvil) ?? null);
      return [f.key, a !== null && b !== null && b !== 0 ? Math.round((a / b) * 100) / 100 : null];
    }),
  );
}

function fmt(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined) return "—";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Says whether a run's figures are a fresh node's (cold) or steady state (warm), for the output and the JSON. */
export function warmth(warmupTxs: number): string {
  return warmupTxs > 0
    ? `warm: ${warmupTxs.toLocaleString("en-US")} untimed txs (calls) of each workload before its timed phase`
    : "cold: a fresh node, JIT warm-up included in the figures (--warmup-txs 0)";
}

export function table(results: Partial<Record<Target, TargetResult>>): string {
  const rat = ratios(results.azora, results.anvil);
  const rows: string[][] = [];
  for (const f of FIGURES) {
    const a = results.azora === undefined ? null : f.get(results.azora);
    const b = results.anvil === undefined ? null : f.get(results.anvil);
    const r = f.ratio ? rat[f.key] : null;
    rows.push([f.label, fmt(a, f.digits), fmt(b, f.digits), r === null ? "—" : `${r.toFixed(2)}×`]);
  }
  return markdownTable(["Figure", "Azora", "Anvil", "Azora/Anvil"], rows);
}
