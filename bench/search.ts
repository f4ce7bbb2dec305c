// The search phase of `npm run bench` (alone: `npm run bench:search`): Azora Search on a real corpus — the package
// descriptions of `apt-cache dumpavail` (every Debian machine has them) — embedded (SQLite FTS5 + usearch) and on
// PostgreSQL, side by side with MiniSearch in-process: indexing docs/s, query p50/p99 for keyword, typo, faceted
// and hybrid queries, index size on disk, and HNSW recall@10 against an exact scan.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import MiniSearch from "minisearch";
import { createTextEmbedder } from "../ai-oracle/index.js";
import { HNSW } from "../services/search/engine/sqlite/hnsw.js";
import { openStore, SearchEngine, type SearchStore } from "../services/search/index.js";
import { mulberry32 } from "./stats.js";

export interface SearchBenchOptions {
  /** Documents (default 50,000; the corpus has ~60k on Debian 12 after apt-get update). */
  docs?: number;
  /** Queries per kind (default 300). */
  queries?: number;
  /** Documents embedded for the hybrid run (default 5,000: USE-lite embeds ~50–100 texts/s on one core). */
  vectors?: number;
  /** PostgreSQL URL for the PostgreSQL run (default $AZORA_TEST_PG_URL; skipped without). */
  pgUrl?: string;
  log?: (line: string) => void;
}

interface Latency {
  /** Wall-clock milliseconds per query (what a caller waits). */
  p50: number;
  p99: number;
  mean: number;
  /**
   * CPU milliseconds this process spent per query (user + system): on a machine shared with other jobs, what the
   * query costs without the time spent waiting for a core. null where the work runs in another process (PostgreSQL).
   */
  cpuP50: number | null;
  cpuP99: number | null;
}

export interface EngineFigures {
  engine: string;
  docs: number;
  indexDocsPerSec: number;
  /** Documents per CPU second of this process (null for PostgreSQL, whose work is in the server). */
  indexDocsPerCpuSec: number | null;
  sizeMiB: number | null;
  keyword: Latency;
  typo: Latency;
  faceted: Latency | null;
  hybrid?: Latency | null;
}

export interface SearchBenchResult {
  date: string;
  machine: string;
  corpus: string;
  engines: EngineFigures[];
  hybridDocs: number;
  embedPerSec: number | null;
  hnswRecallAt10: number | null;
  /** 1-minute load average at the start and the end (the machine is shared: see the CPU columns). */
  load: [number, number];
}

type Pkg = { id: string; name: string; description: string; section: string; priority: string; size: number };

/** Package stanzas of `apt-cache dumpavail`: name, full description, section, priority, installed size. */
export function debianCorpus(limit: number): Pkg[] {
  const text = execFileSync("apt-cache", ["dumpavail"], { maxBuffer: 1 << 30, encoding: "utf8" });
  const out: Pkg[] = [];
  const seen = new Set<string>();
  for (const stanza of text.split("\n\n")) {
    const f: Record<string, string> = {};
    let last = "";
    for (const line of stanza.split("\n")) {
      if (line.startsWith(" ") && last !== "") f[last] += `\n${line.trim() === "." ? "" : line.trim()}`;
      else {
        const i = line.indexOf(":");
        if (i < 0) continue;
        last = line.slice(0, i);
        f[last] = line.slice(i + 1).trim();
      }
    }
    const name = f.Package;
    if (name === undefined || seen.has(name) || f.Description === undefined) continue;
    seen.add(name);
    out.push({
      id: name.replace(/[^A-Za-z0-9_:.@-]/g, "_"),
      name,
      description: f.Description,
      section: f.Section ?? "unknown",
      priority: f.Priority ?? "optional",
      size: Number(f["Installed-Size"] ?? 0),
    });
    if (out.length >= limit) break;
  }
  return out;
}

function quantiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

function latency(wall: number[], cpu: number[] | null): Latency {
  const c = cpu === null ? null : quantiles(cpu);
  return { ...quantiles(wall), cpuP50: c?.p50 ?? null, cpuP99: c?.p99 ?? null };
}
const round = (x: number) => Math.round(x * 100) / 100;

/** Keyword queries (1–2 words of a random description), typo queries (a word of ≥ 5 letters with one letter changed). */
export function queries(docs: Pkg[], n: number) {
  const rnd = mulberry32(20261206);
  const words = (d: Pkg) => d.description.toLowerCase().match(/[a-z]{4,}/g) ?? [];
  const keyword: string[] = [];
  const typo: string[] = [];
  while (keyword.length < n || typo.length < n) {
    const w = words(docs[Math.floor(rnd() * docs.length)]);
    if (w.length < 2) continue;
    const i = Math.floor(rnd() * (w.length - 1));
    if (keyword.length < n) keyword.push(rnd() < 0.5 ? w[i] : `${w[i]} ${w[i + 1]}`);
    const long = w.filter((x) => x.length >= 6);
    if (long.length > 0 && typo.length < n) {
      const x = long[Math.floor(rnd() * long.length)];
      const at = 1 + Math.floor(rnd() * (x.length - 2));
      const c = String.fromCharCode(97 + Math.floor(rnd() * 26));
      typo.push(x.slice(0, at) + (c === x[at] ? "z" : c) + x.slice(at + 1));
    }
  }
  return { keyword, typo };
}

