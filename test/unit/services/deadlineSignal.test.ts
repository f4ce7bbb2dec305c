import { afterEach, describe, expect, it, vi } from "vitest";
import { deadlineContext } from "../../../services/runtime/deadlineSignal.js";

// The metered route's job context makes its timeout signal only when a handler reads it; a reader must get the
// signal `AbortSignal.timeout` made at the call would be by then — counted from the call, not from the read.
describe("deadlineContext", () => {
  afterEach(() => vi.restoreAllMocks());

  it("makes no signal until one is read, then one, timing out at the deadline counted from its creation", () => {
    const timeout = vi.spyOn(AbortSignal, "timeout");
    let t = 1_000;
    const ctx = deadlineContext(100, () => t);
    ctx.progress(0.5);
    expect(timeout).not.toHaveBeenCalled();
    t = 1_040;
    const s = ctx.signal;
    expect(s.aborted).toBe(false);
    expect(timeout).toHaveBeenCalledTimes(1);
    expect(timeout).toHaveBeenCalledWith(60); // what is left of the 100 ms, not 100 from the read
    expect(ctx.signal).toBe(s);
    expect(timeout).toHaveBeenCalledTimes(1);
  });

  it("is aborted with a TimeoutError when read after its deadline", () => {
    let t = 0;
    const ctx = deadlineContext(100, () => t);
    t = 150;
    expect(ctx.signal.aborted).toBe(true);
    expect((ctx.signal.reason as Error).name).toBe("TimeoutError");
    expect(() => ctx.signal.throwIfAborted()).toThrow();
  });

  it("on the real clock, aborts with a TimeoutError once its time is up", async () => {
    const ctx = deadlineContext(20);
    await new Promise((r) => setTimeout(r, 10));
    const s = ctx.signal; // (aborted already if the machine was slower than the deadline: the same outcome)
    if (!s.aborted) await new Promise<void>((r) => s.addEventListener("abort", () => r(), { once: true }));
    expect((s.reason as Error).name).toBe("TimeoutError");
  });
});
