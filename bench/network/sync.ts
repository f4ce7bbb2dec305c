// `bench:network --only sync`: how fast a fresh full node catches up by block sync (issue 14's goal: ≥ 2,000
// blocks/s of empty blocks, ≥ 5,000 tx/s of replayed transactions).
//
// The source chain is made untimed by one validator (empty-block interval 10 ms, heights back to back): first
// `emptyBlocks` empty blocks, then `loadedBlocks` bursts of `txsPerBlock` signed value transfers, each burst waited
// for (so the blocks of the loaded part hold about that many txs, empty heights between them). The validator is
// then restarted without its key — a full node holding the chain, which serves it and makes no new blocks — so
// the target stays put. Only then does the fresh full node (its own process, libp2p on 127.0.0.1) start; the bench
// polls its height and its process CPU (/proc) and reads its sync metrics at the end. Nothing is cached between
// runs: every run makes a new chain in a new temp dir.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { hexToBigInt, sleep } from "../rpc.js";
import { round } from "../stats.js";
import { devSenders, feesOfStep, signTransfer } from "./load.js";
import { type Localnet, type NetNode, startLocalnet, waitReady } from "./localnet.js";
import { scrape } from "./metrics.js";
import type { Row } from "./report.js";

export const SYNC_GOALS = { emptyBlocksPerSec: 2000, txPerSec: 5000 } as const;

/** Poll period of the syncing node's height (each poll is one cheap JSON-RPC call to it). */
const POLL_MS = 20;
/** A sync that gains no height for this long has stalled. */
const STALL_MS = 30_000;
const SOURCE_READY_MS = 60_000;

export interface SyncBenchOptions {
  root: string;
  cli: string;
  keep: boolean;
  /** Empty blocks of the source chain. */
  emptyBlocks: number;
  /** Bursts of transfers after the empty part (≈ blocks with txs). */
  loadedBlocks: number;
  txsPerBlock: number;
  /** The syncing node's `storage.syncWrites` (false: no fsync per block — what the fsyncs cost). */
  syncWrites: boolean;
  /** Extra Node.js flags of the syncing node only (e.g. `--cpu-prof`). */
  nodeFlags: string[];
  /** Extra Node.js flags of the serving node (restarted as a full node) only, e.g. `--cpu-prof` in another dir. */
  serverFlags?: string[];
  log: (msg: string) => void;
}

export interface SyncWindow {
  blocks: number;
  txs: number;
  sec: number;
  blocksPerSec: number;
  txPerSec: number;
  /** The syncing node's process CPU (user + system) in the window. */
  cpuSec: number;
  cpuMsPerBlock: number;
  /** The serving node's process CPU per block in the window (what answering the blocks requests costs), ms. */
  sourceCpuMsPerBlock: number;
  /** Window CPU / its txs (block overhead included), null without txs. */
  cpuUsPerTx: number | null;
}

export interface SyncResult {
  source: { emptyEnd: number; head: number; txs: number; buildSec: number };
  /** From spawning the syncing node to its first synced block (process start, DB, libp2p, first status + batch). */
  timeToFirstBlockSec: number;
  empty: SyncWindow;
  loaded: SyncWindow;
  total: SyncWindow;
  /** Wall seconds of the node's sync loop by stage (`azora_sync_seconds_total`), null when it does not export it. */
  stages: Record<string, number> | null;
  rssMiB: number | null;
}

interface Sample {
  t: number;
  height: number;
  cpu: number;
  /** The serving node's process CPU. */
  sourceCpu: number;
}

