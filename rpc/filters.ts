import type { EthBackend, LogFilter } from "./backend.js";
import { LimitExceededError, ServerError } from "./errors.js";
import { toHexData } from "./hex.js";
import { LogQueries } from "./logQuery.js";
import { DEFAULT_LOGS_MAX_BLOCK_RANGE, LOG_QUERY_COST, resolveLogRange, toLogFilter } from "./methods/eth.js";
import { clientKey, PerClientCounter } from "./quota.js";
import { newSubscriptionId, normalizeId } from "./subscriptions.js";
import { defineMethod, type FilterCriteria, type MethodTable } from "./types.js";

export interface FilterOptions {
  /** A filter not polled for this long is removed (geth: 5 minutes). */
  timeoutMs: number;
  /** Filters installed in all (a memory bound; one client alone cannot reach it). */
  maxFilters: number;
  /** Filters one client (remote address) may hold. */
  maxFiltersPerClient: number;
  /** Pending-transaction hashes kept for pending filters (one shared buffer, whatever the filter count). */
  maxBufferedHashes: number;
  /** Blocks one eth_getFilterChanges / eth_getFilterLogs reads at most. */
  logsMaxBlockRange: bigint;
  /** Runs log queries; share the eth methods' one. */
  logQueries?: LogQueries;
}

export const DEFAULT_FILTER_OPTIONS: FilterOptions = {
  timeoutMs: 5 * 60_000,
  maxFilters: 10_000,
  maxFiltersPerClient: 1000,
  maxBufferedHashes: 10_000,
  logsMaxBlockRange: DEFAULT_LOGS_MAX_BLOCK_RANGE,
};

type Filter = { owner: string; lastPollMs: number } & (
  | { kind: "logs"; criteria: FilterCriteria; logFilter: LogFilter; nextBlock: bigint }
  | { kind: "blocks"; nextBlock: bigint }
  | { kind: "pending"; cursor: number }
);

/**
 * geth's errFilterNotFound is a plain -32000 error. Clients rely on that code: viem's watchEvent /
 * watchContractEvent re-install an expired filter only on -32000 (InvalidInputRpcError).
 */
const filterNotFound = () => new ServerError("filter not found");

/**
 * The hashes of transactions that became pending, kept once for every pending filter: a filter
 * holds only its position, so 10,000 pending filters cost 10,000 numbers, not 10,000 buffers.
 */
class PendingHashes {
  private readonly ring: string[];
  /** Hashes ever added; hash `seq` lives at `ring[seq % size]`. */
  private seq = 0;

  constructor(private readonly size: number) {
    this.ring = new Array(size);
  }

  get position(): number {
    return this.seq;
  }

  add(hash: string): void {
    this.ring[this.seq % this.size] = hash;
    this.seq++;
  }

  /** Hashes added since `from` (the oldest ones lost when more than `size` came in between). */
  since(from: number): string[] {
    const start = Math.max(from, this.seq - this.size);
    const out: string[] = [];
    for (let i = start; i < this.seq; i++) out.push(this.ring[i % this.size]);
    return out;
  }
}

/**
 * Polling filters (eth_newFilter & co). Log and block filters remember the next block to report
 * and read committed blocks on poll, so they hold no per-block buffers; pending-transaction
 * filters share one bounded buffer. Idle filters expire as in geth. Each client (remote address)
 * may hold `maxFiltersPerClient`, so no single client can use up the node-wide `maxFilters`.
 */
