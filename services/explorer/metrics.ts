import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Prometheus metrics of the explorer (labels from closed sets only). */
export function createExplorerMetrics(register: Registry) {
  return {
    indexedHeight: new Gauge({
      name: "azora_explorer_indexed_height",
      help: "Last block whose rows are all stored (the cursor)",
      registers: [register],
    }),
    chainHead: new Gauge({
      name: "azora_explorer_chain_head",
      help: "Newest head the node announced",
      registers: [register],
    }),
    lagBlocks: new Gauge({
      name: "azora_explorer_lag_blocks",
      help: "Blocks the indexer is behind the head (catch-up progress)",
      registers: [register],
    }),
    blocks: new Counter({ name: "azora_explorer_blocks_indexed_total", help: "Blocks indexed", registers: [register] }),
    txs: new Counter({
      name: "azora_explorer_transactions_indexed_total",
      help: "Transactions indexed",
      registers: [register],
    }),
    batchSeconds: new Histogram({
      name: "azora_explorer_batch_duration_seconds",
      help: "Time to fetch and store one batch of blocks, by phase",
      labelNames: ["phase"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [register],
    }),
    indexerErrors: new Counter({
      name: "azora_explorer_indexer_errors_total",
      help: "Batches that failed and were retried",
      registers: [register],
    }),
    requests: new Counter({
      name: "azora_explorer_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["route", "status"] as const,
      registers: [register],
    }),
    verifications: new Counter({
      name: "azora_explorer_verifications_total",
      help: "Verification attempts by outcome (full, partial, refused)",
      labelNames: ["outcome"] as const,
      registers: [register],
    }),
  };
}

export type ExplorerMetrics = ReturnType<typeof createExplorerMetrics>;
