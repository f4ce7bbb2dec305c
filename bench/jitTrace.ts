// What V8 compiles and collects in the dev node during each timed phase of `npm run bench` (issue 14: the platform
// threads' CPU on a warm node). Run the bench with
//   AZORA_BENCH_NODE_FLAGS="--trace-opt --trace-deopt --trace-gc" AZORA_BENCH_NODE_TRACE=/tmp/node.out
// so the node's stdout lands in the file, each line prefixed with the wall-clock ms it arrived at; then
//   node dist/bench/jitTraceMain.js /tmp/node.out bench/results/latest.json
// prints, per timed phase (the window between the CPU readings, `cpu.startedAtMs`/`endedAtMs` in the JSON), the
// TurboFan compilations (how many, their background ms, first-time or again), deoptimisations by function and
// reason, and the young/old-generation collections.
import { createWriteStream, type WriteStream } from "node:fs";
import type { Readable } from "node:stream";

/** A file that gets the bench's dev node's stdout, each line prefixed with `Date.now()` (unset: no copy). */
export const NODE_TRACE_ENV = "AZORA_BENCH_NODE_TRACE";

/**
 * Copies `stream`'s lines to `file`, each as `<ms since epoch> <line>`: the time the line reached the bench. Returns
 * the file's stream, closed once `stream` ended.
 */
export function copyStampedLines(stream: Readable, file: string): WriteStream {
  const out = createWriteStream(file);
  let partial = "";
  stream.on("data", (d: Buffer) => {
    const at = Date.now();
    const lines = (partial + d.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    out.write(lines.map((l) => `${at} ${l}\n`).join(""));
  });
  stream.on("end", () => out.end(partial === "" ? "" : `${Date.now()} ${partial}\n`));
  return out;
}

export interface TraceWindow {
  name: string;
  startMs: number;
  endMs: number;
}

export interface WindowJit {
  name: string;
  seconds: number;
  /** Completed TurboFan compilations, and how many of them compiled a function compiled before in the process. */
  compiles: number;
  recompiles: number;
  /** Their background (off-main-thread) compile time as V8 reports it, ms of wall time. */
  compileMs: number;
  deopts: number;
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
  /** Functions by compile ms: [name, compilations, ms]. */
  topCompiles: Array<[string, number, number]>;
  /** Deopts by "function: reason": [key, count]. */
  topDeopts: Array<[string, number]>;
}

// Anonymous functions print as `<JSFunction (sfi = …)>`, named ones as `<JSFunction name (sfi = …)>`. An sfi is the
// function's SharedFunctionInfo address: "again" counts a function compiled before unless the GC moved its sfi.
const COMPILED =
  /^\[completed compiling .*?<JSFunction (?:(.*?) )?\(sfi = (0x[0-9a-f]+)\)>.*took ([\d.]+), ([\d.]+), ([\d.]+) ms/;
const DEOPT = /^\[bailout \(kind: ([^,]+), reason: (.*?)\): begin\. deoptimizing .*?<JSFunction (?:(.*?) )?\(sfi/;
const GC = /: (Scavenge|Mark-Compact)\b.*?MB, ([\d.]+) \/ [\d.]+ ms/;

function topBy<T>(m: Map<string, T>, key: (v: T) => number, n: number): Array<[string, T]> {
  return [...m].sort((a, b) => key(b[1]) - key(a[1])).slice(0, n);
}

/**
 * Splits stamped `--trace-opt --trace-deopt --trace-gc` output (as written by copyStampedLines) by window. A line
 * is counted in a window when it arrived inside it; the node's stdout is a pipe, so lines may arrive a few ms late.
 */
export function jitByWindow(stamped: string, windows: TraceWindow[], top = 10): WindowJit[] {
  const stats = windows.map((w) => ({
    w,
    compiles: 0,
    recompiles: 0,
    compileMs: 0,
    deopts: 0,
    scavenges: 0,
    scavengeMs: 0,
    markCompacts: 0,
    markCompactMs: 0,
    fns: new Map<string, { n: number; ms: number }>(),
    deoptKeys: new Map<string, number>(),
  }));
  const compiledBefore = new Set<string>();
  for (const line of stamped.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp < 0) continue;
    const at = Number(line.slice(0, sp));
    const text = line.slice(sp + 1);
    const compiled = COMPILED.exec(text);
    const s = stats.find(({ w }) => at >= w.startMs && at <= w.endMs);
    if (compiled !== null) {
      const sfi = compiled[2];
      const again = compiledBefore.has(sfi);
      compiledBefore.add(sfi);
      if (s === undefined) continue;
      const ms = Number(compiled[4]);
      s.compiles++;
      if (again) s.recompiles++;
      s.compileMs += ms;
      const name = compiled[1] ?? "(anonymous)";
      const f = s.fns.get(name) ?? { n: 0, ms: 0 };
      f.n++;
      f.ms += ms;
      s.fns.set(name, f);
      continue;
    }
    if (s === undefined) continue;
    const deopt = DEOPT.exec(text);
    if (deopt !== null) {
      s.deopts++;
      const key = `${deopt[3] ?? "(anonymous)"}: ${deopt[2]}`;
      s.deoptKeys.set(key, (s.deoptKeys.get(key) ?? 0) + 1);
      continue;
    }
    const gc = GC.exec(text);
    if (gc !== null) {
      if (gc[1] === "Scavenge") {
        s.scavenges++;
        s.scavengeMs += Number(gc[2]);
      } else {
        s.markCompacts++;
        s.markCompactMs += Number(gc[2]);
      }
    }
  }
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return stats.map((s) => ({
    name: s.w.name,
    seconds: r1((s.w.endMs - s.w.startMs) / 1000),
    compiles: s.compiles,
    recompiles: s.recompiles,
    compileMs: r1(s.compileMs),
    deopts: s.deopts,
    scavenges: s.scavenges,
    scavengeMs: r1(s.scavengeMs),
    markCompacts: s.markCompacts,
    markCompactMs: r1(s.markCompactMs),
    topCompiles: topBy(s.fns, (f) => f.ms, top).map(([k, f]) => [k, f.n, r1(f.ms)]),
    topDeopts: topBy(s.deoptKeys, (n) => n, top),
  }));
}

interface PhaseLike {
  cpu?: { startedAtMs?: number; endedAtMs?: number };
}

/** The timed windows of the bench's Azora phases, from its JSON result. */
export function benchWindows(result: {
  results?: { azora?: { phases?: Record<string, PhaseLike | null>; ledger?: Record<string, PhaseLike | null> } };
}): TraceWindow[] {
  const az = result.results?.azora;
  const all = { ...(az?.phases ?? {}), ...(az?.ledger ?? {}) };
  const out: TraceWindow[] = [];
  for (const [name, p] of Object.entries(all)) {
    const start = p?.cpu?.startedAtMs;
    const end = p?.cpu?.endedAtMs;
    if (start !== undefined && end !== undefined) out.push({ name, startMs: start, endMs: end });
  }
  return out;
}
