/** Prometheus metrics of the push service. Labels come from bounded sets. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function createPushMetrics(register: Registry) {
  return {
    connections: new Gauge({
      name: "azora_push_connections",
      help: "Open WebSocket connections",
      registers: [register],
    }),
    published: new Counter({
      name: "azora_push_published_total",
      help: "Messages stored and fanned out, by channel kind (user, wallet, topic) and source (http, chain)",
      labelNames: ["kind", "source"] as const,
      registers: [register],
    }),
    deliveries: new Counter({
      name: "azora_push_deliveries_total",
      help: "Messages written to live connections (replays included)",
      registers: [register],
    }),
    acks: new Counter({ name: "azora_push_acks_total", help: "Acknowledgements received", registers: [register] }),
    evictions: new Counter({
      name: "azora_push_slow_evictions_total",
      help: "Connections closed for falling too far behind",
      registers: [register],
    }),
    fanoutSeconds: new Histogram({
      name: "azora_push_fanout_seconds",
      help: "Time to store one message and write it to every live reader",
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [register],
    }),
    webPush: new Counter({
      name: "azora_push_webpush_total",
      help: "Web Push sends by outcome (sent, gone = subscription removed, failed)",
      labelNames: ["outcome"] as const,
      registers: [register],
    }),
    chainBlock: new Gauge({
      name: "azora_push_chain_block",
      help: "Last block whose events were published",
      registers: [register],
    }),
  };
}

export type PushMetrics = ReturnType<typeof createPushMetrics>;
