/**
 * Runs tasks one at a time in call order. A task called while none is pending starts at once, inside
 * the call (its synchronous part — a signature, a page-cache write — runs there, not a microtask
 * later, so a caller's synchronous CPU timer sees it); otherwise it waits for the tasks before it to
 * settle. A failed task rejects its own promise only: the queue goes on.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Tasks called and not yet settled (each is counted down a microtask after it settles). */
  private pending = 0;

  run<T>(task: () => T | Promise<T>): Promise<T> {
    let result: Promise<T>;
    if (this.pending === 0) {
      try {
        result = Promise.resolve(task());
      } catch (e) {
        result = Promise.reject(e);
      }
    } else {
      result = this.tail.then(task);
    }
    this.pending++;
    this.tail = result.then(
      () => {
        this.pending--;
      },
      () => {
        this.pending--;
      },
    );
    return result;
  }
}
