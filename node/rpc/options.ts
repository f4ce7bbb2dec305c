import { type Command, InvalidArgumentError, Option } from "commander";
import type { RPCConfig } from "../config.js";

/** The rpc config keys that have a flag, with the flag and its help line. */
const RPC_LIMIT_FLAGS: { key: keyof RPCConfig; flag: string; help: string }[] = [
  { key: "gasCap", flag: "--rpc-gascap", help: "gas one eth_call / estimateGas / createAccessList may use" },
  { key: "evmTimeoutMs", flag: "--rpc-evm-timeout", help: "ms one simulation may run; 0 = no limit" },
  { key: "evmWorkers", flag: "--rpc-evm-workers", help: "simulation worker threads (default cores − 1, 1–4)" },
  { key: "evmQueue", flag: "--rpc-evm-queue", help: "simulations waiting for a worker before callers get busy" },
  { key: "traceConcurrency", flag: "--rpc-trace-concurrency", help: "debug_trace* running at once node-wide" },
  { key: "traceMaxBytes", flag: "--rpc-trace-max-bytes", help: "bytes of one trace's JSON (past it: -32005)" },
  { key: "batchLimit", flag: "--rpc-batch-limit", help: "calls in one batch" },
  {
    key: "batchMaxCost",
    flag: "--rpc-batch-max-cost",
    help: "cost units of one batch (1 per call, 5 per simulation, 10 per log query)",
  },
  {
    key: "maxResponseBytes",
    flag: "--rpc-max-response-bytes",
    help: "bytes of one response, or of one batch's responses",
  },
  { key: "requestTimeoutMs", flag: "--rpc-request-timeout", help: "ms one request or batch may take" },
  { key: "bodyLimitBytes", flag: "--rpc-body-limit-bytes", help: "bytes of one request body / WebSocket message" },
  { key: "logsMaxBlockRange", flag: "--rpc-logs-max-block-range", help: "blocks one log query may span" },
  { key: "logsMaxResults", flag: "--rpc-logs-max-results", help: "logs one log query may return" },
  {
    key: "callCacheEntries",
    flag: "--rpc-call-cache-entries",
    help: "eth_call answers kept across blocks that did not change what they read (0 = off)",
  },
  { key: "maxFilters", flag: "--rpc-max-filters", help: "polling filters in all" },
  { key: "maxFiltersPerClient", flag: "--rpc-max-filters-per-client", help: "polling filters per client address" },
  {
    key: "maxSubscriptionsPerConnection",
    flag: "--rpc-max-subscriptions-per-connection",
    help: "subscriptions per WebSocket",
  },
  {
    key: "maxSubscriptionsPerClient",
    flag: "--rpc-max-subscriptions-per-client",
    help: "subscriptions per client address",
  },
  { key: "wsMaxConnections", flag: "--rpc-ws-max-connections", help: "WebSocket connections in all" },
  {
    key: "wsMaxConnectionsPerClient",
    flag: "--rpc-ws-max-connections-per-client",
    help: "WebSocket connections per client address",
  },
];

function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer`);
    return n;
  };
}

/**
 * Adds a flag per JSON-RPC limit to `cmd` (`--rpc-gascap`, `--rpc-evm-timeout`, …; README lists them), and
 * `--no-rpc-http-front`.
 */
export function addRPCLimitOptions(cmd: Command): Command {
  for (const f of RPC_LIMIT_FLAGS) {
    cmd.addOption(new Option(`${f.flag} <n>`, `${f.help} (config rpc.${f.key})`).argParser(nonNegativeInt(f.flag)));
  }
  cmd.option(
    "--no-rpc-http-front",
    "every request through Node's HTTP server, not the JSON-RPC front (config rpc.httpFront)",
  );
  return cmd;
}

/** The rpc config keys set by those flags (unset ones absent, so the config file's values stay). */
export function rpcLimitFlags(opts: Record<string, unknown>): Partial<RPCConfig> {
  const out: Record<string, unknown> = {};
  for (const f of RPC_LIMIT_FLAGS) {
    const attribute = new Option(`${f.flag} <n>`).attributeName();
    if (opts[attribute] !== undefined) out[f.key] = opts[attribute];
  }
  // Commander defaults a --no- flag to true: only an explicit --no-rpc-http-front overrides the config file.
  if (opts.rpcHttpFront === false) out.httpFront = false;
  return out as Partial<RPCConfig>;
}
