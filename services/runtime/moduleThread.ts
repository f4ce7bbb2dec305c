import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * A worker thread running the module `name` (no extension) next to `base` (the caller's `import.meta.url`): the
 * compiled `.js`, or — when running from TypeScript sources (vitest) — the `.ts` through tsx.
 */
export function spawnModuleThread(base: string, name: string, opts?: Pick<WorkerOptions, "workerData">): Worker {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return new Worker(js, opts);
  const ts = new URL(`./${name}.ts`, base).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}
