import { Counter, Gauge, type Registry } from "prom-client";
import type { SyncMetrics } from "./blockSync.js";

/** prom-client implementation of `SyncMetrics`, registered on the node's registry. */
export function createSyncMetrics(register: Registry): SyncMetrics {
  const requests = new Counter({
    name: "azora_sync_requests_total",
    help: "Block-sync exchanges (status, blocks) by result: ok, or the failure they counted as",
    labelNames: ["kind", "result"] as const,
    registers: [register],
  });
  const applied = new Counter({
    name: "azora_sync_blocks_applied_total",
    help: "Blocks committed through block sync",
    registers: [register],
  });
  const stageSeconds = new Counter({
    name: "azora_sync_seconds_total",
    help: "Wall seconds of the block-sync loop by stage: request (waiting for blocks), verify, apply",
    labelNames: ["stage"] as const,
    registers: [register],
  });
  const active = new Gauge({
    name: "azora_sync_active",
    help: "1 while block sync is fetching or applying blocks",
    registers: [register],
  });
  return {
    onRequest(kind, result) {
      requests.inc({ kind, result });
    },
    onBlocksApplied(count) {
      applied.inc(count);
    },
    onStage(stage, ms) {
      stageSeconds.inc({ stage }, ms / 1000);
    },
    setActive(on) {
      active.set(on ? 1 : 0);
    },
  };
}
