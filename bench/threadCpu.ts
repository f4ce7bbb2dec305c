// The node's CPU split by thread: /proc/<pid>/task/<tid>/stat (name, utime + stime) read before and
// after a phase, the threads grouped by what they run. Node 20 names none of its threads (all carry the
// executable's name), so the groups of its own threads come from the order it starts them in, checked
// on Node 20 (`node -e` + /proc): the main thread (tid = pid); V8's platform — its delayed-task
// scheduler and `--v8-pool-size` workers (default 4), running concurrent GC marking and sweeping and
// background compilation; the SIGUSR1 watcher; then, at the first async fs call (ESM loading, before
// any code of the node runs), libuv's pool of UV_THREADPOOL_SIZE (default 4), which runs LevelDB's
// reads and writes and fs calls. Unnamed threads started later (LevelDB's compaction thread) are
// "other"; the node's worker threads name themselves (node/threadName.ts) and are grouped by name.

import { readdirSync, readFileSync } from "node:fs";
import { markdownTable } from "./script.js";
import { round } from "./stats.js";

export const THREAD_GROUPS = {
  main: "main (JS)",
  v8: "V8 platform (GC, compile)",
  libuv: "libuv pool (LevelDB, fs)",
  other: "other unnamed",
  exited: "exited threads",
} as const;

/** USER_HZ: /proc reports CPU times in these ticks. */
const CLOCK_TICKS = 100;
const DEFAULT_V8_POOL_SIZE = 4;
const DEFAULT_UV_THREADPOOL_SIZE = 4;

/** CPU seconds of each live thread of a process, by tid, with the group it belongs to. */
export interface ThreadSnapshot {
  /** The process's own CPU seconds (live and exited threads). */
  processSec: number;
  threads: Map<number, { group: string; sec: number }>;
}

/** A thread as /proc shows it. */
export interface ThreadStat {
  tid: number;
  name: string;
  sec: number;
}

/** The runtime's pool sizes, as the process was started (defaults when not set). */
export interface PoolSizes {
  v8: number;
  uv: number;
}

/**
 * Groups a process's threads: named ones by name (a trailing "-<n>" dropped, so a pool is one group),
 * the unnamed ones (named like the main thread) by their rank in start order — see the file's head.
 */
export function groupThreads(pid: number, threads: ThreadStat[], pools: PoolSizes): Map<number, string> {
  const mainName = threads.find((t) => t.tid === pid)?.name;
  const unnamed = threads
    .filter((t) => t.tid !== pid && t.name === mainName)
    .map((t) => t.tid)
    .sort((a, b) => a - b);
  const v8End = pools.v8 + 1; // the delayed-task scheduler, then the pool's workers
  const uvStart = v8End + 1; // after the SIGUSR1 watcher
  const uvEnd = uvStart + pools.uv;
  const rank = new Map(unnamed.map((tid, i) => [tid, i]));
  const out = new Map<number, string>();
  for (const t of threads) {
    const r = rank.get(t.tid);
    if (t.tid === pid) out.set(t.tid, THREAD_GROUPS.main);
    else if (r === undefined) out.set(t.tid, t.name.replace(/-\d+$/, ""));
    else if (r < v8End) out.set(t.tid, THREAD_GROUPS.v8);
    else if (r >= uvStart && r < uvEnd) out.set(t.tid, THREAD_GROUPS.libuv);
    else out.set(t.tid, THREAD_GROUPS.other);
  }
  return out;
}

/** The pool sizes from the process's command line and environment (Linux). */
export function poolSizes(pid: number): PoolSizes {
  const read = (f: string) => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, "utf8").split("\0");
    } catch {
      return [];
    }
  };
  const flag = read("cmdline")
    .concat(
      read("environ")
        .find((e) => e.startsWith("NODE_OPTIONS="))
        ?.slice(13)
        .split(/\s+/) ?? [],
    )
    .find((a) => a.startsWith("--v8-pool-size="));
  const uv = read("environ").find((e) => e.startsWith("UV_THREADPOOL_SIZE="));
  const n = (s: string | undefined, d: number) => {
    const v = s === undefined ? Number.NaN : Number(s.slice(s.indexOf("=") + 1));
    return Number.isInteger(v) && v > 0 ? v : d;
  };
  return { v8: n(flag, DEFAULT_V8_POOL_SIZE), uv: n(uv, DEFAULT_UV_THREADPOOL_SIZE) };
}

/** utime + stime seconds and the name from a /proc stat line (process or thread). */
export function parseStat(s: string): { name: string; sec: number } {
  const close = s.lastIndexOf(")");
  // Fields after the name's closing parenthesis: state is index 0, utime index 11, stime 12.
  const f = s.slice(close + 2).split(" ");
  return { name: s.slice(s.indexOf("(") + 1, close), sec: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS };
}

/** Every thread of a process and its CPU, grouped; null off Linux or when the process is gone. */
export function threadSnapshot(pid: number, pools: PoolSizes = poolSizes(pid)): ThreadSnapshot | null {
  try {
    const processSec = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8")).sec;
    const stats: ThreadStat[] = [];
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        stats.push({ tid: Number(t), ...parseStat(readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8")) });
      } catch {
        // The thread ended between the listing and the read: its time is in the process's.
      }
    }
    const groups = groupThreads(pid, stats, pools);
    return {
      processSec,
      threads: new Map(stats.map((t) => [t.tid, { group: groups.get(t.tid) ?? THREAD_GROUPS.other, sec: t.sec }])),
    };
  } catch {
    return null;
  }
}

/**
 * CPU seconds by thread group between two snapshots. A thread started in between counts from zero;
 * a thread gone by the second counts in `exited threads` (the process's time keeps what its dead
 * threads used, which no live thread's does).
 */
export function threadCpuDelta(before: ThreadSnapshot, after: ThreadSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  let live = 0;
  for (const [tid, t] of after.threads) {
    const d = Math.max(0, t.sec - (before.threads.get(tid)?.sec ?? 0));
    out[t.group] = (out[t.group] ?? 0) + d;
    live += d;
  }
  const exited = after.processSec - before.processSec - live;
  if (exited > 0.005) out[THREAD_GROUPS.exited] = exited;
  for (const k of Object.keys(out)) out[k] = round(out[k], 2);
  return out;
}

/** µs per tx by thread group. */
export function perTxByThread(included: number, seconds: Record<string, number>): Record<string, number> | null {
  if (included === 0) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(seconds)) out[k] = round((v * 1e6) / included, 0);
  return out;
}

const FIXED_ORDER: string[] = [THREAD_GROUPS.main, THREAD_GROUPS.v8, THREAD_GROUPS.libuv];

/** One row per workload, one column per thread group seen in any row (µs/tx). */
export function threadTable(rows: Array<{ name: string; threads: Record<string, number> | null | undefined }>): string {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.threads ?? {})) seen.add(k);
  const cols = [...FIXED_ORDER.filter((g) => seen.has(g)), ...[...seen].filter((g) => !FIXED_ORDER.includes(g)).sort()];
  const body = rows
    .filter((r) => r.threads !== null && r.threads !== undefined)
    .map((r) => [r.name, ...cols.map((c) => (r.threads?.[c] ?? 0).toLocaleString("en-US"))]);
  return markdownTable(["Azora CPU µs per tx by thread", ...cols], body);
}
