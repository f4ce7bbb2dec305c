import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "../services/runtime/processMetrics.js";
import type { CommittedBlock } from "./chain/chain.js";
import { CONSENSUS_STAGES, TX_STAGES, TxStageClock } from "./txStages.js";

/** Every Prometheus metric of the node, created once per process from one registry. */
export function createMetrics(register: Registry = new Registry()) {
  collectProcessMetrics(register, "azora_process_");
  const headHeight = new Gauge({
    name: "azora_chain_head_height",
    help: "Height of the last committed block",
    registers: [register],
  });
  const blockTxs = new Histogram({
    name: "azora_block_transactions",
    help: "Transactions per committed block",
    buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2000],
    registers: [register],
  });
  const blockGasUsed = new Counter({
    name: "azora_block_gas_used_total",
    help: "Gas used by committed blocks",
    registers: [register],
  });
  const txsCommitted = new Counter({
    name: "azora_transactions_committed_total",
    help: "Transactions in committed blocks",
    registers: [register],
  });
  const blockProduction = new Histogram({
    name: "azora_block_production_seconds",
    help: "Time to select, execute, sign and persist one block",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [register],
  });
  const mempoolSize = new Gauge({
    name: "azora_mempool_transactions",
    help: "Transactions in the pool",
    labelNames: ["state"] as const,
    registers: [register],
  });
  const txSubmissions = new Counter({
    name: "azora_tx_submissions_total",
    help: "eth_sendRawTransaction outcomes",
    labelNames: ["result"] as const,
    registers: [register],
  });
  const callCache = new Counter({
    name: "azora_rpc_call_cache_total",
    help: "eth_call answers from the per-block result cache (hit) or run on a simulation worker (miss)",
    labelNames: ["result"] as const,
    registers: [register],
  });
  const callCacheInvalidations = new Counter({
    name: "azora_rpc_call_cache_invalidations_total",
    help: "eth_call answers dropped from the head cache as the head moved: block_context (read the block), written (a block changed what they read), pending (still running), reset (rewind)",
    labelNames: ["reason"] as const,
    registers: [register],
  });
  const rpcDuration = new Histogram({
    name: "azora_rpc_request_duration_seconds",
    help: "JSON-RPC method handling time",
    labelNames: ["method", "ok"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [register],
  });

  const consensusHeight = new Gauge({
    name: "azora_consensus_height",
    help: "Height consensus is working on",
    registers: [register],
  });
  const consensusRound = new Gauge({
    name: "azora_consensus_round",
    help: "Current consensus round",
    registers: [register],
  });
  const decidedRound = new Histogram({
    name: "azora_consensus_decided_round",
    help: "Round in which each height was decided (0 = first try)",
    buckets: [0, 1, 2, 3, 5, 10],
    registers: [register],
  });
  const stepDuration = new Histogram({
    name: "azora_consensus_step_duration_seconds",
    help: "Time spent in each consensus step",
    labelNames: ["step"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
    registers: [register],
  });
  const missedBlocks = new Counter({
    name: "azora_consensus_missed_blocks_total",
    help: "Committed blocks whose commit certificate lacks a validator's precommit",
    labelNames: ["validator"] as const,
    registers: [register],
  });
  const lastSignedHeight = new Gauge({
    name: "azora_consensus_last_signed_height",
    help: "Last height this validator signed a vote for",
    registers: [register],
  });
  const futureMessages = new Gauge({
    name: "azora_consensus_future_messages",
    help: "Verified votes and proposals held for heights above this node's (bounded buffer)",
    registers: [register],
  });
  const futureBytes = new Gauge({
    name: "azora_consensus_future_bytes",
    help: "Bytes of the votes and proposals held for heights above this node's",
    registers: [register],
  });
  const txStages = new TxStageClock();
  new Counter({
    name: "azora_tx_stage_seconds_total",
    help: "Main-thread time spent per stage of the transaction pipeline (decode, recover, admission, execution, seal, persist, block_other)",
    labelNames: ["stage"] as const,
    registers: [register],
    collect() {
      this.reset();
      const seconds = txStages.secondsByStage();
      for (const stage of TX_STAGES) this.inc({ stage }, seconds[stage]);
    },
  });
  new Counter({
    name: "azora_consensus_stage_seconds_total",
    help: "Process CPU time spent per stage of consensus work (propose, verify_proposal, commit, sign, wal, gossip_in, gossip_out), beside the tx stages",
    labelNames: ["stage"] as const,
    registers: [register],
    collect() {
      this.reset();
      const seconds = txStages.secondsByConsensusStage();
      for (const stage of CONSENSUS_STAGES) this.inc({ stage }, seconds[stage]);
    },
  });
  const blockFinalized = (block: CommittedBlock): void => {
    headHeight.set(Number(block.header.number));
    blockTxs.observe(block.txHashes.length);
    blockGasUsed.inc(Number(block.header.gasUsed));
    txsCommitted.inc(block.txHashes.length);
  };
  let stepName = "";
  let stepStarted = 0;

  return {
    register,
    consensus: {
      step(height: bigint, round: number, step: string, nowMs: number): void {
        consensusHeight.set(Number(height));
        consensusRound.set(round);
        if (stepName !== "") stepDuration.observe({ step: stepName }, (nowMs - stepStarted) / 1000);
        stepName = step;
        stepStarted = nowMs;
      },
      decided(round: number, validatorCount: number, signers: number[]): void {
        decidedRound.observe(round);
        const signed = new Set(signers);
        for (let i = 0; i < validatorCount; i++) if (!signed.has(i)) missedBlocks.inc({ validator: String(i) });
      },
      signed(height: bigint): void {
        lastSignedHeight.set(Number(height));
      },
      futureBuffer(messages: number, bytes: number): void {
        futureMessages.set(messages);
        futureBytes.set(bytes);
      },
    },
    headHeight,
    /** Per-stage time of the transaction pipeline (`azora_tx_stage_seconds_total`). */
    txStages,
    txSubmissions,
    callCache,
    callCacheInvalidations,
    mempoolSize,
    /** A block this node produced (dev mode): its figures and how long it took. */
    blockCommitted(block: CommittedBlock, seconds: number): void {
      blockFinalized(block);
      blockProduction.observe(seconds);
    },
    /** A block committed through consensus (network mode): its figures. */
    blockFinalized,
    rpcObserve(method: string, seconds: number, ok: boolean): void {
      rpcDuration.observe({ method, ok: ok ? "true" : "false" }, seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
