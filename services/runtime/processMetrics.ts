import { collectDefaultMetrics, type Registry } from "prom-client";

/**
 * How often the event-loop lag histogram samples, ms. prom-client's default, 10 ms, is a libuv timer that woke
 * each idle process 100 times a second (README, issue 8: idle wake-ups beside a lone call); at 100 ms the lag
 * metrics keep their names with 10 samples a second.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** prom-client's default process metrics (CPU, memory, GC, handles, event-loop lag) into `register` under `prefix`. */
export function collectProcessMetrics(register: Registry, prefix: string): void {
  collectDefaultMetrics({ register, prefix, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}
