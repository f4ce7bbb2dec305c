import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Prometheus metrics of the search service (labels from closed sets only). */
export function createSearchMetrics(register: Registry) {
  return {
    requests: new Counter({
      name: "azora_search_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["route", "status"] as const,
      registers: [register],
    }),
    queries: new Histogram({
      name: "azora_search_query_duration_seconds",
      help: "Search latency by ranking (keyword, hybrid, semantic)",
      labelNames: ["ranking"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [register],
    }),
    tasks: new Counter({
      name: "azora_search_tasks_total",
      help: "Tasks finished by type and status",
      labelNames: ["type", "status"] as const,
      registers: [register],
    }),
    indexedHeight: new Gauge({
      name: "azora_search_indexer_height",
      help: "Last block the chain indexer has indexed",
      registers: [register],
    }),
    chainHead: new Gauge({
      name: "azora_search_indexer_head",
      help: "Chain head the indexer saw",
      registers: [register],
    }),
    indexerDocs: new Counter({
      name: "azora_search_indexer_documents_total",
      help: "Documents the chain indexer wrote, by source",
      labelNames: ["source"] as const,
      registers: [register],
    }),
    bulkEmbeddings: new Counter({
      name: "azora_search_bulk_embedded_texts_total",
      help: "Texts the bulk embedder embedded: source market (bought, verified) or local (fallback), with the reason",
      labelNames: ["source", "reason"] as const,
      registers: [register],
    }),
    receipts: new Counter({
      name: "azora_search_receipts_total",
      help: "Payment receipts by outcome",
      labelNames: ["outcome"] as const,
      registers: [register],
    }),
    redeemedWei: new Counter({
      name: "azora_search_redeemed_wei_total",
      help: "Wei redeemed from vouchers on chain",
      registers: [register],
    }),
  };
}

export type SearchMetrics = ReturnType<typeof createSearchMetrics>;