export async function runSyncBench(o: SyncBenchOptions): Promise<SyncResult> {
  const net = await startLocalnet({
    label: "sync",
    root: o.root,
    cli: o.cli,
    validators: 1,
    fullNodes: 1,
    emptyBlockIntervalMs: 10,
    minBlockIntervalMs: 0,
    netns: null,
    keep: o.keep,
    log: o.log,
  });
  try {
    const source = await buildSource(net, o);
    o.log(
      `[sync] source chain: ${source.emptyEnd} empty blocks, then ${source.head - source.emptyEnd} blocks with ` +
        `${source.txs} value transfers (made in ${source.buildSec} s, untimed); serving it from a full node`,
    );
    const server = await restartAsFullNode(net, o.serverFlags ?? []);
    // The validator may commit a height more while it stops; the restarted node makes none.
    const head = Number(hexToBigInt(await server.rpc.call<string>("eth_blockNumber")));
    if (head < source.head) throw new Error(`the source restarted at height ${head}, below ${source.head}`);
    source.head = head;
    const txsAt = await txCounts(server, source.emptyEnd + 1, head);

    if (!o.syncWrites) setSyncWrites(join(net.dir, "net", "node1"), false);
    o.log(
      `[sync] starting a fresh full node; it syncs ${head} blocks${o.syncWrites ? "" : " (storage.syncWrites off)"}`,
    );
    const t0 = performance.now();
    const node = await net.startHome(1, o.nodeFlags);
    const samples = await follow(node, server, head, t0);
    const after = await scrape(node);
    const rss = node.rssMiB();
    const synced = await node.rpc.call<{ hash: string }>("eth_getBlockByNumber", [`0x${head.toString(16)}`, false]);
    const want = await server.rpc.call<{ hash: string }>("eth_getBlockByNumber", [`0x${head.toString(16)}`, false]);
    if (synced.hash !== want.hash) throw new Error(`block ${head} differs: ${synced.hash} ≠ ${want.hash}`);

    const first = samples.find((s) => s.height > 0) as Sample;
    const atEmptyEnd = samples.find((s) => s.height >= source.emptyEnd) as Sample;
    const last = samples[samples.length - 1];
    const txsIn = (a: Sample, b: Sample) => sumTxs(txsAt, source.emptyEnd + 1, a.height + 1, b.height);
    return {
      source,
      timeToFirstBlockSec: round(first.t / 1000, 2),
      empty: windowOf(first, atEmptyEnd, txsIn(first, atEmptyEnd)),
      loaded: windowOf(atEmptyEnd, last, txsIn(atEmptyEnd, last)),
      total: windowOf(first, last, txsIn(first, last)),
      stages: after === null ? null : stagesOf(after),
      rssMiB: rss === null ? null : round(rss, 1),
    };
  } finally {
    const how = await net.stop();
    o.log(`[sync] stopped: ${how.join(", ")}`);
  }
}

/** The untimed source chain: empty blocks, then bursts of signed transfers. */
async function buildSource(net: Localnet, o: SyncBenchOptions): Promise<SyncResult["source"]> {
  const t0 = performance.now();
  await waitReady(net, 1, SOURCE_READY_MS);
  const v = net.nodes[0];
  const height = async () => Number(hexToBigInt(await v.rpc.call<string>("eth_blockNumber")));
  let last = performance.now();
  let h = await height();
  while (h < o.emptyBlocks) {
    await sleep(200);
    const now = await height();
    if (now > h) last = performance.now();
    else if (performance.now() - last > STALL_MS) throw new Error(`the source chain stalled at height ${h}`);
    h = now;
  }
  const emptyEnd = await height();
  const senders = await devSenders();
  const nonces = await Promise.all(
    senders.map(async (s) =>
      Number(hexToBigInt(await v.rpc.call<string>("eth_getTransactionCount", [s.address, "pending"]))),
    ),
  );
  const fee = feesOfStep(0);
  let txs = 0;
  for (let b = 0; b < o.loadedBlocks; b++) {
    const raws: string[] = [];
    for (let i = 0; i < o.txsPerBlock; i++) {
      const k = i % senders.length;
      raws.push(signTransfer(net.chainId, senders[k], nonces[k]++, fee).raw);
    }
    await Promise.all(raws.map((raw) => v.rpc.call("eth_sendRawTransaction", [raw])));
    txs += raws.length;
    await waitIncluded(
      v,
      senders.map((s) => s.address),
      nonces,
    );
  }
  return { emptyEnd, head: await height(), txs, buildSec: round((performance.now() - t0) / 1000, 1) };
}

async function waitIncluded(v: NetNode, addresses: string[], nonces: number[]): Promise<void> {
  const deadline = performance.now() + STALL_MS;
  for (;;) {
    const mined = await Promise.all(
      addresses.map(async (a) =>
        Number(hexToBigInt(await v.rpc.call<string>("eth_getTransactionCount", [a, "latest"]))),
      ),
    );
    if (mined.every((n, i) => n >= nonces[i])) return;
    if (performance.now() > deadline) throw new Error("the source chain did not include a burst of transfers in 30 s");
    await sleep(2);
  }
}

/** Stops validator 0 and starts its home again without the validator key: it serves the chain, makes no blocks. */
async function restartAsFullNode(net: Localnet, flags: string[]): Promise<NetNode> {
  const v = net.nodes[0];
  await v.stop();
  const cfgFile = join(v.home, "config.json");
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as { validatorKeyFile?: string };
  delete cfg.validatorKeyFile;
  writeFileSync(cfgFile, `${JSON.stringify(cfg, null, 2)}\n`);
  renameSync(join(v.home, "validator_key.json"), join(v.home, "validator_key.json.off"));
  return net.startHome(0, flags);
}

function setSyncWrites(home: string, on: boolean): void {
  const cfgFile = join(home, "config.json");
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as { storage?: Record<string, unknown> };
  cfg.storage = { ...cfg.storage, syncWrites: on };
  writeFileSync(cfgFile, `${JSON.stringify(cfg, null, 2)}\n`);
}

