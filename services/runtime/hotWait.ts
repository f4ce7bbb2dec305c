/**
 * A bounded hot wait (issue 8, the lone call's cold wake-ups): for a few hundred µs the process's event loop keeps
 * polling without blocking — a chain of `setImmediate`s, so libuv polls for I/O with timeout 0 and still serves it
 * — instead of sleeping in `epoll_wait`. On this 2-core VM a process that slept ≥ ~0.2 ms wakes ~0.3 ms late on the
 * next packet (the vCPU halted, the host wakes it: KVM's halt-polling only catches quick wake-ups); a polling loop
 * sees the packet within a loop turn. What Go's scheduler (spinning Ms), SO_BUSY_POLL and the guest haltpoll
 * driver do, bounded: the price is CPU (a core busy for the wait's length), so it runs only while a process waits
 * for one known, near event (worker: the client's next call after an answer; client: a lone call's answer).
 *
 * The immediates are ref'd on purpose: an unref'd immediate does not keep libuv's idle handle on, so the loop would
 * block in epoll again. The bound is what keeps a process from being held open by it.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";

/**
 * The worker's default (`http.hotWaitUs`, `--http-hot-wait-us`): µs it polls after a lone `/v1/infer` answer. A
 * useful value covers the caller's turn-around (the answer read and hashed, its next request built and written:
 * ~0.3–0.5 ms in the services bench), e.g. 1,000; it costs at most that much CPU per answer, nothing when calls
 * overlap. Off (0) by default: on the loaded 2-core VM it was measured on (load 12–16) it made lone calls slower,
 * not faster (README, issue 8); a quiet machine's reading is still to be taken.
 */
export const HOT_WAIT_US = 0;

export class HotWait {
  private until = 0;
  private running = false;
  /** Loop turns polled so far (tests: that it ran). */
  turns = 0;

  /** Polls for the next `us` µs (extending a wait in progress); `us` ≤ 0 does nothing. */
  extend(us: number): void {
    if (!(us > 0)) return;
    this.until = Math.max(this.until, performance.now() + us / 1000);
    if (this.running) return;
    this.running = true;
    setImmediate(this.turn);
  }

  /** Ends the wait at the next loop turn (the awaited event came, or another wait took over). */
  stop(): void {
    this.until = 0;
  }

  get active(): boolean {
    return this.running;
  }

  private readonly turn = (): void => {
    this.turns++;
    if (performance.now() < this.until) setImmediate(this.turn);
    else this.running = false;
  };
}

/**
 * After an answer to a request `match` picks (the worker: `POST /v1/infer/…`), with no other request in flight,
 * the server's process polls for `us` µs, so a caller's next call (a client making calls one after another) finds
 * it awake. A request arriving ends the wait: from there its own work keeps the loop busy, and a model run on a
 * thread gets the core. `us` 0: never.
 */
export function hotWaitAfterAnswers(
  server: Server,
  us: number,
  match: (req: IncomingMessage) => boolean,
  wait: HotWait = new HotWait(),
): HotWait {
  if (!(us > 0)) return wait;
  let inFlight = 0;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    wait.stop();
    const hot = match(req);
    // 'close' comes once per response, answered or aborted
    res.once("close", () => {
      inFlight--;
      if (hot && inFlight === 0) wait.extend(us);
    });
  });
  return wait;
}
