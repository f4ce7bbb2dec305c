import type { JobContext } from "./handler.js";

/**
 * A job context whose abort signal times out `ms` after this call, made only when something reads it: the
 * `ai/onnx` handler never does, and `AbortSignal.timeout` costs ~0.06 ms on an event loop that was idle between
 * lone calls (a timer, an async resource and a weak reference per call), on the metered call's path before its
 * model. A reader gets the signal `AbortSignal.timeout(ms)` made at this call would be by then: aborted with a
 * `TimeoutError` once the deadline has passed, else timing out at that same deadline.
 */
export function deadlineContext(ms: number, now: () => number = () => performance.now()): JobContext {
  const deadline = now() + ms;
  let signal: AbortSignal | undefined;
  return {
    get signal(): AbortSignal {
      if (signal === undefined) {
        const left = deadline - now();
        signal =
          left > 0
            ? AbortSignal.timeout(Math.ceil(left))
            : AbortSignal.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
      }
      return signal;
    },
    progress: () => {},
  };
}