/** txs[i] = transactions in block `from + i`. */
async function txCounts(node: NetNode, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let h = from; h <= to; h += 64) {
    const part = await Promise.all(
      Array.from({ length: Math.min(64, to - h + 1) }, (_, i) =>
        node.rpc.call<string>("eth_getBlockTransactionCountByNumber", [`0x${(h + i).toString(16)}`]),
      ),
    );
    for (const c of part) out.push(Number(hexToBigInt(c)));
  }
  return out;
}

/** Transactions in blocks [a, b] (txs[0] is block `base`). */
function sumTxs(txs: number[], base: number, a: number, b: number): number {
  let n = 0;
  for (let h = Math.max(a, base); h <= b; h++) n += txs[h - base] ?? 0;
  return n;
}

/** Polls the syncing node's height and CPU (and the serving node's CPU) until it reaches `head`; t in ms since `t0` (its spawn). */
async function follow(node: NetNode, server: NetNode, head: number, t0: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  let lastGain = performance.now();
  let prev = -1;
  for (;;) {
    const height = Number(hexToBigInt(await node.rpc.call<string>("eth_blockNumber")));
    const now = performance.now();
    samples.push({
      t: now - t0,
      height,
      cpu: node.cpuSeconds() ?? Number.NaN,
      sourceCpu: server.cpuSeconds() ?? Number.NaN,
    });
    if (height >= head) return samples;
    if (height > prev) {
      prev = height;
      lastGain = now;
    } else if (now - lastGain > STALL_MS) throw new Error(`the syncing node stalled at height ${height} of ${head}`);
    await sleep(POLL_MS);
  }
}

function windowOf(a: Sample, b: Sample, txs: number): SyncWindow {
  const blocks = b.height - a.height;
  const sec = (b.t - a.t) / 1000;
  const cpuSec = b.cpu - a.cpu;
  return {
    blocks,
    txs,
    sec: round(sec, 3),
    blocksPerSec: round(blocks / Math.max(sec, 1e-3), 0),
    txPerSec: round(txs / Math.max(sec, 1e-3), 0),
    cpuSec: round(cpuSec, 2),
    cpuMsPerBlock: round((cpuSec * 1000) / Math.max(blocks, 1), 3),
    sourceCpuMsPerBlock: round(((b.sourceCpu - a.sourceCpu) * 1000) / Math.max(blocks, 1), 3),
    cpuUsPerTx: txs === 0 ? null : round((cpuSec * 1e6) / txs, 1),
  };
}

function stagesOf(s: Map<string, number>): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (const [k, v] of s) {
    const m = /^azora_sync_seconds_total\{stage="(\w+)"\}$/.exec(k);
    if (m !== null) out[m[1]] = round(v, 3);
  }
  return Object.keys(out).length === 0 ? null : out;
}

export function syncRows(r: SyncResult | null): Row[] {
  const met = (v: number | undefined, goal: number) => (v === undefined ? null : v >= goal);
  return [
    {
      figure: "sync: empty blocks/s",
      measured: r === null ? "—" : `${r.empty.blocksPerSec} (${r.empty.blocks} in ${r.empty.sec} s)`,
      goal: `≥ ${SYNC_GOALS.emptyBlocksPerSec} (issue 14)`,
      met: met(r?.empty.blocksPerSec, SYNC_GOALS.emptyBlocksPerSec),
    },
    {
      figure: "sync: replayed tx/s",
      measured:
        r === null ? "—" : `${r.loaded.txPerSec} (${r.loaded.txs} txs, ${r.loaded.blocks} blocks in ${r.loaded.sec} s)`,
      goal: `≥ ${SYNC_GOALS.txPerSec} (issue 14)`,
      met: met(r?.loaded.txPerSec, SYNC_GOALS.txPerSec),
    },
    {
      figure: "sync: loaded blocks/s",
      measured: r === null ? "—" : `${r.loaded.blocksPerSec}`,
      goal: "",
      met: null,
    },
    {
      figure: "sync: node CPU per block, empty / loaded",
      measured: r === null ? "—" : `${r.empty.cpuMsPerBlock} / ${r.loaded.cpuMsPerBlock} ms`,
      goal: "",
      met: null,
    },
    {
      figure: "sync: node CPU per replayed tx",
      measured: r === null || r.loaded.cpuUsPerTx === null ? "—" : `${r.loaded.cpuUsPerTx} µs`,
      goal: "",
      met: null,
    },
    {
      figure: "sync: time to first block",
      measured: r === null ? "—" : `${r.timeToFirstBlockSec} s`,
      goal: "",
      met: null,
    },
  ];
}

/** One line: where the sync loop's wall time went (stage seconds from the node's metrics). */
export function syncStagesLine(r: SyncResult): string {
  if (r.stages === null) return "the node exports no sync stage times";
  const total = Object.values(r.stages).reduce((a, b) => a + b, 0);
  return Object.entries(r.stages)
    .map(([k, v]) => `${k} ${v} s (${round((100 * v) / Math.max(total, 1e-9), 0)} %)`)
    .join(", ");
}
