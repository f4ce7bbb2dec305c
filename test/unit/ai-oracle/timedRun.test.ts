import { describe, expect, it } from "vitest";
import { createONNXSession, type ONNXSession, Tensor, timedRun } from "../../../ai-oracle/engine/session.js";
import { buildMLP } from "../../../bench/onnxModels.js";
import { monoUs } from "../../../services/runtime/callTrace.js";

/** Holds the loop for `ms` (the stand-in for work queued before a run, e.g. a metered call's receipt commit). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const feeds = () => ({
  x: new Tensor(
    "float32",
    Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)),
    [2, 16],
  ),
});

describe("timedRun: the model's own time", () => {
  it("does not count work the loop runs before onnxruntime's run (an immediate queued before the call)", async () => {
    const s = await createONNXSession(buildMLP(1));
    try {
      for (let i = 0; i < 3; i++) {
        let blockerEnd = 0;
        // queued before the run, as the metered route queues its commit before an inline run reaches onnxruntime
        setImmediate(() => {
          busy(15);
          blockerEnd = monoUs();
        });
        const r = await timedRun(s, feeds());
        expect(r.outputs.probs.dims).toEqual([2, 3]);
        expect(r.modelMs).toBeGreaterThan(0);
        const start = r.modelEndUs! - r.modelMs * 1e3; // where the trace puts the run's start
        expect(blockerEnd).toBeGreaterThan(0);
        expect(start).toBeGreaterThanOrEqual(blockerEnd); // counted from the call, it would start before the blocker
      }
    } finally {
      await s.release();
    }
  });

  it("counts from the call when the runtime runs the model without an immediate of its own", async () => {
    let ran = { from: 0, to: 0 };
    const sync = {
      run: (): ReturnType<ONNXSession["run"]> => {
        ran = { from: performance.now(), to: 0 };
        busy(5);
        ran.to = performance.now();
        return Promise.resolve({} as Awaited<ReturnType<ONNXSession["run"]>>);
      },
    } as unknown as ONNXSession;
    const r = await timedRun(sync, feeds());
    expect(ran.to).toBeGreaterThan(ran.from);
    expect(r.modelMs).toBeGreaterThanOrEqual(ran.to - ran.from); // the stamp that had not fired is not used
  });
});
