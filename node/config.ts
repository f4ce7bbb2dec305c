import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { AzoraError } from "../runtime/lib/errors.js";
import { DEFAULT_MAX_OPEN_FILES, MIN_MAX_OPEN_FILES } from "./db/chainDb.js";
import { STARTUP_CHECK_MIN_BLOCKS } from "./db/storage.js";
import { DEFAULT_HEAP_GROWING_PERCENT, MAX_HEAP_GROWING_PERCENT } from "./heapGrowth.js";
import { LOG_LEVELS, type LogLevel } from "./logger.js";
import { DEFAULT_MEMPOOL_OPTIONS, type MempoolOptions } from "./mempool/index.js";

/**
 * JSON-RPC server and the limits that keep one client's requests from stopping the node (README,
 * "JSON-RPC limits"). Each key has a flag of the same name (`--rpc-<kebab-case>`).
 */
export interface RPCConfig {
  host: string;
  port: number;
  /** Largest request body / WebSocket message. */
  bodyLimitBytes: number;
  /** Most calls in one batch (geth: rpc.batch-request-limit). */
  batchLimit: number;
  /** Cost units one batch may use: 1 per call, 5 per simulation, 10 per log query. */
  batchMaxCost: number;
  /** Bytes of one response, and of a batch's responses together (geth: rpc.batch-response-max-size). */
  maxResponseBytes: number;
  /** Time one request or batch may take, waiting for a simulation slot included. */
  requestTimeoutMs: number;
  /** Gas one eth_call / eth_estimateGas / eth_createAccessList may use (geth: rpc.gascap). */
  gasCap: number;
  /** Wall-clock budget of one simulation (geth: rpc.evmtimeout); 0 = none. */
  evmTimeoutMs: number;
  /** Simulation worker threads; unset = cores − 1 (1 to 4). */
  evmWorkers?: number;
  /** Simulations waiting for a worker at most; more are refused as busy. */
  evmQueue: number;
  /** debug_trace* running at once node-wide (the others wait their turn, round-robin by client). */
  traceConcurrency: number;
  /** Bytes of one trace's JSON: past it the trace stops with -32005 instead of filling memory. */
  traceMaxBytes: number;
  /** Blocks one eth_getLogs / filter query may span. */
  logsMaxBlockRange: number;
  /** Logs one eth_getLogs / filter query may return. */
  logsMaxResults: number;
  /** eth_call answers at the head kept across blocks that did not change what they read; 0 = off. */
  callCacheEntries: number;
  /** Polling filters in all, and per client (remote address). */
  maxFilters: number;
  maxFiltersPerClient: number;
  /** eth_subscribe subscriptions per WebSocket connection, and per client over all its connections. */
  maxSubscriptionsPerConnection: number;
  maxSubscriptionsPerClient: number;
  /** WebSocket connections in all, and per client. */
  wsMaxConnections: number;
  wsMaxConnectionsPerClient: number;
  /**
   * Plain JSON-RPC POSTs answered by the keep-alive front on the port's sockets before Node's HTTP server
   * (`rpc/transport/httpFront.ts`); false = every request through Node's HTTP server as before the front.
   */
  httpFront: boolean;
}

export const DEFAULT_RPC_CONFIG: RPCConfig = {
  host: "127.0.0.1",
  port: 8545,
  bodyLimitBytes: 5 * 1024 * 1024,
  batchLimit: 1000,
  batchMaxCost: 5000,
  maxResponseBytes: 25_000_000,
  requestTimeoutMs: 10_000,
  gasCap: 50_000_000,
  evmTimeoutMs: 5000,
  evmWorkers: undefined,
  evmQueue: 1024,
  traceConcurrency: 1,
  traceMaxBytes: 25_000_000,
  logsMaxBlockRange: 10_000,
  logsMaxResults: 10_000,
  callCacheEntries: 10_000,
  maxFilters: 10_000,
  maxFiltersPerClient: 1000,
  maxSubscriptionsPerConnection: 1000,
  maxSubscriptionsPerClient: 1000,
  wsMaxConnections: 1000,
  wsMaxConnectionsPerClient: 100,
  httpFront: true,
};

