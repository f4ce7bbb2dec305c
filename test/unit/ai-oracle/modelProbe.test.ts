import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  cpuAtImmediate,
  MODEL_PROBE_DISTURB_ENV,
  MODEL_PROBE_ENV,
  MODEL_PROBE_RUNS_ENV,
  MODEL_PROBE_WAIT_ENV,
  modelProbeFile,
  probeModel,
  probeRun,
  probeSpin,
  probeWait,
  sample,
  startInlineProbe,
} from "../../../ai-oracle/engine/modelProbe.js";
import { createONNXSession, inThreadSession, Tensor } from "../../../ai-oracle/engine/session.js";
import { buildMLP } from "../../../bench/onnxModels.js";

/** The MLP's input: two rows of 16. */
const feeds = () => ({ x: new Tensor("float32", new Float32Array(32).fill(0.5), [2, 16]) });

describe("modelProbe: the worker's inline-run probe (a measuring switch)", () => {
  const dir = mkdtempSync(join(tmpdir(), "azora-probe-"));
  afterEach(() => {
    delete process.env[MODEL_PROBE_ENV];
    delete process.env[MODEL_PROBE_RUNS_ENV];
    delete process.env[MODEL_PROBE_WAIT_ENV];
    delete process.env[MODEL_PROBE_DISTURB_ENV];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is off unless its file is in the environment", () => {
    expect(modelProbeFile()).toBeUndefined();
    process.env[MODEL_PROBE_ENV] = join(dir, "p.jsonl");
    expect(modelProbeFile()).toBe(join(dir, "p.jsonl"));
  });

  it("appends one line per call: the call's run and the seven probe runs, each on the CPU the previous one left", async () => {
    const file = join(dir, "runs.jsonl");
    const s = inThreadSession(await createONNXSession(buildMLP(1)));
    try {
      for (let call = 0; call < 2; call++) {
        const a = sample();
        const r = await s.run(feeds());
        const own = probeRun(a, sample(), r.modelMs, s);
        await probeModel(file, s, feeds(), own);
      }
    } finally {
      await s.release();
    }
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    const order = ["own", "hot", "hot3", "gap", "touched", "hot2", "idle5", "idle20"];
    for (const line of lines) expect(Object.keys(line)).toEqual([...order, "waited"]);
    const runs = lines.flatMap((l) => order.map((k) => l[k]));
    expect(runs[0].last).toBe(-1); // the session's first probed run has no previous one
    for (let i = 1; i < runs.length; i++) expect(runs[i].last).toBe(runs[i - 1].cpu1);
    for (const r of runs) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.cpuMs).toBeGreaterThanOrEqual(0);
      expect(r.gcMs).toBeGreaterThanOrEqual(0);
      expect(r.flt).toBeGreaterThanOrEqual(0);
      expect(r.sampleMs).toBeGreaterThanOrEqual(0);
      expect(r.coreMs).toBeLessThanOrEqual(r.cpuMs);
      if (process.platform === "linux") expect(r.cpu1).toBeLessThan(cpus().length);
    }
  });

  it("writes the call's own run alone when the extra runs are off", async () => {
    const file = join(dir, "own.jsonl");
    process.env[MODEL_PROBE_RUNS_ENV] = "0";
    let runs = 0;
    const s = {
      run: async () => {
        runs++;
        return { outputs: {}, modelMs: 1 };
      },
    } as unknown as Parameters<typeof probeModel>[1];
    await probeModel(file, s, {}, probeRun(sample(), sample(), 1, s));
    expect(runs).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")))).toEqual(["own", "waited"]);
  });

  it("startInlineProbe: samples before the run, records it at end, and builds the feeds only after the run's sample", async () => {
    const file = join(dir, "inline.jsonl");
    process.env[MODEL_PROBE_RUNS_ENV] = "0";
    const s = { run: async () => ({ outputs: {}, modelMs: 1 }) } as unknown as Parameters<typeof probeModel>[1];
    const probe = await startInlineProbe(file);
    // the "run": 15 ms of process CPU between the two samples (CPU, not wall: a loaded machine descheduling the
    // test would otherwise leave less than the 10 ms asserted below)
    const burnFrom = process.cpuUsage();
    while (process.cpuUsage(burnFrom).user + process.cpuUsage(burnFrom).system < 15_000) {}
    let built = 0;
    await probe.end(7, s, () => {
      built++;
      return {};
    });
    expect(built).toBe(1);
    const line = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(line)).toEqual(["own", "waited"]);
    expect(line.own.ms).toBe(7);
    expect(line.own.cpuMs).toBeGreaterThan(10);
  });

  it("waits before every second call's own run when asked, and never when not", async () => {
    expect([await probeWait(), await probeWait()]).toEqual([0, 0]);
    process.env[MODEL_PROBE_WAIT_ENV] = "3";
    const waits = [await probeWait(), await probeWait(), await probeWait(), await probeWait()];
    expect(waits.filter((w) => w === 3)).toHaveLength(2);
    expect(waits[0] + waits[1]).toBe(3); // (alternating, whichever call comes first)
  });

  it("keeps what the loop runs before the run out of coreMs (cpuMs has it)", async () => {
    const s = inThreadSession(await createONNXSession(buildMLP(1)));
    try {
      await s.run(feeds()); // (warm)
      const a = sample();
      // An earlier immediate burns ≥ 20 ms of CPU: loop work that lands in the window before the run's immediate.
      setImmediate(() => {
        const u0 = process.cpuUsage();
        for (;;) {
          const u = process.cpuUsage(u0);
          if (u.user + u.system >= 20_000) break;
        }
      });
      const at = cpuAtImmediate();
      const r = await s.run(feeds());
      const run = probeRun(a, sample(), r.modelMs, s, at);
      expect(run.cpuMs - run.coreMs).toBeGreaterThanOrEqual(20);
      expect(run.coreMs).toBeGreaterThanOrEqual(0);
    } finally {
      await s.release();
    }
  });

  it("adds the disturbed runs when asked, and times the spin loop in CPU ms", async () => {
    const file = join(dir, "disturb.jsonl");
    process.env[MODEL_PROBE_DISTURB_ENV] = "1";
    const s = inThreadSession(await createONNXSession(buildMLP(1)));
    try {
      const a = sample();
      const r = await s.run(feeds());
      await probeModel(file, s, feeds(), probeRun(a, sample(), r.modelMs, s), 0, probeSpin(1000));
    } finally {
      await s.release();
    }
    const line = JSON.parse(readFileSync(file, "utf8"));
    const runs = ["own", "hot", "hot3", "gap", "touched", "hot2", "idle5", "idle20", "hot4", "js", "hot5", "fresh"];
    expect(Object.keys(line)).toEqual([...runs, "waited", "spinOwn", "spinHot"]);
    expect(line.spinOwn).toBeGreaterThanOrEqual(0);
    expect(line.spinHot).toBeGreaterThanOrEqual(0);
  });
});
