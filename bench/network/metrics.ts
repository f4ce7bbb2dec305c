// "Where the time goes": the nodes' Prometheus /metrics scraped before and after a phase, differenced, summed over
// the live nodes. Consensus step durations come from the driver (node/metrics.ts): a step lasts from the moment the
// node entered it until it entered the next one —
//   propose:   new round → own prevote sent (waiting for, receiving and executing the proposal)
//   prevote:   own prevote → own precommit (collecting +2/3 prevotes)
//   precommit: own precommit → block committed (collecting +2/3 precommits, then finalize: execute + persist)
//   commit:    block committed → next height's round 0 (the empty-block interval / waiting for txs)
import http from "node:http";
import { round } from "../stats.js";
import type { NetNode } from "./localnet.js";

export type Samples = Map<string, number>;

export function scrape(node: NetNode, timeoutMs = 5000): Promise<Samples | null> {
  return new Promise((resolve) => {
    const req = http.get(`${node.rpcUrl}/metrics`, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", () => resolve(null));
      res.on("end", () => {
        if (res.statusCode !== 200) {
          resolve(null);
          return;
        }
        const out: Samples = new Map();
        for (const line of Buffer.concat(chunks).toString("utf8").split("\n")) {
          if (line === "" || line.startsWith("#")) continue;
          const sp = line.lastIndexOf(" ");
          const v = Number(line.slice(sp + 1));
          if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
        }
        resolve(out);
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

export async function scrapeAll(nodes: NetNode[]): Promise<Map<number, Samples>> {
  const out = new Map<number, Samples>();
  await Promise.all(
    nodes.map(async (n) => {
      const s = await scrape(n);
      if (s !== null) out.set(n.index, s);
    }),
  );
  return out;
}

/** after − before, per node present in both, summed over those nodes. */
function sumDelta(before: Map<number, Samples>, after: Map<number, Samples>): { sum: Samples; nodes: number } {
  const sum: Samples = new Map();
  let nodes = 0;
  for (const [i, a] of after) {
    const b = before.get(i);
    if (b === undefined) continue;
    nodes++;
    for (const [k, v] of a) sum.set(k, (sum.get(k) ?? 0) + v - (b.get(k) ?? 0));
  }
  return { sum, nodes };
}

function labelsOf(key: string): Record<string, string> {
  const m = /\{(.*)\}$/.exec(key);
  const out: Record<string, string> = {};
  if (m === null) return out;
  for (const part of m[1].match(/(\w+)="((?:[^"\\]|\\.)*)"/g) ?? []) {
    const eq = part.indexOf("=");
    out[part.slice(0, eq)] = part.slice(eq + 2, -1);
  }
  return out;
}

interface Histo {
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

function histogram(s: Samples, name: string, match: Record<string, string> = {}): Histo {
  const buckets: Array<[number, number]> = [];
  let sum = 0;
  let count = 0;
  const ok = (key: string) => Object.entries(match).every(([k, v]) => labelsOf(key)[k] === v);
  for (const [key, v] of s) {
    if (key.startsWith(`${name}_bucket{`) && ok(key)) {
      const le = labelsOf(key).le;
      buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), v]);
    } else if ((key === `${name}_sum` || key.startsWith(`${name}_sum{`)) && ok(key)) sum += v;
    else if ((key === `${name}_count` || key.startsWith(`${name}_count{`)) && ok(key)) count += v;
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return { buckets, sum, count };
}

/** Prometheus-style quantile estimate (linear inside the bucket). */
function quantile(h: Histo, q: number): number | null {
  if (h.count <= 0 || h.buckets.length === 0) return null;
  const rank = q * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe;
      const inBucket = c - prevCount;
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

export interface StepTime {
  count: number;
  meanMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface TimeBreakdown {
  nodes: number;
  /** Per consensus step, over all live nodes. */
  steps: Record<string, StepTime>;
  /** Heights decided (summed over nodes) and how many of them needed round ≥ 1. */
  decided: { count: number; roundAboveZero: number; maxRoundBucket: string | null };
  /** Commit certificates lacking a validator's precommit (not an error: +2/3 suffice), per validator index. */
  missedPrecommitsInCommits: Record<string, number>;
  /** Gossip outcomes summed over nodes: topic/result → count. */
  gossip: Record<string, number>;
  gossipQueueDrops: number;
  /** eth_sendRawTransaction outcomes (accepted / rejection codes). */
  txSubmissions: Record<string, number>;
  /** Server-side handling time of eth_sendRawTransaction. */
  sendRawTxServerMs: { meanMs: number | null; p99Ms: number | null };
  blockSyncRequests: number;
  /** Per-node CPU per height, by stage (null when no node committed a height in the window). */
  perHeight: PerHeightCpu | null;
}

/** The node's per-stage CPU counters, in the order the bench prints them (tx stages, then consensus stages). */
export const CPU_STAGES = [
  ["tx", "decode"],
  ["tx", "recover"],
  ["tx", "admission"],
  ["tx", "execution"],
  ["tx", "seal"],
  ["tx", "persist"],
  ["tx", "block_other"],
  ["consensus", "propose"],
  ["consensus", "verify_proposal"],
  ["consensus", "commit"],
  ["consensus", "sign"],
  ["consensus", "wal"],
  ["consensus", "gossip_in"],
  ["consensus", "gossip_out"],
] as const;

export interface PerHeightCpu {
  /** Nodes that committed at least one height in the window (the means are over these). */
  nodes: number;
  /** Heights committed per node (mean). */
  heights: number;
  /** Transactions per height (mean). */
  txsPerHeight: number;
  /** Process CPU (user + system, prom-client's counter) per height per node, ms (mean over nodes). */
  cpuMs: number;
  /** Per stage: CPU ms per height per node (mean over nodes), from azora_{tx,consensus}_stage_seconds_total. */
  stagesMs: Record<string, number>;
  /** cpuMs less every stage: the driver's state machine, libp2p (streams, noise, gossipsub heartbeats), RPC, GC. */
  otherMs: number;
  /** Each node's CPU ms per height and heights. */
  byNode: Array<{ node: number; heights: number; cpuMs: number }>;
}

function stageKey(kind: "tx" | "consensus", stage: string): string {
  return `azora_${kind}_stage_seconds_total{stage="${stage}"}`;
}

/**
 * CPU per height per node: each node's process CPU and stage counters over the heights it committed in the
 * window, then the mean over the nodes (what one validator of this network spends on a height).
 */
export function perHeightCpu(before: Map<number, Samples>, after: Map<number, Samples>): PerHeightCpu | null {
  const rows: Array<{ node: number; heights: number; txs: number; cpuS: number; stages: Record<string, number> }> = [];
  for (const [i, a] of after) {
    const b = before.get(i);
    if (b === undefined) continue;
    const d = (k: string) => (a.get(k) ?? 0) - (b.get(k) ?? 0);
    const heights = d("azora_chain_head_height");
    if (heights <= 0) continue;
    const stages: Record<string, number> = {};
    for (const [kind, stage] of CPU_STAGES) stages[stage] = d(stageKey(kind, stage));
    rows.push({
      node: i,
      heights,
      txs: d("azora_transactions_committed_total"),
      cpuS: d("azora_process_process_cpu_seconds_total"),
      stages,
    });
  }
  if (rows.length === 0) return null;
  const mean = (f: (r: (typeof rows)[number]) => number) => rows.reduce((acc, r) => acc + f(r), 0) / rows.length;
  const stagesMs: Record<string, number> = {};
  for (const [, stage] of CPU_STAGES)
    stagesMs[stage] = round(
      mean((r) => (r.stages[stage] * 1000) / r.heights),
      2,
    );
  const cpuMs = mean((r) => (r.cpuS * 1000) / r.heights);
  const named = Object.values(stagesMs).reduce((acc, v) => acc + v, 0);
  return {
    nodes: rows.length,
    heights: round(
      mean((r) => r.heights),
      1,
    ),
    txsPerHeight: round(
      mean((r) => r.txs / r.heights),
      1,
    ),
    cpuMs: round(cpuMs, 2),
    stagesMs,
    otherMs: round(cpuMs - named, 2),
    byNode: rows.map((r) => ({ node: r.node, heights: r.heights, cpuMs: round((r.cpuS * 1000) / r.heights, 2) })),
  };
}

/** One line: CPU ms per height per node, the total and the stages above 0.05 ms. */
export function perHeightLine(p: PerHeightCpu): string {
  const parts = Object.entries(p.stagesMs)
    .filter(([, v]) => v >= 0.05)
    .map(([k, v]) => `${k} ${v}`);
  return (
    `${p.cpuMs} ms CPU/height/node (${p.heights} heights, ${p.txsPerHeight} tx/height): ` +
    `${parts.join(", ")}, other ${p.otherMs}`
  );
}

export function breakdown(before: Map<number, Samples>, after: Map<number, Samples>): TimeBreakdown {
  const { sum, nodes } = sumDelta(before, after);
  const steps: Record<string, StepTime> = {};
  for (const step of ["propose", "prevote", "precommit", "commit"]) {
    const h = histogram(sum, "azora_consensus_step_duration_seconds", { step });
    const p50 = quantile(h, 0.5);
    const p99 = quantile(h, 0.99);
    steps[step] = {
      count: h.count,
      meanMs: h.count > 0 ? round((h.sum / h.count) * 1000, 1) : null,
      p50Ms: p50 === null ? null : round(p50 * 1000, 1),
      p99Ms: p99 === null ? null : round(p99 * 1000, 1),
    };
  }
  const d = histogram(sum, "azora_consensus_decided_round");
  const r0 = d.buckets.find(([le]) => le === 0)?.[1] ?? 0;
  let maxBucket: string | null = null;
  let prev = 0;
  for (const [le, c] of d.buckets) {
    if (c > prev) maxBucket = le === Number.POSITIVE_INFINITY ? "+Inf" : `≤${le}`;
    prev = c;
  }
  const missed: Record<string, number> = {};
  const gossip: Record<string, number> = {};
  const submissions: Record<string, number> = {};
  let drops = 0;
  let syncs = 0;
  for (const [key, v] of sum) {
    if (v === 0) continue;
    const l = labelsOf(key);
    if (key.startsWith("azora_consensus_missed_blocks_total{")) missed[l.validator] = (missed[l.validator] ?? 0) + v;
    else if (key.startsWith("azora_gossip_messages_total{"))
      gossip[`${l.topic}/${l.result}`] = (gossip[`${l.topic}/${l.result}`] ?? 0) + v;
    else if (key.startsWith("azora_gossip_queue_dropped_total{")) drops += v;
    else if (key.startsWith("azora_tx_submissions_total{")) submissions[l.result] = (submissions[l.result] ?? 0) + v;
    else if (
      key.startsWith("azora_reqresp_requests_total{") &&
      /block/i.test(l.protocol ?? "") &&
      l.direction === "outbound"
    )
      syncs += v;
  }
  const rpc = histogram(sum, "azora_rpc_request_duration_seconds", { method: "eth_sendRawTransaction" });
  const rpcP99 = quantile(rpc, 0.99);
  return {
    nodes,
    steps,
    decided: { count: d.count, roundAboveZero: d.count - r0, maxRoundBucket: maxBucket },
    missedPrecommitsInCommits: missed,
    gossip,
    gossipQueueDrops: drops,
    txSubmissions: submissions,
    sendRawTxServerMs: {
      meanMs: rpc.count > 0 ? round((rpc.sum / rpc.count) * 1000, 2) : null,
      p99Ms: rpcP99 === null ? null : round(rpcP99 * 1000, 2),
    },
    blockSyncRequests: syncs,
    perHeight: perHeightCpu(before, after),
  };
}

/** One line: mean (p99) ms per step. */
export function stepLine(b: TimeBreakdown): string {
  return ["propose", "prevote", "precommit", "commit"]
    .map((s) => {
      const t = b.steps[s];
      return `${s} ${t.meanMs ?? "—"} (p99 ${t.p99Ms ?? "—"})`;
    })
    .join(", ");
}