const SETTINGS = {
  searchableAttributes: ["name", "description"],
  filterableAttributes: ["section", "priority", "size"],
  sortableAttributes: ["size"],
};

/** Times each call: wall-clock and this process's CPU milliseconds. */
async function timeAll(list: string[], fn: (x: string) => unknown): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (const x of list) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(x);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

async function runEngine(
  name: string,
  store: SearchStore,
  docs: Pkg[],
  q: ReturnType<typeof queries>,
  log: (l: string) => void,
  inProcess: boolean,
) {
  const engine = new SearchEngine(store);
  engine.start();
  await engine.createIndex("debian", SETTINGS);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < docs.length; i += 5000) {
    const t = await engine.waitForTask((await engine.addDocuments("debian", docs.slice(i, i + 5000))).uid, 600_000);
    if (t.status !== "succeeded") throw new Error(`${name}: indexing failed: ${t.error}`);
  }
  const indexSec = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const indexCpuSec = (cu.user + cu.system) / 1e6;
  log(`[search] ${name}: ${docs.length} docs indexed in ${indexSec.toFixed(1)} s (${indexCpuSec.toFixed(1)} s CPU)`);
  const run = async (list: string[], extra: Record<string, unknown>) => {
    for (const x of list.slice(0, 20)) await engine.search("debian", { q: x, limit: 20, ...extra }); // warm-up
    const t = await timeAll(list, (x) => engine.search("debian", { q: x, limit: 20, ...extra }));
    return latency(t.wall, inProcess ? t.cpu : null);
  };
  const fig: EngineFigures = {
    engine: name,
    docs: docs.length,
    indexDocsPerSec: Math.round(docs.length / indexSec),
    indexDocsPerCpuSec: inProcess ? Math.round(docs.length / indexCpuSec) : null,
    sizeMiB: round((await store.sizeBytes("debian")) / 2 ** 20),
    keyword: await run(q.keyword, {}),
    typo: await run(q.typo, {}),
    faceted: await run(q.keyword, { facets: ["section", "priority"], filter: "priority = optional" }),
  };
  await engine.stop();
  return fig;
}

