// Admission to commit, in process: the figure issue 14's per-node CPU goal names. A single-validator
// chain on a real LevelDB in a temp dir (`Chain`, the dev node's `BlockProducer` with its `ChainApp`,
// mempool, decoder and guarded signer, wired as node/node.ts wires them), fed pre-signed raw
// transactions with no JSON-RPC in the way: what a tx costs the node from its bytes to its commit,
// without `rpc_other` (HTTP, JSON, waking an idle node per request) or the load generator's pacing.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { createFeeMarket1559Tx } from "@ethereumjs/tx";
import { Address } from "@ethereumjs/util";
import { getBytes, HDNodeWallet, Interface } from "ethers";
import { Registry } from "prom-client";
import { loadArtifact } from "../contracts/artifacts.js";
import { DEV_MNEMONIC, DEV_VALIDATOR_SEED_HEX, devAccountPath, devnetGenesis } from "../genesis/devnet.js";
import { Chain, type CommittedBlock } from "../node/chain/chain.js";
import { cacheShares, DEFAULT_CONFIG, mempoolOptions } from "../node/config.js";
import { GuardedSigner } from "../node/consensus/signer.js";
import { Ed25519Verifier } from "../node/crypto/ed25519.js";
import type { ChainDB } from "../node/db/chainDb.js";
import { openChainStorage } from "../node/db/storage.js";
import { Mempool, ParallelDecoder } from "../node/mempool/index.js";
import { createMetrics, type Metrics } from "../node/metrics.js";
import { BlockProducer } from "../node/producer/blockProducer.js";
import { StateReaders } from "../node/state/readers.js";
import { TX_STAGES, type TxStage } from "../node/txStages.js";
import { createChainCommon } from "../runtime/evm/common.js";
import { nullLogger } from "../runtime/lib/logger.js";
import { LEARN_ADDRESS, NFT_REGISTRY_ADDRESS } from "../runtime/modules/index.js";
import { bytesToHex, hexToBytes } from "../runtime/primitives/bytes.js";
import { TOKEN_URI } from "./execution.js";
import { heapAllocationWindow, heapSamplingWindow } from "./heapAllocation.js";
import { CPU_GOALS_MICROS, type CpuPerTx, mainThreadCpuSeconds } from "./nodeCpu.js";
import { markdownTable } from "./script.js";
import { round } from "./stats.js";
import { perTxByThread, threadCpuDelta, threadSnapshot, threadTable } from "./threadCpu.js";

const SENDERS = 8;
const MAX_FEE = 10n ** 10n;
const TIP = 10n ** 9n;

