import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { cpuAtImmediate } from "../ai-oracle/engine/modelProbe.js";
import { ONNX_SESSION_OPTIONS } from "../ai-oracle/engine/session.js";
import { positiveInt, readFlags, UsageError } from "./args.js";
import { buildMatMulStack, TEN_MS_MATMUL } from "./onnxModels.js";
import { median } from "./stats.js";

const HELP = `node dist/bench/onnxIdleGap.js [--layers 8] [--iters 150] [--gap-ms 10] [--gap sleep|spin]
    [--session-options '<json>'] [--fetch-output]
The lone call's model run after an idle gap against back to back (issue 8, lone8ort), in one process: per iteration
a gap, then three runs of the bench's matmul model (CPU time of each run alone: from an immediate queued right
before it, as the worker's probe's coreMs). "pen" = p50 of (first run − third run). --session-options is merged
over ONNX_SESSION_OPTIONS (e.g. '{"enableCpuMemArena":false}'); --fetch-output passes a preallocated output
tensor; --gap spin keeps the core busy (a register loop) instead of idle. Prints one JSON line; outHash is the
sha256 of the first run's output bytes (determinism across options).`;

interface Opts {
  layers: number;
  iters: number;
  gapMs: number;
  gap: "sleep" | "spin";
  sessionOptions: ort.InferenceSession.SessionOptions;
  fetchOutput: boolean;
}

function parse(argv: string[]): Opts | null {
  const o: Opts = { layers: 8, iters: 150, gapMs: 10, gap: "sleep", sessionOptions: {}, fetchOutput: false };
  const ok = readFlags(argv, (flag, next) => {
    if (flag === "--layers") o.layers = positiveInt(flag, next(), 64);
    else if (flag === "--iters") o.iters = positiveInt(flag, next(), 100_000);
    else if (flag === "--gap-ms") o.gapMs = positiveInt(flag, next(), 10_000);
    else if (flag === "--gap") {
      const v = next();
      if (v !== "sleep" && v !== "spin") throw new UsageError(`--gap: sleep or spin, not ${v}`);
      o.gap = v;
    } else if (flag === "--session-options") o.sessionOptions = JSON.parse(next()) as Opts["sessionOptions"];
    else if (flag === "--fetch-output") o.fetchOutput = true;
    else throw new UsageError(`unknown option ${flag}`);
  });
  return ok ? o : null;
}

/** Busy for `ms` of wall time without touching memory: the core stays awake, its caches stay as they were. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  let x = 1;
  while (performance.now() < end) for (let i = 0; i < 1000; i++) x = (x * 1_103_515_245 + 12_345) >>> 0;
  if (x === 0.5) console.log(x); // keeps the loop live
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o === null) {
    console.log(HELP);
    return;
  }
  const { rows, width } = TEN_MS_MATMUL;
  const session = await ort.InferenceSession.create(buildMatMulStack({ ...TEN_MS_MATMUL, layers: o.layers }), {
    ...ONNX_SESSION_OPTIONS,
    ...o.sessionOptions,
  });
  const x = new Float32Array(rows * width);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) / 2;
  const feeds = { x: new ort.Tensor("float32", x, [1, rows, width]) };
  const fetches = o.fetchOutput ? { y: new ort.Tensor("float32", new Float32Array(width), [1, width]) } : undefined;
  const run = async (): Promise<{ cpuMs: number; out: ort.Tensor }> => {
    const at = cpuAtImmediate(); // the CPU just before onnxruntime-node's own immediate: the run alone
    const r = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
    const u = process.cpuUsage(at.usage);
    return { cpuMs: (u.user + u.system) / 1e3, out: r.y };
  };
  const y = (await run()).out.data as Float32Array;
  const outHash = createHash("sha256")
    .update(new Uint8Array(y.buffer, y.byteOffset, y.byteLength))
    .digest("hex");
  for (let i = 0; i < 40; i++) await run();
  const first: number[] = [];
  const third: number[] = [];
  const pen: number[] = [];
  for (let i = 0; i < o.iters; i++) {
    if (o.gap === "spin") spin(o.gapMs);
    else await new Promise((r) => setTimeout(r, o.gapMs));
    const a = (await run()).cpuMs;
    await run();
    const c = (await run()).cpuMs;
    first.push(a);
    third.push(c);
    pen.push(a - c);
  }
  const p50 = (xs: number[]) => Number(median(xs).toFixed(3));
  console.log(
    JSON.stringify({
      sessionOptions: o.sessionOptions,
      fetchOutput: o.fetchOutput,
      gap: `${o.gap} ${o.gapMs} ms`,
      layers: o.layers,
      firstMs: p50(first),
      thirdMs: p50(third),
      penMs: p50(pen),
      slower: `${pen.filter((d) => d > 0).length}/${o.iters}`,
      outHash,
      load: loadavg()[0].toFixed(2),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(1);
});
