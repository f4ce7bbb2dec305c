// AI inference bench: per model, throughput and p50/p99 latency at batch 1 and under concurrent load, through the
// worker's handler (input decoding, queue, canonical output) side by side with calling the model directly (the
// same onnxruntime sessions, inputs already decoded). `npm run bench:ai`, or `aiBench()` from another bench.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { resample } from "../ai-oracle/audio/resample.js";
import { decodeWAV } from "../ai-oracle/audio/wav.js";
import { createONNXSession, ONNX_ENGINE, Tensor } from "../ai-oracle/engine/session.js";
import { encodeTensors } from "../ai-oracle/engine/tensorContainer.js";
import { decodeImage } from "../ai-oracle/image/decode.js";
import { createEmbedModel } from "../ai-oracle/kinds/embed.js";
import type { KindModel } from "../ai-oracle/kinds/kind.js";
import { createOCRModel } from "../ai-oracle/kinds/ocr.js";
import { createGenericONNXModel } from "../ai-oracle/kinds/onnx.js";
import { createTranscribeModel } from "../ai-oracle/kinds/transcribe.js";
import { createUSELiteEncoder } from "../ai-oracle/kinds/useLite.js";
import { fetchModels } from "../ai-oracle/models/fetch.js";
import { defaultModelsDir, importONNXModel } from "../ai-oracle/models/store.js";
import { repoRoot } from "../contracts/artifacts.js";
import { buildMatMulStack, buildMLP, TEN_MS_MATMUL, TEN_MS_MATMUL_NAME } from "./onnxModels.js";
import { type LatencySummary, round, summarize } from "./stats.js";

export interface AIBenchRow {
  model: string;
  kind: string;
  /** `direct`: the model called in-process on decoded input; `handler`: JobHandler.run on the job's input bytes. */
  path: "direct" | "handler";
  /** Jobs in flight at once (handler) or rows per model call (direct). */
  concurrency: number;
  jobs: number;
  jobsPerSec: number;
  /** Per job (handler) or per model call (direct), ms. */
  latencyMs: LatencySummary;
  /** Mean jobs per model call the queue formed (handler rows). */
  meanBatch?: number;
}

export interface AIBenchResult {
  date: string;
  machine: string;
  engine: string;
  rows: AIBenchRow[];
  /** handler p50 / direct p50 at concurrency 1, per model: the worker-side overhead of the handler. */
  handlerOverhead: Record<string, number>;
}

export interface AIBenchOptions {
  readonly modelsDir?: string;
  /** Jobs per measurement at concurrency 1 (default 20; the concurrent runs use 4x). */
  readonly jobs?: number;
  /** Jobs in flight for the concurrent runs (default 8). */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

interface Workload {
  model: string;
  kind: string;
  handler: KindModel;
  job: { id: bigint; kind: string; spec: Record<string, unknown>; input: Uint8Array };
  /** One direct model call over `rows` items; undefined when the model cannot batch (direct concurrency > 1 skipped). */
  direct: (rows: number) => Promise<unknown>;
  directBatches: boolean;
  /** Sizes of the batches the handler's queue formed so far. */
  batchSizes(): Promise<number[]>;
  close(): Promise<void>;
}

const ctx = { signal: new AbortController().signal, progress() {} };

async function timeSerial(n: number, fn: () => Promise<unknown>): Promise<{ lat: number[]; wallMs: number }> {
  await fn(); // warm-up
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    lat.push(performance.now() - t);
  }
  return { lat, wallMs: performance.now() - t0 };
}

/** `total` jobs with `concurrency` in flight at all times (closed loop). */
async function timeConcurrent(total: number, concurrency: number, fn: () => Promise<unknown>) {
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      started++;
      const t = performance.now();
      await fn();
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { lat, wallMs: performance.now() - t0 };
}

function row(
  w: Workload,
  path: AIBenchRow["path"],
  concurrency: number,
  r: { lat: number[]; wallMs: number },
  jobsPerCall = 1,
): AIBenchRow {
  return {
    model: w.model,
    kind: w.kind,
    path,
    concurrency,
    jobs: r.lat.length * jobsPerCall,
    jobsPerSec: round((r.lat.length * jobsPerCall * 1000) / r.wallMs, 1),
    latencyMs: summarize(r.lat),
  };
}

