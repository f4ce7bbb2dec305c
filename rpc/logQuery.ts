import type { LogView } from "./backend.js";
import { LimitExceededError, RequestTimeoutError } from "./errors.js";
import { FairQueue } from "./fairQueue.js";
import { formatLog } from "./format.js";
import { toHexData } from "./hex.js";
import { RawJSON } from "./jsonrpc.js";
import type { RequestBudget } from "./types.js";

/**
 * Log queries (eth_getLogs, eth_getFilterLogs, eth_getFilterChanges) run on the thread that also
 * runs consensus. At most this many run at once, node-wide: however many arrive together, the
 * event loop is never held by more than a few of them between two consensus messages.
 */
export const LOG_QUERY_CONCURRENCY = 2;
/** Log queries waiting for their turn at most; more are refused as busy. */
const LOG_QUERY_QUEUE = 256;

/** Bytes of log JSON kept for reuse (default of `LogJSONCache`). */
export const DEFAULT_LOG_JSON_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The JSON text of each log, made once and kept per block (oldest blocks dropped first, bounded in bytes). Log queries
 * answer with these texts joined, so a query — or a batch of them — allocates one string per answer
 * instead of an object tree per log and a full serialisation each time: on the thread that also runs
 * consensus, that garbage (and the collector's pauses) was most of a log query's cost.
 */
export class LogJSONCache {
  private readonly blocks = new Map<string, { texts: (string | undefined)[]; bytes: number }>();
  private bytes = 0;
  private lastHash: Uint8Array | null = null;
  private lastKey = "";

  constructor(private readonly maxBytes = DEFAULT_LOG_JSON_CACHE_BYTES) {}

  /** JSON text of one log (as `formatLog` shapes it). */
  textOf(view: LogView): string {
    // Consecutive logs of one block share one hash array: its key is computed once.
    if (view.blockHash !== this.lastHash) {
      this.lastHash = view.blockHash;
      this.lastKey = toHexData(view.blockHash);
    }
    let block = this.blocks.get(this.lastKey);
    if (block === undefined) {
      block = { texts: [], bytes: 0 };
      this.blocks.set(this.lastKey, block);
    }
    let text = block.texts[view.logIndex];
    if (text === undefined) {
      text = JSON.stringify(formatLog(view));
      block.texts[view.logIndex] = text;
      block.bytes += text.length;
      this.bytes += text.length;
      this.evict(block);
    }
    return text;
  }

  /**
   * The JSON array of `views`. Not charged here: the backend charged each log's size as it
   * collected them, and the response's real size replaces that estimate when it is sent.
   */
  arrayOf(views: LogView[]): RawJSON {
    if (views.length === 0) return new RawJSON("[]");
    // Pieces, not one string: the response is joined once with the rest of its batch.
    const parts = new Array<string>(2 * views.length + 1);
    parts[0] = "[";
    for (let i = 0; i < views.length; i++) {
      parts[2 * i + 1] = this.textOf(views[i]);
      parts[2 * i + 2] = i === views.length - 1 ? "]" : ",";
    }
    return new RawJSON(parts);
  }

  private evict(keep: { bytes: number }): void {
    for (const [key, block] of this.blocks) {
      if (this.bytes <= this.maxBytes) return;
      if (block === keep) continue;
      this.blocks.delete(key);
      this.bytes -= block.bytes;
    }
  }
}

/**
 * Admits at most `concurrency` jobs (log queries, traces) at a time; the others wait until their
 * deadline, served round-robin by client so one client's backlog does not hold everybody else's back.
 */
export class Gate {
  private running = 0;
  private readonly waiting = new FairQueue<Waiter>();

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
    private readonly what = "log queries",
  ) {}

  async run<T>(budget: RequestBudget | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.size >= this.queue) {
        throw new LimitExceededError(`server busy: ${this.waiting.size} ${this.what} waiting; try again later`);
      }
      const client = budget?.client ?? "unknown";
      await new Promise<void>((go, fail) => {
        const waiter: Waiter = { go, fail };
        if (budget !== undefined) {
          waiter.timer = setTimeout(
            () => {
              if (this.waiting.remove(client, waiter)) fail(new RequestTimeoutError());
            },
            Math.max(0, budget.deadlineMs - performance.now()),
          );
        }
        this.waiting.push(client, waiter);
      });
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      const next = this.waiting.shift();
      if (next !== undefined) {
        clearTimeout(next.timer);
        next.go();
      }
    }
  }
}

interface Waiter {
  go: () => void;
  fail: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Runs log queries for the JSON-RPC methods: a few at a time node-wide (`LOG_QUERY_CONCURRENCY`, then
 * round-robin by client),
 * answered as JSON assembled from the per-log texts of `LogJSONCache`.
 */
export class LogQueries {
  private readonly gate = new Gate(LOG_QUERY_CONCURRENCY, LOG_QUERY_QUEUE);
  private readonly cache: LogJSONCache;

  constructor(cacheBytes = DEFAULT_LOG_JSON_CACHE_BYTES) {
    this.cache = new LogJSONCache(cacheBytes);
  }

  /** Waits for a turn (or the request's deadline), runs `query`, and answers its logs as JSON. */
  run(budget: RequestBudget | undefined, query: () => Promise<LogView[]>): Promise<RawJSON> {
    return this.gate.run(budget, async () => this.cache.arrayOf(await query()));
  }
}
