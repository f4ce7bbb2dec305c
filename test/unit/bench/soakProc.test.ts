import { describe, expect, it } from "vitest";
import {
  anonymousMappings,
  mappedFiles,
  procAnon,
  procCpuSeconds,
  procMemory,
  promGauge,
  promSeries,
  statCpuSeconds,
  summarizeAnon,
} from "../../../bench/soakProc.js";

// A /proc/<pid>/smaps excerpt: a file mapping, the brk heap, a nameless anonymous mapping (a glibc arena or V8
// page: its header ends right after the inode), a named anonymous one and a stack.
const SMAPS = `55d000000000-55d000200000 r-xp 00000000 08:01 1234   /usr/bin/node
Size:               2048 kB
Rss:                1500 kB
Anonymous:             0 kB
55d100000000-55d106400000 rw-p 00000000 00:00 0                          [heap]
Size:             102400 kB
Rss:               90000 kB
Anonymous:         90000 kB
7f6260000000-7f6264000000 rw-p 00000000 00:00 0 
Size:              65536 kB
Rss:                5900 kB
Anonymous:          5900 kB
7f6270000000-7f6270040000 rw-p 00000000 00:00 0
Size:                256 kB
Rss:                 256 kB
Anonymous:           256 kB
7f6280000000-7f6280100000 rw-p 00000000 00:00 0                          [anon:v8]
Size:               1024 kB
Rss:                 100 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  40 kB
`;

describe("soak /proc readings", () => {
  it("lists the anonymous mappings, nameless ones included, and not files or the stack", () => {
    const m = anonymousMappings(SMAPS);
    expect(m.map((x) => [x.start, x.name, x.size / 1024, x.rss / 1024])).toEqual([
      ["55d100000000", "[heap]", 102400, 90000],
      ["7f6260000000", "[anon]", 65536, 5900],
      ["7f6270000000", "[anon]", 256, 256],
      ["7f6280000000", "[anon:v8]", 1024, 100],
    ]);
  });

  it("buckets resident bytes by mapping size and ranks the largest", () => {
    const s = summarizeAnon(anonymousMappings(SMAPS), 2);
    expect(s.count).toBe(4);
    expect(s.bySize).toEqual({ small: (256 + 100) * 1024, upTo64MB: 5900 * 1024, large: 90000 * 1024 });
    expect(s.top.map((x) => x.start)).toEqual(["55d100000000", "7f6260000000"]);
  });

  it("reads this process's own memory", () => {
    const m = procMemory(process.pid);
    const a = procAnon(process.pid);
    if (process.platform !== "linux") return;
    expect(m?.rss).toBeGreaterThan(0);
    expect(m?.anonymous).toBeGreaterThan(0);
    expect(a?.count).toBeGreaterThan(0);
    expect(procMemory(-1)).toBeNull();
  });

  it("reads a gauge from a Prometheus exposition, labelled or not", () => {
    const text = `# HELP x_heap help\n# TYPE x_heap gauge\nx_heap 1234.5\nx_space{space="old"} 7e6\nx_heap_total 9\n`;
    expect(promGauge(text, "x_heap")).toBe(1234.5);
    expect(promGauge(text, "x_space")).toBe(7e6);
    expect(promGauge(text, "x_missing")).toBeNull();
    expect(promSeries(`${text}x_space{space="new"} 3\n`, "x_space")).toEqual([
      { labels: 'space="old"', value: 7e6 },
      { labels: 'space="new"', value: 3 },
    ]);
  });

  it("sums the resident bytes of mapped LevelDB tables, counting each file once", () => {
    const ldb = `7f7000000000-7f7000200000 r--s 00000000 08:01 77 /tmp/d/chaindata/000012.ldb
Size:               2048 kB
Rss:                 800 kB
7f7000200000-7f7000400000 r--s 00000000 08:01 78 /tmp/d/chaindata/000015.ldb
Size:               2048 kB
Rss:                1200 kB
7f7000400000-7f7000500000 r--s 00200000 08:01 78 /tmp/d/chaindata/000015.ldb
Size:               1024 kB
Rss:                 100 kB
`;
    expect(mappedFiles(SMAPS + ldb, ".ldb")).toEqual({ files: 2, rss: (800 + 1200 + 100) * 1024 });
    expect(mappedFiles(SMAPS, ".ldb")).toEqual({ files: 0, rss: 0 });
  });

  it("reads user + system CPU from /proc/<pid>/stat, a command name with spaces and parentheses included", () => {
    const stat = "4242 (node (azora) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 11 0 99 0 0";
    expect(statCpuSeconds(stat)).toBeCloseTo(18.01, 6);
    if (process.platform !== "linux") return;
    expect(procCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(procCpuSeconds(-1)).toBeNull();
  });
});
