import type { EthBackend, LogFilter, LogView } from "./backend.js";
import { echo, InvalidParamsError } from "./errors.js";
import { formatHeader, formatLog } from "./format.js";
import { toHexData } from "./hex.js";
import { logMatches } from "./logFilter.js";
import { toLogFilter } from "./methods/eth.js";
import { parseBool, parseFilter } from "./params.js";
import type { SubscriptionSource } from "./subscriptions.js";

type Push = (result: unknown) => void;

/** Subscribers of one log filter shape: matched and formatted once per block for all of them. */
interface Shape {
  filter: LogFilter;
  pushes: Set<Push>;
}

/**
 * One identity for equal filters: addresses as a set, each topic position as a set (positions
 * stay in order; a trailing wildcard still requires the topic to exist, as `logMatches` does).
 */
function shapeKey(f: LogFilter): string {
  const set = (xs: Uint8Array[]) => xs.map(toHexData).sort().join(",");
  const topics = f.topics.map((t) => (t === null || t.length === 0 ? "*" : set(t)));
  return `${set(f.addresses)}/${topics.join(";")}`;
}

/**
 * `eth_subscribe` kinds: newHeads, logs (with an optional filter), newPendingTransactions.
 *
 * The work per event does not grow with the number of subscribers: a block's header is formatted
 * once for every newHeads subscriber; a block's logs are matched once per distinct filter shape
 * and each matching log is formatted once, whatever the number of subscriptions with that shape.
 * Every subscriber is handed the same object, which the subscription layer serialises once
 * (`subscriptions.ts`).
 */
export function createEthSubscriptionSource(backend: EthBackend): SubscriptionSource & { dispose(): void } {
  const heads = new Set<Push>();
  const pending = new Set<Push>();
  const shapes = new Map<string, Shape>();

  const onBlock = (ref: Parameters<typeof formatHeader>[0], logs: LogView[]) => {
    if (heads.size > 0) {
      const header = formatHeader(ref);
      for (const push of heads) push(header);
    }
    if (shapes.size === 0 || logs.length === 0) return;
    const formatted: (Record<string, unknown> | undefined)[] = new Array(logs.length);
    for (const shape of shapes.values()) {
      for (let i = 0; i < logs.length; i++) {
        if (!logMatches(logs[i].log, shape.filter)) continue;
        formatted[i] ??= formatLog(logs[i]);
        const log = formatted[i];
        for (const push of shape.pushes) push(log);
      }
    }
  };
  const unsubscribeBlocks = backend.onNewBlock(onBlock);
  const unsubscribePending = backend.onPendingTransaction((hash) => {
    for (const push of pending) push(hash);
  });

  const join = <T>(set: Set<T>, item: T) => {
    set.add(item);
    return () => {
      set.delete(item);
    };
  };

  return {
    subscribe(kind, params, push) {
      switch (kind) {
        case "newHeads":
          if (params.length > 0 && params[0] !== undefined) throw new InvalidParamsError("newHeads takes no options");
          return join(heads, push);
        case "logs": {
          const criteria = params[0] === undefined || params[0] === null ? {} : parseFilter(params[0]);
          if (criteria.fromBlock !== undefined || criteria.toBlock !== undefined || criteria.blockHash !== undefined) {
            throw new InvalidParamsError("logs subscriptions take only address and topics");
          }
          const filter = toLogFilter(criteria);
          const key = shapeKey(filter);
          let shape = shapes.get(key);
          if (shape === undefined) {
            shape = { filter, pushes: new Set() };
            shapes.set(key, shape);
          }
          const mine = shape;
          mine.pushes.add(push);
          return () => {
            mine.pushes.delete(push);
            if (mine.pushes.size === 0 && shapes.get(key) === mine) shapes.delete(key);
          };
        }
        case "newPendingTransactions": {
          const full = params[0] === undefined || params[0] === null ? false : parseBool(params[0]);
          if (full) throw new InvalidParamsError("full pending transactions are not supported; subscribe to hashes");
          return join(pending, push);
        }
        default:
          throw new InvalidParamsError(`no "${echo(kind)}" subscription in eth namespace`);
      }
    },
    dispose() {
      unsubscribeBlocks();
      unsubscribePending();
      heads.clear();
      pending.clear();
      shapes.clear();
    },
  };
}
