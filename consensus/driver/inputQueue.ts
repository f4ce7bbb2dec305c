/**
 * The driver's one serialised queue: every input (peer messages, timeouts, own values, synced blocks)
 * runs as a job here, alone and in order, so the state machine, the WAL and the app's open execution
 * never see two inputs interleaved. A failed job is reported and the queue goes on; once stopped, queued
 * jobs are skipped.
 */
export class InputQueue {
  private tail: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly onError: (e: unknown) => void) {}

  /** Runs `job` after every job queued before it; resolves when it has run (or was skipped). */
  enqueue(job: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (e) {
        this.onError(e);
      }
    };
    const next = this.tail.then(run, run);
    this.tail = next;
    return next;
  }

  /** Like `enqueue`, but a failure of `job` rejects the returned promise (and still leaves the queue running). */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.stopped) throw new Error("consensus stopped");
      return job();
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Skips every job not yet started; resolves when the one running (if any) has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.tail;
  }

  /** Resolves once every job queued so far has run. */
  drained(): Promise<void> {
    return this.tail;
  }
}
