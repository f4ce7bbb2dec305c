// Command-line flags of `npm run bench`. A small hand-written parser: `--azora-args "--no-sync-writes"` takes a
// value that starts with a dash, which node:util parseArgs refuses.
import type { HeadSource } from "./watcher.js";

export type Target = "azora" | "anvil";
export const TARGETS: readonly Target[] = ["azora", "anvil"];

export interface BenchParams {
  only: Target | null;
  txs: number;
  senders: number;
  callers: number;
  calls: number;
  /**
   * Which clients run the eth_call phase: node:http (bench/rpc.ts, the phase's only client before 2026-12-07),
   * the lean raw-socket client (bench/leanRpc.ts), or both one after the other on the same node (the default).
   */
  callClient: "http" | "net" | "both";
  /**
   * Untimed transactions of the same workload before each timed transfer phase (and as many untimed calls
   * before the eth_call phase), against Azora and Anvil alike: 0 measures a fresh node (cold, JIT warm-up
   * included), more measures steady state.
   */
  warmupTxs: number;
  /** How the transfer phases learn of new blocks: a newHeads subscription, or eth_blockNumber every 5 ms. */
  watch: HeadSource;
  out: string;
  azoraArgs: string[];
  anvilArgs: string[];
  /** Anvil in automine (a block as soon as a tx waits, as `azora dev` by default) instead of `--block-time 1`. */
  anvilAutomine: boolean;
  /** A phase fails when no awaited tx is included for this long. */
  stallTimeoutMs: number;
  /** Azora only: native ledger phases (LEARN transfers, NFT mints) vs OpenZeppelin contracts. */
  ledger: boolean;
  /** Azora only: admission to commit in process (bench/pipeline.ts), --txs timed after --warmup-txs per workload. */
  pipeline: boolean;
  /** Azora only, with the ledger phases: native modules vs contracts in the block executor, in process (6). */
  execution: boolean;
  /** Services phase: jobs through the market with worker processes (and the AI models direct vs market). */
  services: boolean;
  /** Run the search phase (11). */
  search: boolean;
  /** Run only the services phase. */
  servicesOnly: boolean;
  /** Lifecycles in the services phase's no-work run. */
  servicesJobs: number;
  /** Services phase without the AI models (lifecycle and 10 ms job only). */
  servicesNoAI: boolean;
  servicesMeteredOnly: boolean;
  /** Services phase with one transaction per market call (no postMany / claimMany / submitMany / acceptMany). */
  servicesNoBatch: boolean;
  /** Extra arguments for the services phase's no-work `azora worker`. */
  workerArgs: string[];
  /** Tracing phase: debug_traceTransaction (callTracer) per second, Azora vs Anvil. */
  tracing: boolean;
  /** Run only the tracing phase. */
  tracingOnly: boolean;
  /** Traces per target and workload in the tracing phase. */
  traces: number;
  /** Concurrent callers in the tracing phase. */
  traceCallers: number;
  /** Storage phase: the IPFS gateway vs @fastify/static on the same segments (bench/storage.ts). */
  storage: boolean;
  /** Video phase: video/hls transcode speed per rendition (bench/video.ts). */
  video: boolean;
  /** Run only the storage and video phases. */
  mediaOnly: boolean;
}