async function workloads(modelsDir: string): Promise<Workload[]> {
  const fixtures = join(repoRoot(), "test", "fixtures", "ai");
  const out: Workload[] = [];

  const wav = readFileSync(join(fixtures, "transfer.wav"));
  const pcm = decodeWAV(wav);
  const samples = resample(pcm.samples, pcm.sampleRate, 16_000);
  const t = await createTranscribeModel({ modelsDir, useFFmpeg: false, maxQueue: 64 });
  out.push({
    model: `moonshine-tiny (${(samples.length / 16_000).toFixed(1)} s clip)`,
    kind: t.kind,
    handler: t,
    job: { id: 1n, kind: t.kind, spec: {}, input: wav },
    direct: () => t.runner.transcribe(samples),
    directBatches: false,
    batchSizes: async () => [],
    close: () => t.close(),
  });

  const png = readFileSync(join(fixtures, "invoice.png"));
  const img = decodeImage(png, 1e8);
  const o = await createOCRModel({ modelsDir, maxQueue: 64 });
  out.push({
    model: "ppocr-v4 (640x220, 3 lines)",
    kind: o.kind,
    handler: o,
    job: { id: 2n, kind: o.kind, spec: {}, input: png },
    direct: () => o.runner.read(img),
    directBatches: false,
    batchSizes: async () => [],
    close: () => o.close(),
  });

  const sentence = "Why did the node miss its slot when producing blocks?";
  const e = createEmbedModel(await createUSELiteEncoder(modelsDir), { maxQueue: 64 });
  out.push({
    model: "use-lite (1 sentence per job)",
    kind: e.kind,
    handler: e,
    job: { id: 3n, kind: e.kind, spec: {}, input: Buffer.from(JSON.stringify({ texts: [sentence] })) },
    direct: (rows) => e.encoder.encode(Array.from({ length: rows }, () => sentence)),
    directBatches: true,
    batchSizes: async () => e.queue.batchSizes,
    close: () => e.close(),
  });

  for (const spec of [
    { name: "mlp 16-32-3 (onnx-proto)", bytes: buildMLP(1), dims: [16] },
    {
      name: TEN_MS_MATMUL_NAME,
      bytes: buildMatMulStack(TEN_MS_MATMUL),
      dims: [TEN_MS_MATMUL.rows, TEN_MS_MATMUL.width],
    },
  ]) {
    const tmp = mkdtempSync(join(tmpdir(), "azora-ai-bench-"));
    writeFileSync(join(tmp, "m.onnx"), spec.bytes);
    const id = await importONNXModel(tmp, join(tmp, "m.onnx"));
    const g = createGenericONNXModel({ modelsDir: tmp, maxQueue: 64 });
    const session = await createONNXSession(spec.bytes);
    const per = spec.dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: per }, (_, i) => Math.sin(i));
    const batchOf = (rows: number) => {
      const d = new Float32Array(rows * per);
      for (let r = 0; r < rows; r++) d.set(x, r * per);
      return new Tensor("float32", d, [rows, ...spec.dims]);
    };
    out.push({
      model: spec.name,
      kind: g.kind,
      handler: g,
      job: {
        id: 4n,
        kind: g.kind,
        spec: { model: id },
        input: encodeTensors([{ name: "x", dtype: "float32", dims: [1, ...spec.dims], data: x }]),
      },
      direct: (rows) => session.run({ x: batchOf(rows) }),
      directBatches: true,
      batchSizes: async () => (await g.load(id)).queue.batchSizes,
      close: async () => {
        await g.close();
        await session.release();
        rmSync(tmp, { recursive: true, force: true });
      },
    });
  }
  return out;
}

export async function aiBench(opts: AIBenchOptions = {}): Promise<AIBenchResult> {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const n = opts.jobs ?? 20;
  const c = opts.concurrency ?? 8;
  const log = opts.log ?? (() => {});
  await fetchModels(modelsDir);
  const rows: AIBenchRow[] = [];
  const handlerOverhead: Record<string, number> = {};
  for (const w of await workloads(modelsDir)) {
    log(`${w.model}: direct / handler at 1, then ${c} in flight…`);
    const d1 = row(w, "direct", 1, await timeSerial(n, () => w.direct(1)));
    const h1 = row(w, "handler", 1, await timeSerial(n, () => w.handler.run(w.job, ctx)));
    rows.push(d1, h1);
    if (w.directBatches) rows.push(row(w, "direct", c, await timeSerial(Math.ceil(n / 2), () => w.direct(c)), c));
    const sizesBefore = (await w.batchSizes()).length;
    const hc = row(w, "handler", c, await timeConcurrent(n * 4, c, () => w.handler.run(w.job, ctx)));
    const sizes = (await w.batchSizes()).slice(sizesBefore);
    if (sizes.length > 0) hc.meanBatch = round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 2);
    rows.push(hc);
    if (d1.latencyMs.p50 && h1.latencyMs.p50) handlerOverhead[w.model] = round(h1.latencyMs.p50 / d1.latencyMs.p50, 3);
    await w.close();
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: `${cpu.length} x ${cpu[0]?.model ?? "?"}, node ${process.version}`,
    engine: ONNX_ENGINE,
    rows,
    handlerOverhead,
  };
}

export function aiTable(r: AIBenchResult): string {
  const head = ["model", "path", "in flight", "jobs/s", "p50 ms", "p99 ms", "batch"];
  const lines = r.rows.map((x) => [
    x.model,
    x.path,
    String(x.concurrency),
    String(x.jobsPerSec),
    String(x.latencyMs.p50),
    String(x.latencyMs.p99),
    x.meanBatch === undefined ? "" : String(x.meanBatch),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...lines.map(fmt)].join("\n");
}
