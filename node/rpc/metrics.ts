import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { SimulationMetrics } from "./simulation/pool.js";

/** prom-client implementation of the simulation pool's metrics, registered on the node's registry. */
export function createSimulationMetrics(register: Registry): SimulationMetrics {
  const finished = new Counter({
    name: "azora_rpc_simulations_total",
    help: "EVM simulations (eth_call, eth_estimateGas, eth_createAccessList) by outcome: ok, error (revert or failure the client sees), timeout (EVM time budget), busy (queue full), expired (request deadline while queued), failed (worker crash)",
    labelNames: ["kind", "outcome"] as const,
    registers: [register],
  });
  const duration = new Histogram({
    name: "azora_rpc_simulation_duration_seconds",
    help: "Time a simulation ran on its worker",
    labelNames: ["kind"] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
    registers: [register],
  });
  const queue = new Gauge({
    name: "azora_rpc_simulation_queue_length",
    help: "Simulations waiting for a free worker",
    registers: [register],
  });
  const restarts = new Counter({
    name: "azora_rpc_simulation_worker_restarts_total",
    help: "Simulation workers replaced, after a job overran its time budget or the worker died",
    labelNames: ["reason"] as const,
    registers: [register],
  });
  const heap = new Gauge({
    name: "azora_rpc_simulation_worker_heap_bytes",
    help: "A simulation worker's V8 heap (used, total) as it last reported it: outside the main isolate's nodejs_heap_* figures, inside the process's RSS",
    labelNames: ["worker", "kind"] as const,
    registers: [register],
  });
  return {
    finished(kind, outcome, seconds) {
      finished.inc({ kind, outcome });
      if (outcome !== "busy" && outcome !== "expired") duration.observe({ kind }, seconds);
    },
    queueLength(n) {
      queue.set(n);
    },
    workerRestarted(reason) {
      restarts.inc({ reason });
    },
    workerHeap(worker, usedBytes, totalBytes) {
      heap.set({ worker: String(worker), kind: "used" }, usedBytes);
      heap.set({ worker: String(worker), kind: "total" }, totalBytes);
    },
  };
}