export const HELP = `Usage: npm run bench -- [options]
       node dist/bench/run.js [options]        (after \`npm run build\`)

Runs the same workload against a fresh \`azora dev\` node and a fresh Anvil, one after the other, and prints
a table (figure | Azora | Anvil | Azora/Anvil). Phases per target:
  1. value transfers   pre-signed type-2 txs from --senders concurrent senders (eth_sendRawTransaction)
  2. ERC-20 transfers  TestToken.transfer(recipient, 1), same pattern
  3. eth_call          TestToken.balanceOf(addr) at latest, --callers concurrent callers (node:http client)
  3b. eth_call         the same through a lean raw-socket client (--call-client)
Azora only, then a second table (figure | native module | OpenZeppelin contract | ratio):
  4. LEARN transfers   the native ERC-20 at 0x…0A02, same pattern as phase 2
  5. NFT mints         mint(recipient, ipfs-uri) on a native collection per sender vs an OZ ERC721URIStorage each
Then (6) execution only in-process, and (7) the services phase on a fresh azora node with \`azora worker\`
processes: market lifecycles per second and gas, a 10 ms inference job through the market vs direct (overhead),
and each shipped model through the market next to calling it directly. Then (8) storage: the IPFS gateway vs
@fastify/static serving the same ~1 MB segments, (9) video: video/hls transcode speed per rendition, (10)
tracing: debug_traceTransaction with callTracer per second on a 2-of-3 Safe execution and on a proxy → router →
vault transaction, on a fresh azora dev and a fresh Anvil in the same run, outputs compared, and (11) search:
Azora Search (embedded and PostgreSQL) beside MiniSearch on Debian's package descriptions.

Options:
  --only <azora|anvil>   run one target only
  --txs <n>              transactions per transfer phase (default 2000)
  --senders <n>          concurrent sender accounts, dev accounts 0..n-1 (default 8, max 10)
  --callers <n>          concurrent eth_call callers (default 20)
  --calls <n>            eth_calls in total (default 20000)
  --call-client <c>      the eth_call phase's client: http (node:http, bench/rpc.ts: the only one before
                         2026-12-07; ~70–110 µs of client CPU a call, the phase's ceiling on 2 cores), net (a
                         lean keep-alive client on raw sockets, bench/leanRpc.ts, phase 3b) or both (default:
                         3 then 3b on the same node, same calls, every answer checked by both)
  --warmup-txs <n>       before each timed phase, n txs (calls) of the same workload untimed, on every target,
                         so the figures are steady state, not a fresh node's JIT warm-up (default 1000;
                         0 = cold figures of a fresh node)
  --watch <how>          how the transfer phases see new blocks: subscribe (default; eth_subscribe newHeads
                         over WebSocket) or poll (eth_blockNumber every 5 ms, the method before 2026-12-06:
                         the polls wake the node ~200 times a second and their CPU is counted per tx)
  --out <file>           JSON result (default bench/results/latest.json; a dated copy is written next to it)
  --azora-args "<args>"  extra arguments for \`azora dev\` (e.g. "--no-sync-writes" or "--block-time 1000")
  --anvil-args "<args>"  extra arguments for anvil (default run: anvil --port P --block-time 1 --silent)
  --anvil-automine       run Anvil in automine (its default; as azora dev) instead of --block-time 1
  --stall-timeout <ms>   fail a phase when no tx is included for this long (default 30000)
  --no-ledger            skip the native-ledger phases (4 and 5)
  --no-pipeline          skip admission → commit in-process (6b: bench/pipeline.ts, --txs per workload)
  --no-execution         skip execution only in-process (6: native modules vs contracts in the block executor)
  --no-services          skip the services phase (7)
  --no-search            skip the search phase (11: npm run bench:search alone; bench/search.ts)
  --services-only        run only the services phase
  --no-tracing           skip the tracing phase (10)
  --tracing-only         run only the tracing phase
  --traces <n>           traces per target and workload in the tracing phase (default 2000)
  --trace-callers <n>    concurrent callers in the tracing phase (default 4)
  --services-jobs <n>    lifecycles in the services phase's no-work run (default 300)
  --services-no-ai       services phase without the shipped models (lifecycle and 10 ms job only)
  --services-metered-only
                         services phase (2b) alone: the 10 ms model direct, free over the worker's HTTP and
                         metered, interleaved (--services-jobs n: n/2 calls per path one at a time and in flight)
  --services-no-batch    services phase with one transaction per market call (requesters without postMany /
                         acceptMany, workers with --max-batch 1): the baseline of the batch calls
  --no-storage           skip the storage phase (8: IPFS gateway vs @fastify/static, TTFB and MB/s per segment)
  --no-video             skip the video phase (9: video/hls transcode speed per rendition, needs ffmpeg)
  --media-only           run only the storage and video phases
  --worker-args "<args>" extra arguments for the services phase's workers (e.g. "--cpu-profile F")
  -h, --help             show this help
`;

/** Enough for the figures to level off (README, issue 14: warm-up of the dev-node bench). */
export const DEFAULT_WARMUP_TXS = 1000;

export class UsageError extends Error {}

/**
 * Walks `argv` as `--flag value` or `--flag=value`, calling `handle` with each flag and a `next()` that
 * takes its value (UsageError when there is none). Returns false when help (`-h`, `--help`) was asked for.
 */
export function readFlags(argv: string[], handle: (flag: string, next: () => string) => void): boolean {
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    if (flag === "-h" || flag === "--help") return false;
    handle(flag, () => {
      if (value !== undefined) return value;
      i++;
      if (i >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[i];
    });
  }
  return true;
}