export async function searchBench(o: SearchBenchOptions = {}): Promise<SearchBenchResult> {
  const log = o.log ?? (() => {});
  const load0 = loadavg()[0];
  const docs = debianCorpus(o.docs ?? 50_000);
  if (docs.length < (o.docs ?? 50_000))
    log(`[search] the corpus has ${docs.length} packages (run apt-get update for more)`);
  const q = queries(docs, o.queries ?? 300);
  const engines: EngineFigures[] = [];

  const dir = mkdtempSync(join(tmpdir(), "azora-search-bench-"));
  try {
    const sqlite = await openStore({ backend: "sqlite", dataDir: dir });
    engines.push(await runEngine("Azora Search, embedded (SQLite FTS5)", sqlite, docs, q, log, true));
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pgUrl = o.pgUrl ?? process.env.AZORA_TEST_PG_URL;
  if (pgUrl !== undefined) {
    const schema = `azora_bench_${process.pid}`;
    const pg = await openStore({ backend: "postgres", postgres: { url: pgUrl, schema } });
    try {
      engines.push(await runEngine("Azora Search, PostgreSQL 15 (tsvector + GIN, pg_trgm)", pg, docs, q, log, false));
    } finally {
      const { default: pgLib } = await import("pg");
      const c = new pgLib.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
      await pg.close();
    }
  } else log("[search] no PostgreSQL (--pg-url or AZORA_TEST_PG_URL): skipped");

  // MiniSearch in-process: the same fields, prefix on, fuzzy 0.2 for the typo run (its own typo rule).
  {
    const ms = new MiniSearch({ fields: ["name", "description"], storeFields: ["name"], idField: "id" });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    ms.addAll(docs);
    const indexSec = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const run = async (list: string[], opts: object) => {
      const t = await timeAll(list, (x) => ms.search(x, opts).slice(0, 20));
      return latency(t.wall, t.cpu);
    };
    engines.push({
      engine: "MiniSearch 7.2 (in-process, in memory)",
      docs: docs.length,
      indexDocsPerSec: Math.round(docs.length / indexSec),
      indexDocsPerCpuSec: Math.round(docs.length / ((cu.user + cu.system) / 1e6)),
      sizeMiB: null,
      keyword: await run(q.keyword, { prefix: true, combineWith: "AND" }),
      typo: await run(q.typo, { fuzzy: 0.2, combineWith: "AND" }),
      faceted: null,
    });
  }

  // Hybrid: a subset embedded with the ai/embed model; the query embedding is part of each hybrid query's time.
  const V = Math.min(o.vectors ?? 5_000, docs.length);
  let embedPerSec: number | null = null;
  let recall: number | null = null;
  try {
    if (V === 0) throw new Error("--vectors 0");
    const embedder = await createTextEmbedder();
    const vdir = mkdtempSync(join(tmpdir(), "azora-search-bench-v-"));
    try {
      const store = await openStore({ backend: "sqlite", dataDir: vdir });
      const engine = new SearchEngine(store, { embedder });
      engine.start();
      await engine.createIndex("debian", {
        ...SETTINGS,
        embedder: { source: "azora", fields: ["name", "description"] },
      });
      const subset = docs.slice(0, V).map((d) => ({ ...d, description: d.description.slice(0, 300) }));
      const t0 = performance.now();
      for (let i = 0; i < subset.length; i += 1000) {
        const t = await engine.waitForTask(
          (await engine.addDocuments("debian", subset.slice(i, i + 1000))).uid,
          3_600_000,
        );
        if (t.status !== "succeeded") throw new Error(String(t.error));
      }
      embedPerSec = Math.round(V / ((performance.now() - t0) / 1000));
      log(`[search] ${V} docs embedded and indexed (${embedPerSec} docs/s)`);
      const hq = q.keyword.slice(0, Math.min(100, q.keyword.length));
      const t = await timeAll(hq, (x) => engine.search("debian", { q: x, hybrid: 0.5, limit: 20 }));
      engines[0].hybrid = latency(t.wall, t.cpu);
      await engine.stop();
      await store.close();
      // HNSW recall@10 against an exact scan, on the embedded vectors.
      const vecs = await embedder.embed(hq.slice(0, 50));
      const base = await embedder.embed(subset.map((d) => `${d.name}. ${d.description}`).slice(0, V));
      const h = HNSW.open(512, join(vdir, "recall.hnsw"), -1, function* () {
        for (let i = 0; i < base.length; i++) yield { key: i, vec: base[i] };
      });
      let hit = 0;
      for (const v of vecs) {
        const exact = base
          .map((b, i) => ({ i, s: b.reduce((a, x, j) => a + x * v[j], 0) }))
          .sort((a, b) => b.s - a.s)
          .slice(0, 10)
          .map((x) => x.i);
        const got = new Set(h.search(v, 10).map((x) => x.key));
        hit += exact.filter((i) => got.has(i)).length;
      }
      recall = round(hit / (vecs.length * 10));
      await embedder.close();
    } finally {
      rmSync(vdir, { recursive: true, force: true });
    }
  } catch (e) {
    log(`[search] hybrid run skipped: ${e instanceof Error ? e.message : String(e)}`);
  }

  return {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
    corpus: `apt-cache dumpavail: ${docs.length} package descriptions`,
    engines,
    hybridDocs: V,
    embedPerSec,
    hnswRecallAt10: recall,
    load: [round(load0), round(loadavg()[0])],
  };
}

export function searchTable(r: SearchBenchResult): string {
  const lat = (l: Latency | null | undefined) => (l ? `${l.p50} / ${l.p99}` : "—");
  const cpu = (l: Latency | null | undefined) => (l?.cpuP50 != null ? `${l.cpuP50} / ${l.cpuP99}` : "—");
  const rows = [
    "| engine | index docs/s (per CPU s) | size MiB | keyword p50/p99 ms | typo p50/p99 ms | faceted p50/p99 ms | hybrid p50/p99 ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...r.engines.flatMap((e) => [
      `| ${e.engine} | ${e.indexDocsPerSec.toLocaleString("en")} (${e.indexDocsPerCpuSec?.toLocaleString("en") ?? "—"}) | ${e.sizeMiB ?? "—"} | ${lat(e.keyword)} | ${lat(e.typo)} | ${lat(e.faceted)} | ${lat(e.hybrid)} |`,
      ...(e.keyword.cpuP50 === null
        ? []
        : [`| ↳ CPU ms per query | | | ${cpu(e.keyword)} | ${cpu(e.typo)} | ${cpu(e.faceted)} | ${cpu(e.hybrid)} |`]),
    ]),
  ];
  return [
    `${r.corpus}; hybrid on ${r.hybridDocs} embedded docs (${r.embedPerSec ?? "—"} docs/s embedded + indexed), HNSW recall@10 ${r.hnswRecallAt10 ?? "—"}`,
    `load average ${r.load[0]} at the start, ${r.load[1]} at the end (wall-clock figures include waiting for a core)`,
    ...rows,
  ].join("\n");
}
