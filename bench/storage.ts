/**
 * Storage bench: the IPFS gateway (`azora storage serve`, Helia with its blocks on disk) against the same
 * files served from a directory by @fastify/static, each in its own process, measured one after the other
 * by the same HTTP client in this process. What it shows is the cost of content addressing on the read
 * path: resolving a CID, reading blocks through the blockstore and the UnixFS exporter, instead of one file.
 *   - segment: ~1 MB files (an HLS segment's size): time to first byte one at a time, MB/s with C in flight;
 *   - range: 1 MiB ranges at random offsets of a 64 MiB file (a player seeking): TTFB one at a time, MB/s
 *     with C in flight;
 *   - whole: the 64 MiB file end to end, one at a time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../contracts/artifacts.js";
import { createHeliaBackend } from "../services/storage/index.js";
import { round, summarize } from "./stats.js";

export interface StorageBenchOptions {
  /** Distinct ~1 MB segments (default 32). */
  segments?: number;
  segmentBytes?: number;
  /** Requests per measurement (default 200; the concurrent segment run uses 4×). */
  requests?: number;
  /** Requests in flight for the concurrent runs (default 8). */
  concurrency?: number;
  largeBytes?: number;
  log?: (line: string) => void;
}

export interface ServerFigures {
  segmentTTFBMs: ReturnType<typeof summarize>;
  segmentLatencyMs: ReturnType<typeof summarize>;
  segmentMBps: number;
  rangeTTFBMs: ReturnType<typeof summarize>;
  rangeMBps: number;
  wholeMBps: number;
  errors: number;
}

export interface StorageBenchResult {
  date: string;
  machine: string;
  params: Required<Omit<StorageBenchOptions, "log">>;
  gateway: ServerFigures;
  static: ServerFigures;
  /** gateway ÷ static for each figure (> 1 = gateway slower for times, faster for MB/s). */
  ratios: Record<string, number | null>;
}

interface Target {
  /** URL of segment i, and of the large file. */
  segment(i: number): string;
  large: string;
}

interface Sample {
  ttfbMs: number;
  totalMs: number;
  bytes: number;
  ok: boolean;
}

function fetchOnce(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Sample> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ttfb = -1;
    let bytes = 0;
    const req = request(url, { agent, headers }, (res) => {
      res.on("data", (c: Buffer) => {
        if (ttfb < 0) ttfb = performance.now() - t0;
        bytes += c.length;
      });
      res.on("end", () =>
        resolve({ ttfbMs: ttfb, totalMs: performance.now() - t0, bytes, ok: (res.statusCode ?? 0) < 300 }),
      );
      res.on("error", () => resolve({ ttfbMs: ttfb, totalMs: performance.now() - t0, bytes, ok: false }));
    });
    req.on("error", () => resolve({ ttfbMs: -1, totalMs: performance.now() - t0, bytes, ok: false }));
    req.end();
  });
}

async function inFlight(
  n: number,
  c: number,
  one: (i: number) => Promise<Sample>,
): Promise<{ samples: Sample[]; seconds: number }> {
  const samples: Sample[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < n) samples.push(await one(next++));
    }),
  );
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

const mbps = (r: { samples: Sample[]; seconds: number }) =>
  round(r.samples.reduce((a, s) => a + s.bytes, 0) / 1e6 / r.seconds, 1);

async function measure(t: Target, p: Required<Omit<StorageBenchOptions, "log">>): Promise<ServerFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: p.concurrency });
  const seg = (i: number) => t.segment(i % p.segments);
  try {
    await inFlight(p.segments * 2, p.concurrency, (i) => fetchOnce(agent, seg(i))); // warm-up: page cache, JIT
    const one = await inFlight(p.requests, 1, () => fetchOnce(agent, seg(randomInt(p.segments))));
    const many = await inFlight(p.requests * 4, p.concurrency, () => fetchOnce(agent, seg(randomInt(p.segments))));
    const MiB = 1024 * 1024;
    const seek = () => {
      const start = randomInt(p.largeBytes - MiB);
      return fetchOnce(agent, t.large, { range: `bytes=${start}-${start + MiB - 1}` });
    };
    const rangeOne = await inFlight(p.requests, 1, seek);
    const range = await inFlight(p.requests, p.concurrency, seek);
    const whole = await inFlight(4, 1, () => fetchOnce(agent, t.large));
    const all = [...one.samples, ...many.samples, ...rangeOne.samples, ...range.samples, ...whole.samples];
    return {
      segmentTTFBMs: summarize(one.samples.map((s) => s.ttfbMs)),
      segmentLatencyMs: summarize(one.samples.map((s) => s.totalMs)),
      segmentMBps: mbps(many),
      rangeTTFBMs: summarize(rangeOne.samples.map((s) => s.ttfbMs)),
      rangeMBps: mbps(range),
      wholeMBps: mbps(whole),
      errors: all.filter((s) => !s.ok).length,
    };
  } finally {
    agent.destroy();
  }
}

