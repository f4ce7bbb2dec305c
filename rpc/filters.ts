import { randomBytes } from "node:crypto";
import type { EthBackend, LogFilter } from "./backend.js";
import { InvalidParamsError, LimitExceededError, ServerError } from "./errors.js";
import { formatHeader, formatLog } from "./format.js";
import { toHexData } from "./hex.js";
import { logMatches } from "./logFilter.js";
import { MAX_LOGS_BLOCK_RANGE, resolveLogRange, toLogFilter } from "./methods/eth.js";
import { parseBool, parseFilter } from "./params.js";
import type { SubscriptionSource } from "./subscriptions.js";
import { defineMethod, type FilterCriteria, type MethodTable } from "./types.js";

export interface FilterOptions {
  /** A filter not polled for this long is removed (geth: 5 minutes). */
  timeoutMs: number;
  maxFilters: number;
  /** Pending-transaction hashes buffered per filter between polls. */
  maxBufferedHashes: number;
}

export const DEFAULT_FILTER_OPTIONS: FilterOptions = {
  timeoutMs: 5 * 60_000,
  maxFilters: 10_000,
  maxBufferedHashes: 10_000,
};

type Filter =
  | { kind: "logs"; criteria: FilterCriteria; logFilter: LogFilter; nextBlock: bigint; lastPollMs: number }
  | { kind: "blocks"; nextBlock: bigint; lastPollMs: number }
  | { kind: "pending"; hashes: Uint8Array[]; lastPollMs: number };

/**
 * geth's errFilterNotFound is a plain -32000 error. Clients rely on that code: viem's watchEvent /
 * watchContractEvent re-install an expired filter only on -32000 (InvalidInputRpcError).
 */
const filterNotFound = () => new ServerError("filter not found");

/**
 * Polling filters (eth_newFilter & co). Log and block filters remember the next block to report
 * and read committed blocks on poll, so they hold no per-block buffers; pending-transaction
 * filters buffer hashes up to a bound. Idle filters expire as in geth.
 */
export function createFilterMethods(
  backend: EthBackend,
  opts: FilterOptions = DEFAULT_FILTER_OPTIONS,
  nowMs: () => number = Date.now,
): { methods: MethodTable; dispose: () => void } {
  const filters = new Map<string, Filter>();
  let pendingFilters = 0;

  const unsubscribePending = backend.onPendingTransaction((hash) => {
    if (pendingFilters === 0) return;
    for (const f of filters.values()) {
      if (f.kind === "pending" && f.hashes.length < opts.maxBufferedHashes) f.hashes.push(hash);
    }
  });
  const sweep = setInterval(() => expire(), Math.min(opts.timeoutMs, 60_000));
  sweep.unref();

  function expire(): void {
    const now = nowMs();
    for (const [id, f] of filters) {
      if (now - f.lastPollMs > opts.timeoutMs) remove(id);
    }
  }

  function remove(id: string): boolean {
    const f = filters.get(id);
    if (f === undefined) return false;
    if (f.kind === "pending") pendingFilters--;
    return filters.delete(id);
  }

  function install(f: Filter): string {
    expire();
    if (filters.size >= opts.maxFilters) throw new LimitExceededError(`too many filters (max ${opts.maxFilters})`);
    const id = `0x${randomBytes(16).toString("hex")}`;
    filters.set(id, f);
    if (f.kind === "pending") pendingFilters++;
    return id;
  }

  function get(id: string): Filter {
    const f = filters.get(id.toLowerCase());
    if (f === undefined) throw filterNotFound();
    f.lastPollMs = nowMs();
    return f;
  }

  const methods: MethodTable = {
    eth_newFilter: defineMethod([{ name: "filter", type: "filter" }], async ([criteria]) => {
      await resolveLogRange(backend, criteria); // validates the range now, as geth does
      return install({
        kind: "logs",
        criteria,
        logFilter: toLogFilter(criteria),
        nextBlock: backend.headNumber() + 1n,
        lastPollMs: nowMs(),
      });
    }),
    eth_newBlockFilter: defineMethod([], () =>
      install({ kind: "blocks", nextBlock: backend.headNumber() + 1n, lastPollMs: nowMs() }),
    ),
    eth_newPendingTransactionFilter: defineMethod([], () =>
      install({ kind: "pending", hashes: [], lastPollMs: nowMs() }),
    ),
    eth_uninstallFilter: defineMethod([{ name: "id", type: "string" }], ([id]) => remove(id.toLowerCase())),
    eth_getFilterChanges: defineMethod([{ name: "id", type: "string" }], async ([id]) => {
      const f = get(id);
      const head = backend.headNumber();
      if (f.kind === "pending") {
        const out = f.hashes.map(toHexData);
        f.hashes = [];
        return out;
      }
      if (f.nextBlock > head) return [];
      const from = f.nextBlock;
      const to = head - from + 1n > MAX_LOGS_BLOCK_RANGE ? from + MAX_LOGS_BLOCK_RANGE - 1n : head;
      f.nextBlock = to + 1n;
      if (f.kind === "blocks") {
        const hashes: string[] = [];
        for (let n = from; n <= to; n++) {
          const ref = await backend.resolveBlock({ kind: "number", number: n });
          if (ref !== undefined) hashes.push(toHexData(ref.hash));
        }
        return hashes;
      }
      return (await backend.getLogs({ fromBlock: from, toBlock: to }, f.logFilter)).map(formatLog);
    }),
    eth_getFilterLogs: defineMethod([{ name: "id", type: "string" }], async ([id]) => {
      const f = get(id);
      if (f.kind !== "logs") throw filterNotFound();
      const range = await resolveLogRange(backend, f.criteria);
      if ("fromBlock" in range && range.toBlock - range.fromBlock + 1n > MAX_LOGS_BLOCK_RANGE) {
        throw new LimitExceededError(`query exceeds max block range ${MAX_LOGS_BLOCK_RANGE}`);
      }
      return (await backend.getLogs(range, f.logFilter)).map(formatLog);
    }),
  };

  return {
    methods,
    dispose: () => {
      clearInterval(sweep);
      unsubscribePending();
      filters.clear();
    },
  };
}

/** `eth_subscribe` kinds: newHeads, logs (with an optional filter), newPendingTransactions. */
export function createEthSubscriptionSource(backend: EthBackend): SubscriptionSource {
  return {
    subscribe(kind, params, push) {
      switch (kind) {
        case "newHeads":
          if (params.length > 0 && params[0] !== undefined) throw new InvalidParamsError("newHeads takes no options");
          return backend.onNewBlock((ref) => push(formatHeader(ref)));
        case "logs": {
          const criteria = params[0] === undefined || params[0] === null ? {} : parseFilter(params[0]);
          if (criteria.fromBlock !== undefined || criteria.toBlock !== undefined || criteria.blockHash !== undefined) {
            throw new InvalidParamsError("logs subscriptions take only address and topics");
          }
          const lf = toLogFilter(criteria);
          return backend.onNewBlock((_ref, logs) => {
            for (const l of logs) if (logMatches(l.log, lf)) push(formatLog(l));
          });
        }
        case "newPendingTransactions": {
          const full = params[0] === undefined || params[0] === null ? false : parseBool(params[0]);
          if (full) throw new InvalidParamsError("full pending transactions are not supported; subscribe to hashes");
          return backend.onPendingTransaction((hash) => push(toHexData(hash)));
        }
        default:
          throw new InvalidParamsError(`no "${kind}" subscription in eth namespace`);
      }
    },
  };
}
