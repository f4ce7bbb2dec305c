/**
 * `test/sha256`: a deterministic built-in kind for tests, benchmarks and trying the market without models.
 * Output: `{"sha256":"0x…","size":N}` of the input. Spec parameters shape the work so the runtime can be
 * exercised like a real worker: `sleepMs` (a long job that reports progress and honours abort), `spinMs`
 * (CPU-bound work, e.g. the 10 ms job of the bench). An empty input is refused (INPUT_EMPTY).
 */
import { createHash } from "node:crypto";
import { type JobContext, type JobHandler, type JobInput, JobInputError, type JobOutput } from "../handler.js";
import { canonicalJSON } from "../spec.js";

export const TEST_HASH_KIND = "test/sha256";
const MAX_WORK_MS = 600_000;

function param(spec: Readonly<Record<string, unknown>>, name: string): number {
  const v = spec[name];
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_WORK_MS)
    throw new JobInputError("PARAM_INVALID", `${name} must be an integer in [0, ${MAX_WORK_MS}]`);
  return v;
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003;
  if (x < 0) throw new Error("unreachable");
}

export function createTestHashHandler(): JobHandler {
  return {
    kinds: [TEST_HASH_KIND],
    engine: `azora-test-sha256/1 node-${process.versions.node}`,
    async run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
      const sleepMs = param(job.spec, "sleepMs");
      const spinMs = param(job.spec, "spinMs");
      if (job.input.length === 0) throw new JobInputError("INPUT_EMPTY", "the input is empty");
      if (spinMs > 0) spin(spinMs);
      const stepMs = 100;
      for (let waited = 0; waited < sleepMs; waited += stepMs) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error("aborted");
        await new Promise((r) => setTimeout(r, Math.min(stepMs, sleepMs - waited)));
        ctx.progress(Math.min(1, (waited + stepMs) / sleepMs), "sleeping");
      }
      const sha256 = `0x${createHash("sha256").update(job.input).digest("hex")}`;
      return {
        bytes: new TextEncoder().encode(canonicalJSON({ sha256, size: job.input.length })),
        contentType: "application/json",
      };
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return Buffer.from(own.bytes).equals(Buffer.from(submitted));
    },
  };
}