function startChild(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: repoRoot(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start in 120 s: ${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${out}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

export async function storageBench(opts: StorageBenchOptions = {}): Promise<StorageBenchResult> {
  const p = {
    segments: opts.segments ?? 32,
    segmentBytes: opts.segmentBytes ?? 1_000_000,
    requests: opts.requests ?? 200,
    concurrency: opts.concurrency ?? 8,
    largeBytes: opts.largeBytes ?? 64 * 1024 * 1024,
  };
  const log = opts.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), "azora-bench-storage-"));
  const files = join(work, "files");
  const repo = join(work, "repo");
  mkdirSync(files);
  const children: ChildProcess[] = [];
  try {
    log(`[storage] writing ${p.segments} × ${p.segmentBytes} B segments and a ${p.largeBytes} B file, importing them…`);
    const backend = await createHeliaBackend({ dataDir: repo, listen: [], peers: [] });
    const segCIDs: string[] = [];
    for (let i = 0; i < p.segments; i++) {
      const bytes = randomBytes(p.segmentBytes);
      writeFileSync(join(files, `seg_${i}.ts`), bytes);
      segCIDs.push((await backend.addFile(bytes)).toString());
    }
    const large = randomBytes(p.largeBytes);
    writeFileSync(join(files, "large.bin"), large);
    const largeCID = (await backend.addFile(large)).toString();
    await backend.stop();

    const cli = join(repoRoot(), "dist/node/cli.js");
    const gw = await startChild(
      [
        cli,
        "storage",
        "serve",
        "--data-dir",
        repo,
        "--port",
        "0",
        "--offline",
        "--no-uploads",
        "--p2p-listen",
        "/ip4/127.0.0.1/tcp/0",
        "--log-level",
        "warn",
        "--log-format",
        "json",
      ],
      /Gateway\s+(http:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(gw.child);
    log(`[storage] gateway ${gw.url}: measuring…`);
    const gateway = await measure(
      { segment: (i) => `${gw.url}/ipfs/${segCIDs[i]}`, large: `${gw.url}/ipfs/${largeCID}` },
      p,
    );
    await stopChild(gw.child);

    const st = await startChild(
      [join(repoRoot(), "dist/bench/staticServer.js"), files],
      /static\s+(http:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(st.child);
    log(`[storage] @fastify/static ${st.url}: measuring…`);
    const stat = await measure(
      { segment: (i) => `${st.url}/files/seg_${i}.ts`, large: `${st.url}/files/large.bin` },
      p,
    );
    await stopChild(st.child);

    const ratio = (a: number | null, b: number | null) =>
      a === null || b === null || b === 0 ? null : round(a / b, 2);
    const cpu = cpus();
    return {
      date: new Date().toISOString(),
      machine: `${cpu.length} x ${cpu[0]?.model ?? "?"}, node ${process.version}`,
      params: p,
      gateway,
      static: stat,
      ratios: {
        segmentTTFBp50: ratio(gateway.segmentTTFBMs.p50, stat.segmentTTFBMs.p50),
        segmentTTFBp99: ratio(gateway.segmentTTFBMs.p99, stat.segmentTTFBMs.p99),
        segmentLatencyP50: ratio(gateway.segmentLatencyMs.p50, stat.segmentLatencyMs.p50),
        segmentMBps: ratio(gateway.segmentMBps, stat.segmentMBps),
        rangeTTFBp50: ratio(gateway.rangeTTFBMs.p50, stat.rangeTTFBMs.p50),
        rangeMBps: ratio(gateway.rangeMBps, stat.rangeMBps),
        wholeMBps: ratio(gateway.wholeMBps, stat.wholeMBps),
      },
    };
  } finally {
    await Promise.all(children.map(stopChild));
    rmSync(work, { recursive: true, force: true });
  }
}

export function storageTable(r: StorageBenchResult): string {
  const rows: [string, string | number | null, string | number | null, number | null][] = [
    [
      "~1 MB segment: TTFB p50 (ms), one at a time",
      r.gateway.segmentTTFBMs.p50,
      r.static.segmentTTFBMs.p50,
      r.ratios.segmentTTFBp50,
    ],
    ["~1 MB segment: TTFB p99 (ms)", r.gateway.segmentTTFBMs.p99, r.static.segmentTTFBMs.p99, r.ratios.segmentTTFBp99],
    [
      "~1 MB segment: whole response p50 (ms)",
      r.gateway.segmentLatencyMs.p50,
      r.static.segmentLatencyMs.p50,
      r.ratios.segmentLatencyP50,
    ],
    [
      `~1 MB segments: MB/s, ${r.params.concurrency} in flight`,
      r.gateway.segmentMBps,
      r.static.segmentMBps,
      r.ratios.segmentMBps,
    ],
    [
      "1 MiB range of 64 MiB: TTFB p50 (ms)",
      r.gateway.rangeTTFBMs.p50,
      r.static.rangeTTFBMs.p50,
      r.ratios.rangeTTFBp50,
    ],
    [
      `1 MiB ranges: MB/s, ${r.params.concurrency} in flight`,
      r.gateway.rangeMBps,
      r.static.rangeMBps,
      r.ratios.rangeMBps,
    ],
    ["64 MiB file whole: MB/s", r.gateway.wholeMBps, r.static.wholeMBps, r.ratios.wholeMBps],
    ["failed requests", r.gateway.errors, r.static.errors, null],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const fmt = (v: string | number | null) => (v === null ? "—" : String(v));
  const lines = [
    `| ${"Figure".padEnd(w)} | Gateway (IPFS) | @fastify/static | Gateway/static |`,
    `|${"-".repeat(w + 2)}|---------------:|----------------:|---------------:|`,
    ...rows.map(
      ([n, a, b, q]) =>
        `| ${n.padEnd(w)} | ${fmt(a).padStart(14)} | ${fmt(b).padStart(15)} | ${(q === null ? "—" : `${q}×`).padStart(14)} |`,
    ),
  ];
  return lines.join("\n");
}
