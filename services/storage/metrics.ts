/** Prometheus metrics of the gateway and uploads. Labels come from bounded sets (route names, status codes). */
import { Counter, Histogram, type Registry } from "prom-client";

export function createStorageMetrics(register: Registry) {
  return {
    requests: new Counter({
      name: "azora_storage_gateway_requests_total",
      help: "Gateway requests by route and status code",
      labelNames: ["route", "status"] as const,
      registers: [register],
    }),
    requestSeconds: new Histogram({
      name: "azora_storage_gateway_request_seconds",
      help: "Time from request to the last byte sent, by route",
      labelNames: ["route"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [register],
    }),
    bytesSent: new Counter({
      name: "azora_storage_gateway_sent_bytes_total",
      help: "Content bytes sent by the gateway (files and raw blocks)",
      registers: [register],
    }),
    uploads: new Counter({
      name: "azora_storage_uploads_total",
      help: "Finished uploads by method (plain, tus) and outcome (ok, too_large, failed)",
      labelNames: ["method", "outcome"] as const,
      registers: [register],
    }),
    uploadBytes: new Counter({
      name: "azora_storage_upload_bytes_total",
      help: "Bytes imported from finished uploads",
      registers: [register],
    }),
  };
}

export type StorageMetrics = ReturnType<typeof createStorageMetrics>;
