// Every process's default metrics sample the event-loop lag every 100 ms, not prom-client's default 10 ms: that
// sampler is a libuv timer, and at 10 ms it woke each idle process 100 times a second — beside every lone metered
// call (README, issue 8). prom-client does not expose the sampler's period once started, so the option passed is
// what is checked, and that no process registers the default metrics around the one helper that passes it.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";

const calls = vi.hoisted(() => [] as { prefix?: string; eventLoopMonitoringPrecision?: number }[]);
vi.mock("prom-client", async (importOriginal) => {
  const real = await importOriginal<typeof import("prom-client")>();
  return {
    ...real,
    collectDefaultMetrics: (config?: Parameters<typeof real.collectDefaultMetrics>[0]) => {
      calls.push({ prefix: config?.prefix, eventLoopMonitoringPrecision: config?.eventLoopMonitoringPrecision });
      real.collectDefaultMetrics(config);
    },
  };
});

const { createMetrics } = await import("../../../node/metrics.js");
const { createWorkerMetrics } = await import("../../../services/runtime/metrics.js");

const ROOT = resolve(import.meta.dirname, "../../..");
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "web" ? [] : sources(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

describe("process metrics' event-loop lag sampler", () => {
  it("samples every 100 ms in the node and in the worker (one wake-up a 100 ms, not a 10 ms, when idle)", () => {
    calls.length = 0;
    createMetrics(new Registry());
    createWorkerMetrics({} as Parameters<typeof createWorkerMetrics>[0], (t) => t);
    expect(calls.map((c) => c.prefix)).toEqual(["azora_process_", "azora_worker_process_"]);
    for (const c of calls) expect(c.eventLoopMonitoringPrecision).toBe(100);
  });

  it("every service registers its process metrics through collectProcessMetrics", () => {
    const direct = ["node", "services", "ai-oracle", "rpc"]
      .flatMap((d) => sources(join(ROOT, d)))
      .filter((f) => readFileSync(f, "utf8").includes("collectDefaultMetrics("))
      .map((f) => relative(ROOT, f));
    expect(direct).toEqual(["services/runtime/processMetrics.ts"]);
  });
});