export interface PipelineOptions {
  /** Timed txs per workload. */
  txs: number;
  /** Untimed txs per workload before the timed ones (the dev bench warms each workload with 1,000). */
  warmup: number;
  /**
   * Txs admitted before blocks are made from the pool until it is empty; each block takes what the
   * dev node's policy lets it (the block gas limit), so this is the largest block.
   */
  batch: number;
  /** LevelDB writes synced per block (the node's default, `storage.syncWrites`). */
  syncWrites: boolean;
  /**
   * Only the workloads whose names contain one of these (case-insensitive; e.g. `["learn"]`): a
   * `--cpu-prof` of one workload without the others' samples. Undefined: all of them.
   */
  only?: readonly string[];
  /**
   * A directory for a sampling heap profile of each workload's timed window (`<workload>.heapprofile`):
   * where the bytes of `heapBytesPerTx` are allocated. Sampling costs CPU: that run's µs are not comparable.
   */
  heapProfileDir?: string;
  log?: (line: string) => void;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = { txs: 4_000, warmup: 1_000, batch: 500, syncWrites: true };

export interface PipelineFigure {
  name: string;
  txs: number;
  /** Process CPU (every thread, `process.cpuUsage`) per tx, admission to commit (µs). */
  cpuMicros: number;
  /** The main (JavaScript) thread's CPU per tx, from /proc (10 ms ticks; null off Linux). */
  mainThreadMicros: number | null;
  /** The node's own stage clock (`TxStageClock`), per tx (µs). */
  stagesMicros: Record<TxStage, number>;
  /** Process CPU in no stage: the bench's loop, the clock's sampling remainder (µs/tx). */
  unstagedMicros: number;
  /** Main-thread GC pauses per tx (wall µs, from `gc` performance entries). */
  gcPauseMicros: number;
  /**
   * Process CPU per tx by thread group (µs, /proc ticks: main, V8's platform threads — GC helpers and
   * the optimizing compiler —, libuv's pool, …; bench/threadCpu.ts); null off Linux.
   */
  threadsMicros: Record<string, number> | null;
  /**
   * Bytes allocated on the main thread's V8 heap per tx (bench/heapAllocation.ts: not sampled, so not
   * noisy; ArrayBuffer backing stores over 64 bytes are outside it).
   */
  heapBytesPerTx: number;
  txPerSec: number;
  blocks: number;
  txsPerBlock: number;
  goalMicros: number | null;
  /** The timed run on the monotonic clock (µs, `process.hrtime`): the window to slice a `--cpu-prof` profile by. */
  monotonicMicros: [number, number];
  /** Head height before and after the timed run; every timed tx committed with status 1. */
  headFrom: number;
  headTo: number;
}

export interface PipelineResults {
  date: string;
  machine: string;
  loadavg: number[];
  options: Omit<PipelineOptions, "log">;
  decodeWorkers: number;
  figures: PipelineFigure[];
  /** Recipients' balances after the value transfers (each got 1 wei per tx): the value really moved. */
  valueReceived: string;
}

/** A node's block pipeline, in process: what node/node.ts builds for `azora dev`, without the RPC. */
export interface InProcessNode {
  /** The chain's LevelDB (the trie node store reads its misses from it). */
  db: ChainDB;
  chain: Chain;
  mempool: Mempool;
  decoder: ParallelDecoder;
  producer: BlockProducer;
  metrics: Metrics;
  readers: StateReaders;
  close(): Promise<void>;
}

async function openNode(dir: string, syncWrites: boolean): Promise<InProcessNode> {
  const spec = devnetGenesis();
  const common = createChainCommon(spec.chainId);
  const { db, record } = await openChainStorage(join(dir, "chain"), {
    syncWrites,
    maxOpenFiles: DEFAULT_CONFIG.storage.maxOpenFiles,
  });
  const metrics = createMetrics(new Registry());
  // The dev node's share of its default budget (one simulation worker), so the bench reads what the node would.
  const trieCacheBytes = cacheShares(DEFAULT_CONFIG.cacheBytes, 1).trieNodes;
  const chain = await Chain.open(db, spec, common, nullLogger, { trieCacheBytes });
  chain.useCommittedRecord(record);
  db.setBlockWriteWait((write) => metrics.txStages.outside(write));
  const readers = new StateReaders(common, chain.trieStore);
  const nextParams = () => chain.params.at(chain.head.header.number + 1n);
  const mempool = new Mempool(
    mempoolOptions(DEFAULT_CONFIG, nextParams().fees.minBaseFeePerGas, nextParams().gasLimit),
    {
      state: {
        getAccount: async (a) => (await readers.at(chain.headStateRoot)).getAccount(hexToBytes(a as `0x${string}`)),
      },
    },
  );
  const decoder = new ParallelDecoder(
    {
      chainId: spec.chainId,
      maxTxBytes: DEFAULT_CONFIG.mempool.maxTxBytes,
      workers: ParallelDecoder.defaultWorkers(),
    },
    { common, log: nullLogger, stages: metrics.txStages },
  );
  const signer = await GuardedSigner.open({
    stateFile: join(dir, "signer.state"),
    seed: hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`),
    sync: false,
  });
  const producer = new BlockProducer(
    {},
    { chain, mempool, signer, verifier: new Ed25519Verifier({ verifiedCacheSize: 4096 }), log: nullLogger, metrics },
  );
  return {
    db,
    chain,
    mempool,
    decoder,
    producer,
    metrics,
    readers,
    async close() {
      await decoder.close();
      signer.close();
      record.close();
      await db.close();
    },
  };
}

/**
 * What `eth_sendRawTransaction` does after JSON parsing (NodeBackend.sendRawTransaction): decode and
 * recover through the node's decoder, then the mempool's admission under the node's stage clock.
 * The backend itself needs the RPC's simulation workers and readers; this is its body, not a copy of
 * its checks: both are the decoder's and the pool's.
 */
async function admit(node: InProcessNode, raw: Uint8Array): Promise<void> {
  const ptx = await node.decoder.decode(raw);
  const r = await node.metrics.txStages.timeSampled("admission", () => node.mempool.add(ptx));
  if (r.status !== "pending") throw new Error(`pipeline bench: tx ${r.hash} was ${r.status}, not pending`);
}

/** Admits `raws` in batches, making blocks until the pool is empty after each; every tx must succeed. */
export async function run(node: InProcessNode, raws: Uint8Array[], batch: number): Promise<CommittedBlock[]> {
  const blocks: CommittedBlock[] = [];
  for (let i = 0; i < raws.length; i += batch) {
    for (const raw of raws.slice(i, i + batch)) await admit(node, raw);
    while (node.mempool.stats().pending > 0) blocks.push(await node.producer.mineNow());
  }
  const receipts = blocks.flatMap((b) => b.receipts);
  if (receipts.length !== raws.length) {
    throw new Error(`pipeline bench: ${raws.length} txs admitted, ${receipts.length} committed`);
  }
  const failed = receipts.filter((r) => r.status !== 1).length;
  if (failed > 0) throw new Error(`pipeline bench: ${failed} of ${raws.length} txs reverted`);
  return blocks;
}

interface Senders {
  keys: Uint8Array[];
  addresses: string[];
  nonces: bigint[];
  chainId: bigint;
  common: ReturnType<typeof createChainCommon>;
}

function sign(s: Senders, from: number, tx: { to?: string; data?: string; value?: bigint; gasLimit: bigint }) {
  return createFeeMarket1559Tx(
    {
      chainId: s.chainId,
      nonce: s.nonces[from]++,
      to: tx.to as `0x${string}` | undefined,
      data: tx.data === undefined ? undefined : hexToBytes(tx.data as `0x${string}`),
      value: tx.value ?? 0n,
      gasLimit: tx.gasLimit,
      maxFeePerGas: MAX_FEE,
      maxPriorityFeePerGas: TIP,
    },
    { common: s.common },
  )
    .sign(s.keys[from])
    .serialize();
}

/** Distinct fresh recipients, from `offset` on (each workload and its warm-up get their own). */
export function recipients(offset: number, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `0x${(0xbe00000000n + BigInt(offset + i)).toString(16).padStart(40, "0")}`,
  );
}

export type Workload = { name: string; make: (from: number, to: string) => Uint8Array };

/** The workloads' names, in the order they run (`workloads` builds them; `--only` picks from them). */
export const WORKLOAD_NAMES = [
  "Value transfer",
  "ERC-20 transfer (OZ)",
  "LEARN transfer (native)",
  "NFT mint (native)",
  "NFT mint (OZ)",
] as const;

/** Deploys what the workloads need through the pipeline itself (untimed): the dev bench's set-up. */
async function workloads(node: InProcessNode, s: Senders, batch: number): Promise<Workload[]> {
  const token = loadArtifact("TestToken");
  const tokenIface = new Interface(token.abi as string[]);
  const nft = loadArtifact("BenchNFT");
  const registry = new Interface(loadArtifact("INFTRegistry").abi as string[]);
  const setup = [
    sign(s, 0, { data: token.bytecode + tokenIface.encodeDeploy([10n ** 30n]).slice(2), gasLimit: 5_000_000n }),
  ];
  for (let i = 0; i < SENDERS; i++) {
    setup.push(sign(s, i, { data: nft.bytecode, gasLimit: 5_000_000n }));
    const create = registry.encodeFunctionData("createCollection", [`B${i}`, `B${i}`, s.addresses[i], 500]);
    setup.push(sign(s, i, { to: NFT_REGISTRY_ADDRESS.toString(), data: create, gasLimit: 1_000_000n }));
  }
  const receipts = (await run(node, setup, batch)).flatMap((b) => b.receipts);
  const tokenAddress = new Address(receipts[0].contractAddress as Uint8Array).toString();
  const ozNft: string[] = [];
  const nativeNft: string[] = [];
  for (let i = 0; i < SENDERS; i++) {
    ozNft.push(new Address(receipts[1 + 2 * i].contractAddress as Uint8Array).toString());
    // CollectionCreated(address indexed collection, …): the collection is topic 1.
    nativeNft.push(bytesToHex(receipts[2 + 2 * i].logs[0][1][1].subarray(12)));
  }
  const funding = Array.from({ length: SENDERS - 1 }, (_, i) =>
    sign(s, 0, {
      to: tokenAddress,
      data: tokenIface.encodeFunctionData("transfer", [s.addresses[i + 1], 10n ** 27n]),
      gasLimit: 80_000n,
    }),
  );
  await run(node, funding, batch);

  const erc20 = new Interface(loadArtifact("ILearn").abi as string[]);
  const mint = new Interface(["function mint(address to, string uri) returns (uint256)"]);
  const transfer = (to: string) => erc20.encodeFunctionData("transfer", [to, 1n]);
  return [
    { name: WORKLOAD_NAMES[0], make: (f, to) => sign(s, f, { to, value: 1n, gasLimit: 21_000n }) },
    {
      name: WORKLOAD_NAMES[1],
      make: (f, to) => sign(s, f, { to: tokenAddress, data: transfer(to), gasLimit: 80_000n }),
    },
    {
      name: WORKLOAD_NAMES[2],
      make: (f, to) => sign(s, f, { to: LEARN_ADDRESS.toString(), data: transfer(to), gasLimit: 80_000n }),
    },
    {
      name: WORKLOAD_NAMES[3],
      make: (f, to) =>
        sign(s, f, { to: nativeNft[f], data: mint.encodeFunctionData("mint", [to, TOKEN_URI]), gasLimit: 250_000n }),
    },
    {
      name: WORKLOAD_NAMES[4],
      make: (f, to) =>
        sign(s, f, { to: ozNft[f], data: mint.encodeFunctionData("mint", [to, TOKEN_URI]), gasLimit: 250_000n }),
    },
  ];
}

/** The workloads `only` names (see `PipelineOptions.only`); a pattern matching none is an error. */
export function selectWorkloads<W extends { name: string }>(all: readonly W[], only?: readonly string[]): W[] {
  if (only === undefined) return [...all];
  const patterns = only.map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0);
  const unmatched = patterns.filter((p) => !all.some((w) => w.name.toLowerCase().includes(p)));
  if (patterns.length === 0 || unmatched.length > 0) {
    throw new Error(
      `pipeline bench: --only ${patterns.length === 0 ? "(empty)" : unmatched.join(",")} matches no workload of ${all.map((w) => `"${w.name}"`).join(", ")}`,
    );
  }
  return all.filter((w) => patterns.some((p) => w.name.toLowerCase().includes(p)));
}

/** The sum of `addresses`' balances at the head: what the value workload's recipients received. */
export async function balancesAtHead(node: InProcessNode, addresses: readonly string[]): Promise<bigint> {
  const head = await node.readers.at(node.chain.headStateRoot);
  let sum = 0n;
  for (const a of addresses) sum += (await head.getAccount(hexToBytes(a as `0x${string}`))).balance;
  return sum;
}

/** Round-robin over the senders, one fresh recipient per tx. */
export function plan(w: Workload, offset: number, n: number): Uint8Array[] {
  return recipients(offset, n).map((to, i) => w.make(i % SENDERS, to));
}

/** Sums the main thread's GC pauses (ms) while it runs. */
function gcPauses(): { ms: () => number; stop: () => void } {
  let ms = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) ms += e.duration;
  });
  obs.observe({ entryTypes: ["gc"] });
  return { ms: () => ms, stop: () => obs.disconnect() };
}

/** A pipeline node on LevelDB in `dir` (created), the workloads' contracts deployed, `only`'s workloads. */
export async function openWorkloads(
  dir: string,
  opts: Pick<PipelineOptions, "syncWrites" | "batch" | "only">,
): Promise<{ node: InProcessNode; loads: Workload[] }> {
  const node = await openNode(dir, opts.syncWrites);
  try {
    const spec = devnetGenesis();
    const wallets = Array.from({ length: SENDERS }, (_, i) =>
      HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
    );
    const s: Senders = {
      keys: wallets.map((x) => getBytes(x.privateKey)),
      addresses: wallets.map((x) => x.address),
      nonces: new Array(SENDERS).fill(0n),
      chainId: spec.chainId,
      common: node.chain.common,
    };
    return { node, loads: selectWorkloads(await workloads(node, s, opts.batch), opts.only) };
  } catch (e) {
    await node.close();
    throw e;
  }
}

export async function pipelineBench(opts: PipelineOptions): Promise<PipelineResults> {
  const log = opts.log ?? (() => {});
  selectWorkloads(
    WORKLOAD_NAMES.map((name) => ({ name })),
    opts.only,
  ); // a pattern matching nothing fails before any set-up
  const dir = join(tmpdir(), `azora-bench-pipeline-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { node, loads } = await openWorkloads(dir, opts);
  try {
    const figures: PipelineFigure[] = [];
    let offset = 0;
    let valueRecipients: string[] = [];
    for (const w of loads) {
      if (opts.warmup > 0) {
        log(`[pipeline] ${w.name}: ${opts.warmup} warm-up txs (untimed)…`);
        await run(node, plan(w, offset, opts.warmup), opts.batch);
        offset += opts.warmup;
      }
      const raws = plan(w, offset, opts.txs); // signed before the clock starts, as a wallet does
      if (w.name === "Value transfer") valueRecipients = recipients(offset, opts.txs);
      offset += opts.txs;
      log(`[pipeline] ${w.name}: ${opts.txs} txs, admission to commit…`);
      const sampling = opts.heapProfileDir === undefined ? null : await heapSamplingWindow();
      figures.push(await timed(node, w.name, raws, opts.batch));
      if (sampling !== null && opts.heapProfileDir !== undefined) {
        const file = join(opts.heapProfileDir, `${w.name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}.heapprofile`);
        mkdirSync(opts.heapProfileDir, { recursive: true });
        writeFileSync(file, await sampling.stop());
        log(`[pipeline] ${w.name}: heap profile ${file}`);
      }
    }
    const received = await balancesAtHead(node, valueRecipients);
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length}-core ${cpus()[0]?.model ?? "unknown"}, Node ${process.version}`,
      loadavg: loadavg().map((x) => round(x, 2)),
      options: {
        txs: opts.txs,
        warmup: opts.warmup,
        batch: opts.batch,
        syncWrites: opts.syncWrites,
        ...(opts.only === undefined ? {} : { only: opts.only }),
        ...(opts.heapProfileDir === undefined ? {} : { heapProfileDir: opts.heapProfileDir }),
      },
      decodeWorkers: node.decoder.workerCount,
      figures,
      valueReceived: received.toString(),
    };
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function timed(
  node: InProcessNode,
  name: string,
  raws: Uint8Array[],
  batch: number,
): Promise<PipelineFigure> {
  const clock = node.metrics.txStages;
  const headFrom = Number(node.chain.head.header.number);
  const stages0 = clock.secondsByStage();
  const gc = gcPauses();
  const threads0 = threadSnapshot(process.pid);
  const main0 = mainThreadCpuSeconds(process.pid);
  const heap = heapAllocationWindow();
  const wall0 = performance.now();
  const mono0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const blocks = await run(node, raws, batch);
  const cpu = process.cpuUsage(cpu0);
  const mono1 = process.hrtime.bigint();
  const wallSec = (performance.now() - wall0) / 1000;
  const heapBytes = heap.stop();
  const main1 = mainThreadCpuSeconds(process.pid);
  const threads1 = threadSnapshot(process.pid);
  // The observer's entries arrive asynchronously: let them in before reading the sum.
  await new Promise((r) => setImmediate(r));
  gc.stop();
  const stages1 = clock.secondsByStage();
  const n = raws.length;
  const perTx = (sec: number) => round((sec * 1e6) / n, 0);
  const stagesMicros = Object.fromEntries(TX_STAGES.map((st) => [st, perTx(stages1[st] - stages0[st])])) as Record<
    TxStage,
    number
  >;
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const staged = TX_STAGES.reduce((sum, st) => sum + stages1[st] - stages0[st], 0);
  return {
    name,
    txs: n,
    cpuMicros: perTx(cpuSec),
    mainThreadMicros: main0 === null || main1 === null ? null : perTx(main1 - main0),
    stagesMicros,
    unstagedMicros: perTx(Math.max(0, cpuSec - staged)),
    gcPauseMicros: round((gc.ms() * 1000) / n, 0),
    threadsMicros: threads0 === null || threads1 === null ? null : perTxByThread(n, threadCpuDelta(threads0, threads1)),
    heapBytesPerTx: round(heapBytes / n, 0),
    txPerSec: round(n / wallSec, 0),
    blocks: blocks.length,
    txsPerBlock: round(n / blocks.length, 1),
    goalMicros: CPU_GOALS_MICROS[name] ?? null,
    monotonicMicros: [Number(mono0 / 1000n), Number(mono1 / 1000n)],
    headFrom,
    headTo: Number(node.chain.head.header.number),
  };
}

/**
 * One row per workload: µs/tx next to the goal, the node's stage split, GC, heap bytes allocated, rate
 * and blocks; then the CPU by thread group.
 */
export function pipelineTable(r: PipelineResults): string {
  const fmt = (v: number | null) => (v === null ? "—" : v.toLocaleString("en-US"));
  const head = [
    "admission → commit, in-process (µs/tx)",
    "process CPU",
    "goal",
    "main thread",
    ...TX_STAGES,
    "unstaged",
    "GC pauses",
    "heap KB/tx",
    "tx/s",
    "blocks",
    "txs/block",
  ];
  const body = r.figures.map((f) => [
    f.name,
    fmt(f.cpuMicros),
    fmt(f.goalMicros),
    fmt(f.mainThreadMicros),
    ...TX_STAGES.map((st) => fmt(f.stagesMicros[st])),
    fmt(f.unstagedMicros),
    fmt(f.gcPauseMicros),
    (f.heapBytesPerTx / 1024).toFixed(1),
    fmt(f.txPerSec),
    fmt(f.blocks),
    fmt(f.txsPerBlock),
  ]);
  const threads = r.figures.map((f) => ({ name: f.name, threads: f.threadsMicros }));
  if (!threads.some((t) => t.threads)) return markdownTable(head, body);
  return `${markdownTable(head, body)}\n\n${threadTable(threads)}`;
}

/**
 * The pipeline's figures as rows of the full bench's CPU table, under the node-under-HTTP ones: its
 * `rpc_other` column holds what no stage timed here (no RPC runs), its goal is the workload's.
 */
export function pipelineCpuRows(
  r: PipelineResults,
): Array<{ name: string; goal: string; azora: CpuPerTx; anvil: null }> {
  return r.figures.map((f) => ({
    name: `${f.name}: admission → commit, in-process`,
    goal: f.name,
    azora: {
      totalMicros: f.cpuMicros,
      stagesMicros: { ...f.stagesMicros, rpc_other: f.unstagedMicros },
      otherThreadsMicros: f.mainThreadMicros === null ? null : Math.max(0, f.cpuMicros - f.mainThreadMicros),
      gcPauseMicros: f.gcPauseMicros,
      threadsMicros: f.threadsMicros,
    },
    anvil: null,
  }));
}