/** Node configuration: defaults < config file (`--config`) < command-line flags. */
export interface NodeConfig {
  dataDir: string;
  /** Path of a genesis JSON; unset = the built-in devnet genesis. */
  genesisFile?: string;
  rpc: RPCConfig;
  /** Fixed block interval (ms); unset = a block as soon as transactions wait. */
  blockTimeMs?: number;
  log: { level: LogLevel; format?: "json" | "pretty" };
  mempool: {
    accountSlots: number;
    globalSlots: number;
    accountQueue: number;
    globalQueue: number;
    priceBumpPercent: number;
    maxTxBytes: number;
    /** Worker threads that decode txs and recover senders (0 = on the main thread; unset = 0 below 4 cores, else cores − 2, at most 4). */
    decodeWorkers?: number;
  };
  storage: {
    syncWrites: boolean;
    /** The start-up check covers at least this many blocks below the head (and the replayed LevelDB log). */
    startupCheckBlocks: number;
    /**
     * LevelDB's open-file budget (its table cache holds this − 10 tables). Each open table is mmapped
     * and its touched pages count in the node's RSS, so this bounds that part as the chain grows.
     */
    maxOpenFiles: number;
  };
  /**
   * Estimated bytes the node's in-memory caches hold together (`cacheShares`): the state trie's
   * nodes, the RPC's decoded blocks, and the simulation workers' trie nodes.
   */
  cacheBytes: number;
  /**
   * V8's old-space growth after a full GC, in percent of the live heap (`node/heapGrowth.ts`); 0 =
   * V8's own factor (up to 4×). Trades GC CPU for resident memory.
   */
  heapGrowingPercent: number;
  /** Network mode (`azora start`): libp2p listen addresses and the peers to keep connected. */
  p2p: { listen: string[]; bootstrap: string[] };
  /**
   * Network mode: while transactions wait, a height starts no sooner than `minBlockIntervalMs` after the
   * previous commit (0 = at once); local pacing, like CometBFT's timeout_commit, not a chain rule.
   */
  consensus: { minBlockIntervalMs: number };
  /** JSON file with the libp2p identity seed (`{ "seed": "0x…" }`); network mode only. */
  nodeKeyFile?: string;
  /**
   * The validator's key: an encrypted keystore (`azora keys generate|restore`) or, on devnets, the plain
   * seed `azora init` writes; absent = a full node that follows the chain.
   */
  validatorKeyFile?: string;
  /** `azora dev` only. */
  dev: {
    /** eth_accounts lists the 10 mnemonic accounts and the node signs for them (`--no-unlocked-accounts`). */
    unlockedAccounts: boolean;
    /** Write the head state here at shutdown (`--dump-state`; what anvil_dumpState returns, azora's own format). */
    dumpStateFile?: string;
    /** Load the head state from here at start when the file exists (`--load-state`). */
    loadStateFile?: string;
  };
  /**
   * File whose first line is the keystore's password; unset = AZORA_VALIDATOR_KEY_PASSWORD, else asked on
   * the terminal.
   */
  validatorKeyPasswordFile?: string;
}

// Optional keys are present (as undefined) so the merge below recognises them.
export const DEFAULT_CONFIG: NodeConfig = {
  dataDir: "./data/dev",
  genesisFile: undefined,
  blockTimeMs: undefined,
  rpc: DEFAULT_RPC_CONFIG,
  log: { level: "info", format: undefined },
  mempool: {
    accountSlots: DEFAULT_MEMPOOL_OPTIONS.accountSlots,
    globalSlots: DEFAULT_MEMPOOL_OPTIONS.globalSlots,
    accountQueue: DEFAULT_MEMPOOL_OPTIONS.accountQueue,
    globalQueue: DEFAULT_MEMPOOL_OPTIONS.globalQueue,
    priceBumpPercent: DEFAULT_MEMPOOL_OPTIONS.priceBumpPercent,
    maxTxBytes: 128 * 1024,
    decodeWorkers: undefined,
  },
  storage: { syncWrites: true, startupCheckBlocks: STARTUP_CHECK_MIN_BLOCKS, maxOpenFiles: DEFAULT_MAX_OPEN_FILES },
  cacheBytes: 96 * 1024 * 1024,
  heapGrowingPercent: DEFAULT_HEAP_GROWING_PERCENT,
  p2p: { listen: ["/ip4/127.0.0.1/tcp/26656"], bootstrap: [] },
  consensus: { minBlockIntervalMs: 0 },
  nodeKeyFile: undefined,
  validatorKeyFile: undefined,
  dev: { unlockedAccounts: true, dumpStateFile: undefined, loadStateFile: undefined },
  validatorKeyPasswordFile: undefined,
};