export function createFilterMethods(
  backend: EthBackend,
  opts: FilterOptions = DEFAULT_FILTER_OPTIONS,
  nowMs: () => number = Date.now,
): { methods: MethodTable; dispose: () => void } {
  const filters = new Map<string, Filter>();
  const perClient = new PerClientCounter(opts.maxFiltersPerClient);
  const pending = new PendingHashes(opts.maxBufferedHashes);
  const logQueries = opts.logQueries ?? new LogQueries();
  let pendingFilters = 0;

  const unsubscribePending = backend.onPendingTransaction((hash) => {
    if (pendingFilters > 0) pending.add(hash);
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
    perClient.release(f.owner);
    return filters.delete(id);
  }

  function install(f: Filter): string {
    expire();
    if (filters.size >= opts.maxFilters) throw new LimitExceededError(`too many filters (max ${opts.maxFilters})`);
    if (!perClient.tryAcquire(f.owner)) {
      throw new LimitExceededError(`too many filters (limit ${opts.maxFiltersPerClient} per client)`);
    }
    const id = newSubscriptionId();
    filters.set(id, f);
    if (f.kind === "pending") pendingFilters++;
    return id;
  }

  function get(id: string): Filter {
    const f = filters.get(normalizeId(id));
    if (f === undefined) throw filterNotFound();
    f.lastPollMs = nowMs();
    return f;
  }

  const checkRange = (range: { fromBlock: bigint; toBlock: bigint } | { blockHash: Uint8Array }) => {
    if ("fromBlock" in range && range.toBlock - range.fromBlock + 1n > opts.logsMaxBlockRange) {
      throw new LimitExceededError(`query exceeds max block range ${opts.logsMaxBlockRange}`);
    }
  };

  const methods: MethodTable = {
    eth_newFilter: defineMethod([{ name: "filter", type: "filter" }], async ([criteria], ctx) => {
      await resolveLogRange(backend, criteria); // validates the range now, as geth does
      return install({
        kind: "logs",
        owner: clientKey(ctx),
        criteria,
        logFilter: toLogFilter(criteria),
        nextBlock: backend.headNumber() + 1n,
        lastPollMs: nowMs(),
      });
    }),
    eth_newBlockFilter: defineMethod([], (_args, ctx) =>
      install({ kind: "blocks", owner: clientKey(ctx), nextBlock: backend.headNumber() + 1n, lastPollMs: nowMs() }),
    ),
    eth_newPendingTransactionFilter: defineMethod([], (_args, ctx) =>
      install({ kind: "pending", owner: clientKey(ctx), cursor: pending.position, lastPollMs: nowMs() }),
    ),
    eth_uninstallFilter: defineMethod([{ name: "id", type: "string" }], ([id]) => remove(normalizeId(id))),
    eth_getFilterChanges: defineMethod(
      [{ name: "id", type: "string" }],
      async ([id], ctx) => {
        const f = get(id);
        const head = backend.headNumber();
        if (f.kind === "pending") {
          const out = pending.since(f.cursor);
          f.cursor = pending.position;
          return out;
        }
        if (f.nextBlock > head) return [];
        const from = f.nextBlock;
        const to = head - from + 1n > opts.logsMaxBlockRange ? from + opts.logsMaxBlockRange - 1n : head;
        f.nextBlock = to + 1n;
        if (f.kind === "blocks") {
          const hashes: string[] = [];
          for (let n = from; n <= to; n++) {
            ctx.budget?.checkTime();
            const ref = await backend.resolveBlock({ kind: "number", number: n });
            if (ref !== undefined) hashes.push(toHexData(ref.hash));
          }
          return hashes;
        }
        return logQueries.run(ctx.budget, () =>
          backend.getLogs({ fromBlock: from, toBlock: to }, f.logFilter, ctx.budget),
        );
      },
      { cost: LOG_QUERY_COST },
    ),
    eth_getFilterLogs: defineMethod(
      [{ name: "id", type: "string" }],
      async ([id], ctx) => {
        const f = get(id);
        if (f.kind !== "logs") throw filterNotFound();
        const range = await resolveLogRange(backend, f.criteria);
        checkRange(range);
        return logQueries.run(ctx.budget, () => backend.getLogs(range, f.logFilter, ctx.budget));
      },
      { cost: LOG_QUERY_COST },
    ),
  };

  // Dev mode's rewind (evm_revert): block and log filters restart at the new head, so the blocks
  // mined after it are reported even at heights the filter had already passed.
  const unsubscribeRewind =
    backend.onRewind?.((head) => {
      for (const f of filters.values()) {
        if (f.kind !== "pending" && f.nextBlock > head.header.number + 1n) f.nextBlock = head.header.number + 1n;
      }
    }) ?? (() => undefined);

  return {
    methods,
    dispose: () => {
      clearInterval(sweep);
      unsubscribePending();
      unsubscribeRewind();
      for (const id of [...filters.keys()]) remove(id);
    },
  };
}
