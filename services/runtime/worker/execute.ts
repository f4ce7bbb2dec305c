/**
 * Runs one job through its handler: the deadline and shutdown abort it, progress is journaled and logged as
 * a progress line for long jobs, a JobInputError becomes the canonical error result, and the time is
 * recorded. Anything else the handler throws is a transient failure the worker may retry.
 */
import type { Logger } from "../../../runtime/lib/logger.js";
import type { StorageBackend } from "../../storage/backend.js";
import type { JobHandler, JobInput, JobOutput } from "../handler.js";
import { errorResult, isJobInputError } from "../result.js";

export interface ExecuteOptions {
  signal: AbortSignal;
  logger: Logger;
  /** Minimum interval between two progress lines. */
  progressLogMs: number;
  onProgress?: (fraction: number, note?: string) => void;
  nowMs?: () => number;
  storage?: StorageBackend;
}

export interface Executed {
  output: JobOutput;
  /** The handler refused the input (the output is an error result). */
  inputError?: string;
  ms: number;
}

export async function execute(handler: JobHandler, job: JobInput, opts: ExecuteOptions): Promise<Executed> {
  const now = opts.nowMs ?? Date.now;
  const started = now();
  let lastLog = started;
  const ctx = {
    signal: opts.signal,
    storage: opts.storage,
    progress(fraction: number, note?: string) {
      const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
      opts.onProgress?.(f, note);
      const t = now();
      if (t - lastLog < opts.progressLogMs) return;
      lastLog = t;
      const elapsedS = (t - started) / 1000;
      opts.logger.info("job progress", {
        job: job.id,
        kind: job.kind,
        pct: Math.round(f * 1000) / 10,
        elapsedS: Math.round(elapsedS * 10) / 10,
        etaS: f > 0 ? Math.round(((elapsedS * (1 - f)) / f) * 10) / 10 : undefined,
        note,
      });
    },
  };
  try {
    const output = await handler.run(job, ctx);
    return { output, ms: now() - started };
  } catch (e) {
    if (isJobInputError(e) && !opts.signal.aborted) {
      opts.logger.info("job input refused", { job: job.id, kind: job.kind, code: e.code, detail: e.detail });
      return { output: errorResult(e.code, e.detail), inputError: e.code, ms: now() - started };
    }
    throw e;
  }
}
