/** Prometheus metrics of one worker process (its own registry, served at GET /metrics). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Journal } from "./journal.js";
import { collectProcessMetrics } from "./processMetrics.js";

export function createWorkerMetrics(journal: Journal, tokenName: (token: string) => string) {
  const register = new Registry();
  collectProcessMetrics(register, "azora_worker_process_");
  const m = {
    register,
    jobs: new Gauge({
      name: "azora_worker_jobs",
      help: "Jobs in the journal by role, state and (for finished jobs) outcome",
      labelNames: ["role", "state", "outcome"] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const r of journal.countByState())
          this.set({ role: r.role, state: r.state, outcome: r.outcome ?? "" }, r.n);
      },
    }),
    decisions: new Counter({
      name: "azora_worker_decisions_total",
      help: "Job offers considered, by decision (take or the decline reason)",
      labelNames: ["decision"] as const,
      registers: [register],
    }),
    handlerSeconds: new Histogram({
      name: "azora_worker_handler_seconds",
      help: "Handler wall time per job, by kind and outcome",
      labelNames: ["kind", "outcome"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [register],
    }),
    meteredRequests: new Histogram({
      name: "azora_worker_metered_request_seconds",
      help: "Metered inference (POST /v1/infer): handler wall time per paid request, by outcome",
      labelNames: ["outcome"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [register],
    }),
    receipts: new Counter({
      name: "azora_worker_metered_receipts_total",
      help: "Metered payment receipts by outcome (accepted, missing, refused)",
      labelNames: ["outcome"] as const,
      registers: [register],
    }),
    redeemedWei: new Counter({
      name: "azora_worker_metered_redeemed_wei_total",
      help: "Wei redeemed on chain from metered-payment vouchers",
      registers: [register],
    }),
    txs: new Counter({
      name: "azora_worker_transactions_total",
      help: "Transactions by market action and outcome (would_revert = refused by simulation, nothing sent)",
      labelNames: ["action", "outcome"] as const,
      registers: [register],
    }),
    gasUsed: new Counter({
      name: "azora_worker_gas_used_total",
      help: "Gas used by mined transactions, by action",
      labelNames: ["action"] as const,
      registers: [register],
    }),
    earnings: new Gauge({
      name: "azora_worker_withdrawn_wei",
      help: "Payouts withdrawn from the market since the journal was created, by token (AZR, LEARN)",
      labelNames: ["token"] as const,
      registers: [register],
      collect() {
        this.reset();
        for (const [token, amount] of journal.withdrawn()) this.set({ token: tokenName(token) }, Number(amount));
      },
    }),
    headBlock: new Gauge({ name: "azora_worker_head_block", help: "Newest block seen", registers: [register] }),
    scannedBlock: new Gauge({
      name: "azora_worker_scanned_block",
      help: "Every market event up to this block has been processed",
      registers: [register],
    }),
    progress: new Gauge({
      name: "azora_worker_running_jobs",
      help: "Jobs whose handler is running now",
      registers: [register],
    }),
  };
  return m;
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