export enum ConfigErrorCode {
  INVALID = "CONFIG_ERROR_INVALID",
}

export class ConfigError extends AzoraError<{ code: ConfigErrorCode.INVALID; key: string; reason: string }> {
  constructor(key: string, reason: string) {
    super({ code: ConfigErrorCode.INVALID, key, reason }, `invalid config ${key}: ${reason}`);
  }
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep-merges `over` into `base`, refusing keys `base` does not have (typos fail loudly). */
function merge(base: Plain, over: Plain, path: string): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const key = path === "" ? k : `${path}.${k}`;
    if (!(k in base)) throw new ConfigError(key, "unknown key");
    out[k] = isPlain(base[k]) && isPlain(v) ? merge(base[k] as Plain, v, key) : v;
  }
  return out;
}

export function loadConfigFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError("--config", `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (!isPlain(v)) throw new Error("not an object");
    return v;
  } catch (e) {
    throw new ConfigError("--config", `${path} is not a JSON object: ${(e as Error).message}`);
  }
}

/** Valid range of every numeric rpc key. */
const RPC_LIMIT_RANGES: Partial<Record<keyof RPCConfig, [number, number]>> = {
  bodyLimitBytes: [1024, 1024 ** 3],
  batchLimit: [1, 100_000],
  batchMaxCost: [1, 10_000_000],
  maxResponseBytes: [1024, 2 ** 31 - 1],
  requestTimeoutMs: [1, 3_600_000],
  gasCap: [21_000, Number.MAX_SAFE_INTEGER],
  evmTimeoutMs: [0, 3_600_000],
  evmWorkers: [1, 64],
  evmQueue: [0, 100_000],
  traceConcurrency: [1, 64],
  traceMaxBytes: [1024, 1024 ** 3],
  logsMaxBlockRange: [1, 100_000_000],
  logsMaxResults: [1, 100_000_000],
  callCacheEntries: [0, 10_000_000],
  maxFilters: [0, 10_000_000],
  maxFiltersPerClient: [0, 10_000_000],
  maxSubscriptionsPerConnection: [0, 10_000_000],
  maxSubscriptionsPerClient: [0, 10_000_000],
  wsMaxConnections: [0, 1_000_000],
  wsMaxConnectionsPerClient: [0, 1_000_000],
};

function checkInt(v: unknown, key: string, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(key, `expected an integer in [${min}, ${max}]`);
}

export function resolveConfig(file: Plain | undefined, flags: Plain): NodeConfig {
  const merged = merge(merge(DEFAULT_CONFIG as unknown as Plain, file ?? {}, ""), flags, "") as unknown as NodeConfig;
  if (typeof merged.dataDir !== "string" || merged.dataDir === "") throw new ConfigError("dataDir", "expected a path");
  checkInt(merged.rpc.port, "rpc.port", 0, 65535);
  if (typeof merged.rpc.host !== "string") throw new ConfigError("rpc.host", "expected a host name or address");
  if (typeof merged.rpc.httpFront !== "boolean") throw new ConfigError("rpc.httpFront", "expected a boolean");
  for (const [key, [min, max]] of Object.entries(RPC_LIMIT_RANGES)) {
    const v = merged.rpc[key as keyof RPCConfig];
    if (v !== undefined) checkInt(v, `rpc.${key}`, min, max);
  }
  if (merged.blockTimeMs !== undefined) checkInt(merged.blockTimeMs, "blockTimeMs", 1, 3_600_000);
  if (!LOG_LEVELS.includes(merged.log.level)) throw new ConfigError("log.level", `one of ${LOG_LEVELS.join(", ")}`);
  for (const k of [
    "accountSlots",
    "globalSlots",
    "accountQueue",
    "globalQueue",
    "priceBumpPercent",
    "maxTxBytes",
  ] as const) {
    checkInt(merged.mempool[k], `mempool.${k}`, 0, 10_000_000);
  }
  if (merged.mempool.decodeWorkers !== undefined)
    checkInt(merged.mempool.decodeWorkers, "mempool.decodeWorkers", 0, 64);
  if (typeof merged.storage.syncWrites !== "boolean") throw new ConfigError("storage.syncWrites", "expected a boolean");
  checkInt(merged.storage.startupCheckBlocks, "storage.startupCheckBlocks", 1, 100_000_000);
  checkInt(merged.storage.maxOpenFiles, "storage.maxOpenFiles", MIN_MAX_OPEN_FILES, 1_000_000);
  checkInt(merged.cacheBytes, "cacheBytes", 4 * 1024 * 1024, 64 * 1024 ** 3);
  checkInt(merged.heapGrowingPercent, "heapGrowingPercent", 0, MAX_HEAP_GROWING_PERCENT);
  checkInt(merged.consensus.minBlockIntervalMs, "consensus.minBlockIntervalMs", 0, 60_000);
  if (typeof merged.dev.unlockedAccounts !== "boolean")
    throw new ConfigError("dev.unlockedAccounts", "expected a boolean");
  for (const k of ["dumpStateFile", "loadStateFile"] as const) {
    const v = merged.dev[k];
    if (v !== undefined && (typeof v !== "string" || v === "")) throw new ConfigError(`dev.${k}`, "expected a path");
  }
  return merged;
}

export function mempoolOptions(cfg: NodeConfig, minBaseFeePerGas: bigint, blockGasLimit: bigint): MempoolOptions {
  const { maxTxBytes: _maxTxBytes, decodeWorkers: _decodeWorkers, ...limits } = cfg.mempool;
  return { ...DEFAULT_MEMPOOL_OPTIONS, ...limits, minBaseFeePerGas, blockGasLimit };
}

/** What each cache gets of `cacheBytes`. */
export interface CacheShares {
  /** The chain's state trie nodes, raw and decoded (main thread). */
  trieNodes: number;
  /** The RPC's decoded blocks with their receipts. */
  rpcBlocks: number;
  /** Each simulation worker's trie nodes (its own heap). */
  perSimulationWorker: number;
}

/**
 * Half to the state trie (block execution and state reads), a sixth to the RPC's blocks (receipt
 * polls read the last few), a twelfth to the simulation workers (eth_call's state, shared among
 * them). A worker's miss is a message to the main thread, whose trie cache mostly has the node, and
 * the worker keeps its cache in a heap of its own with its own slack: at a third (32 MiB per worker
 * by default) the dev node's worker heap under the bench peaked at 57–61 MB, at a twelfth 49–50 MB,
 * for the same CPU per `eth_call` (issue 14). The last quarter is not handed out.
 */
export function cacheShares(cacheBytes: number, simulationWorkers: number): CacheShares {
  return {
    trieNodes: Math.floor(cacheBytes / 2),
    rpcBlocks: Math.floor(cacheBytes / 6),
    perSimulationWorker: Math.floor(cacheBytes / 12 / Math.max(1, simulationWorkers)),
  };
}

/**
 * The config of a node home written by `azora init` (`<home>/config.json`), its relative paths
 * resolved against the home; `flags` override it like `resolveConfig`'s.
 */
export function loadHomeConfig(home: string, flags: Plain = {}): NodeConfig {
  const file = loadConfigFile(join(home, "config.json"));
  const inHome = (p: unknown) => (typeof p === "string" && !isAbsolute(p) ? join(home, p) : p);
  for (const k of ["dataDir", "genesisFile", "nodeKeyFile", "validatorKeyFile", "validatorKeyPasswordFile"]) {
    if (file[k] !== undefined) file[k] = inHome(file[k]);
  }
  return resolveConfig(file, flags);
}
