// The soak's view of the node's memory from outside, without an inspector session (an attached inspector can hold
// memory of its own, so the RSS figure is taken without one): the kernel's account of the process
// (/proc/<pid>/smaps_rollup and the largest anonymous mappings of /proc/<pid>/smaps) and the main isolate's heap
// from the node's Prometheus /metrics (prom-client's default metrics).
import { readFileSync } from "node:fs";

export interface ProcMemory {
  rss: number;
  anonymous: number;
  /** File-backed resident bytes (code, mapped LevelDB tables). */
  file: number;
}

const KB = 1024;

/** `Key: N kB` lines of a smaps block, in bytes. */
function kbFields(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out.set(m[1], Number(m[2]) * KB);
  return out;
}

/** The process's resident memory split into anonymous and file-backed, or null when it is gone. */
export function procMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return null;
  }
  const f = kbFields(text);
  const rss = f.get("Rss") ?? 0;
  const anonymous = f.get("Anonymous") ?? 0;
  return { rss, anonymous, file: rss - anonymous };
}

export interface Mapping {
  start: string;
  /** Reserved bytes of the mapping. */
  size: number;
  rss: number;
  name: string;
}

/** The mappings of a /proc/<pid>/smaps text, anonymous ones (no file) only. */
export function anonymousMappings(smaps: string): Mapping[] {
  const out: Mapping[] = [];
  // A mapping's header line: "start-end perms offset dev inode [path]", followed by its Key: value lines.
  const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)[ \t]*(.*)$/gm;
  const heads = [...smaps.matchAll(header)];
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i];
    const inode = h[3];
    const name = h[4].trim();
    if (inode !== "0" || (name !== "" && !name.startsWith("[heap") && !name.startsWith("[anon"))) continue;
    const body = smaps.slice((h.index ?? 0) + h[0].length, heads[i + 1]?.index ?? smaps.length);
    const f = kbFields(body);
    out.push({
      start: h[1],
      size: Number.parseInt(h[2], 16) - Number.parseInt(h[1], 16),
      rss: f.get("Rss") ?? 0,
      name: name === "" ? "[anon]" : name,
    });
  }
  return out;
}

export interface AnonSummary {
  /** Anonymous mappings by resident size, largest first. */
  top: Mapping[];
  count: number;
  /** Resident bytes in anonymous mappings of size (bytes) buckets: ≤ 1 MB, ≤ 64 MB, > 64 MB. */
  bySize: { small: number; upTo64MB: number; large: number };
}

export function summarizeAnon(mappings: Mapping[], topN: number): AnonSummary {
  const bySize = { small: 0, upTo64MB: 0, large: 0 };
  for (const m of mappings) {
    if (m.size <= KB * KB) bySize.small += m.rss;
    else if (m.size <= 64 * KB * KB) bySize.upTo64MB += m.rss;
    else bySize.large += m.rss;
  }
  const top = [...mappings].sort((a, b) => b.rss - a.rss).slice(0, topN);
  return { top, count: mappings.length, bySize };
}

/** Resident bytes of the file mappings whose path ends with `suffix`, and how many such files are mapped. */
export function mappedFiles(smaps: string, suffix: string): { files: number; rss: number } {
  const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+[ \t]*(.*)$/gm;
  const heads = [...smaps.matchAll(header)];
  const names = new Set<string>();
  let rss = 0;
  for (let i = 0; i < heads.length; i++) {
    const name = heads[i][1].trim();
    if (!name.endsWith(suffix)) continue;
    names.add(name);
    const body = smaps.slice((heads[i].index ?? 0) + heads[i][0].length, heads[i + 1]?.index ?? smaps.length);
    rss += kbFields(body).get("Rss") ?? 0;
  }
  return { files: names.size, rss };
}

/** The node's anonymous mappings and its mapped LevelDB tables (`.ldb`) now, or null when it is gone. */
export function procAnon(pid: number, topN = 8): (AnonSummary & { ldb: { files: number; rss: number } }) | null {
  try {
    const smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
    return { ...summarizeAnon(anonymousMappings(smaps), topN), ldb: mappedFiles(smaps, ".ldb") };
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux's supported ABIs). */
const USER_HZ = 100;

/** CPU seconds (user + system, all threads) of a /proc/<pid>/stat text. */
export function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

/** The process's CPU seconds so far, or null when it is gone. */
export function procCpuSeconds(pid: number): number | null {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** Every series of a metric in a Prometheus text exposition: its label text (`a="x",b="y"`, or "") and value. */
export function promSeries(text: string, name: string): Array<{ labels: string; value: number }> {
  return [...text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$`, "gm"))].map((m) => ({
    labels: m[1] ?? "",
    value: Number(m[2]),
  }));
}

/** A metric's first series, or null. */
export function promGauge(text: string, name: string): number | null {
  return promSeries(text, name)[0]?.value ?? null;
}