export function nonNegativeInt(flag: string, v: string, max = 10_000_000): number {
  return v === "0" ? 0 : positiveInt(flag, v, max);
}

export function positiveInt(flag: string, v: string, max = 10_000_000): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer in [1, ${max}]`);
  return n;
}

/** `"--a --b 1"` → `["--a", "--b", "1"]`: extra arguments for a process, given as one flag value. */
export function splitArgs(v: string): string[] {
  return v.split(/\s+/).filter((s) => s.length > 0);
}

/** Parses argv (without node and script); returns null when help was asked for. */
export function parseArgs(argv: string[]): BenchParams | null {
  const p: BenchParams = {
    only: null,
    txs: 2000,
    senders: 8,
    callers: 20,
    calls: 20_000,
    callClient: "both",
    warmupTxs: DEFAULT_WARMUP_TXS,
    watch: "subscribe",
    out: "bench/results/latest.json",
    azoraArgs: [],
    anvilArgs: [],
    anvilAutomine: false,
    stallTimeoutMs: 30_000,
    ledger: true,
    pipeline: true,
    execution: true,
    services: true,
    search: true,
    servicesOnly: false,
    servicesJobs: 300,
    servicesNoAI: false,
    servicesMeteredOnly: false,
    servicesNoBatch: false,
    storage: true,
    video: true,
    mediaOnly: false,
    workerArgs: [],
    tracing: true,
    tracingOnly: false,
    traces: 2000,
    traceCallers: 4,
  };
  const complete = readFlags(argv, (flag, next) => {
    switch (flag) {
      case "--only": {
        const v = next();
        if (v !== "azora" && v !== "anvil") throw new UsageError("--only must be azora or anvil");
        p.only = v;
        break;
      }
      case "--txs":
        p.txs = positiveInt(flag, next());
        break;
      case "--senders":
        p.senders = positiveInt(flag, next(), 10);
        break;
      case "--callers":
        p.callers = positiveInt(flag, next(), 1000);
        break;
      case "--calls":
        p.calls = positiveInt(flag, next());
        break;
      case "--call-client": {
        const v = next();
        if (v !== "http" && v !== "net" && v !== "both")
          throw new UsageError("--call-client must be http, net or both");
        p.callClient = v;
        break;
      }
      case "--warmup-txs":
        p.warmupTxs = nonNegativeInt(flag, next());
        break;
      case "--watch": {
        const v = next();
        if (v !== "subscribe" && v !== "poll") throw new UsageError("--watch must be subscribe or poll");
        p.watch = v;
        break;
      }
      case "--out":
        p.out = next();
        break;
      case "--azora-args":
        p.azoraArgs = splitArgs(next());
        break;
      case "--anvil-args":
        p.anvilArgs = splitArgs(next());
        break;
      case "--anvil-automine":
        p.anvilAutomine = true;
        break;
      case "--no-execution":
        p.execution = false;
        break;
      case "--no-pipeline":
        p.pipeline = false;
        break;
      case "--no-ledger":
        p.ledger = false;
        break;
      case "--no-services":
        p.services = false;
        break;
      case "--no-search":
        p.search = false;
        break;
      case "--services-only":
        p.servicesOnly = true;
        break;
      case "--worker-args":
        p.workerArgs = splitArgs(next());
        break;
      case "--services-no-ai":
        p.servicesNoAI = true;
        break;
      case "--services-metered-only":
        p.servicesMeteredOnly = true;
        break;
      case "--services-no-batch":
        p.servicesNoBatch = true;
        break;
      case "--services-jobs":
        p.servicesJobs = positiveInt(flag, next(), 100_000);
        break;
      case "--no-tracing":
        p.tracing = false;
        break;
      case "--tracing-only":
        p.tracingOnly = true;
        break;
      case "--traces":
        p.traces = positiveInt(flag, next());
        break;
      case "--trace-callers":
        p.traceCallers = positiveInt(flag, next(), 256);
        break;
      case "--no-storage":
        p.storage = false;
        break;
      case "--no-video":
        p.video = false;
        break;
      case "--media-only":
        p.mediaOnly = true;
        break;
      case "--stall-timeout":
        p.stallTimeoutMs = positiveInt(flag, next(), 3_600_000);
        break;
      default:
        throw new UsageError(`unknown option ${flag} (see --help)`);
    }
  });
  if (!complete) return null;
  if (p.txs < p.senders) throw new UsageError("--txs must be at least --senders");
  return p;
}
