/**
 * Generic `eth_subscribe` / `eth_unsubscribe` over WebSocket. The Ethereum method author supplies a
 * `SubscriptionSource` (newHeads, logs, newPendingTransactions); this module owns ids, the
 * per-connection and per-client quotas, notification envelopes, ordering (no notification before
 * the subscription id reached the client), paced delivery and disposal when the connection closes.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../runtime/lib/logger.js";
import { InternalError, LimitExceededError, NotificationsUnsupportedError } from "./errors.js";
import { toJSONValue } from "./jsonrpc.js";
import { clientKeyOf, PerClientCounter } from "./quota.js";
import { type CallContext, defineMethod, type MethodTable, type WSConnectionHandle } from "./types.js";

export interface SubscriptionSource {
  /**
   * Starts a subscription of `kind` (`params` = the eth_subscribe args after the kind) and returns
   * its dispose function. Throws InvalidParamsError for unknown kinds or bad params. `push` may be
   * called synchronously; calls after dispose are ignored. Pushing the SAME object to many
   * subscribers costs one serialisation: results are serialised once per object.
   */
  subscribe(kind: string, params: unknown[], push: (result: unknown) => void): () => void;
}

export interface SubscriptionMethodsOptions {
  /** Live subscriptions per connection (default 1000); more → -32005. */
  maxPerConnection?: number;
  /** Live subscriptions per client (remote address) over all its connections (default 1000); more → -32005. */
  maxPerClient?: number;
  /**
   * Notifications buffered while the eth_subscribe response is still in flight (default 10,000);
   * more closes the connection (the client is not keeping up).
   */
  maxPending?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000;
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT = 1000;
export const DEFAULT_MAX_PENDING_NOTIFICATIONS = 10_000;
/** Notifications handed to sockets per macrotask; then the event loop runs other work (consensus). */
const DELIVERY_SLICE = 1000;
/**
 * Notifications waiting for delivery, all connections together. Past it, the connection being
 * notified is closed as not keeping up (its client resubscribes), never silently skipped.
 */
const MAX_QUEUED_NOTIFICATIONS = 1_000_000;
/** WebSocket close code used when a subscriber cannot keep up (1008 = policy violation). */
export const WS_CLOSE_SLOW_CONSUMER = 1008;

/** `0x` + 32 random hex chars, like geth's subscription ids. */
export function newSubscriptionId(): string {
  // A quantity, as geth's rpc.NewID makes them and the execution-apis schemas want: no leading zeros.
  const digits = randomBytes(16).toString("hex").replace(/^0+/, "");
  return `0x${digits === "" ? "0" : digits}`;
}

/** An id as a client may send it back (any case, with leading zeros) → the form `newSubscriptionId` made. */
export function normalizeId(id: string): string {
  const digits = id.toLowerCase().replace(/^0x0*/, "");
  return `0x${digits === "" ? "0" : digits}`;
}

interface Subscription {
  id: string;
  conn: WSConnectionHandle;
  client: string;
  active: boolean;
  disposed: boolean;
  /** Serialised results pushed before the eth_subscribe response was sent. */
  pending: string[];
  dispose: () => void;
}

/**
 * Serialises each result once, however many subscribers it is pushed to (the source hands every
 * subscriber of a block's header or log the same object).
 */
class ResultSerialiser {
  private readonly cache = new WeakMap<object, string>();

  toJSON(result: unknown): string {
    if (typeof result !== "object" || result === null) return JSON.stringify(toJSONValue(result) ?? null);
    let json = this.cache.get(result);
    if (json === undefined) {
      json = JSON.stringify(toJSONValue(result) ?? null);
      this.cache.set(result, json);
    }
    return json;
  }
}

/**
 * Notifications leave each connection in FIFO order (so each subscription's stay in order), at
 * most DELIVERY_SLICE per macrotask shared round-robin between the connections that have some
 * waiting: a block that matches thousands of subscriptions never holds the event loop for the
 * whole fan-out, and one connection's flood does not delay everybody else's notifications.
 */
class DeliveryQueue {
  private readonly queues = new Map<
    WSConnectionHandle,
    { items: { sub: Subscription; json: string }[]; head: number }
  >();
  private total = 0;
  private scheduled = false;

  constructor(private readonly logger: Logger | undefined) {}

  add(sub: Subscription, json: string): void {
    if (this.total >= MAX_QUEUED_NOTIFICATIONS) {
      this.logger?.warn("Notification backlog full; closing the subscriber's connection", {
        subscription: sub.id,
        queued: this.total,
      });
      sub.conn.close(WS_CLOSE_SLOW_CONSUMER, "notification backlog full");
      return;
    }
    let q = this.queues.get(sub.conn);
    if (q === undefined) {
      q = { items: [], head: 0 };
      this.queues.set(sub.conn, q);
    }
    q.items.push({ sub, json });
    this.total++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const share = Math.max(1, Math.floor(DELIVERY_SLICE / this.queues.size));
    for (const [conn, q] of this.queues) {
      const open = conn.isOpen();
      const end = open ? Math.min(q.items.length, q.head + share) : q.items.length;
      const start = q.head;
      for (; q.head < end; q.head++) {
        const { sub, json } = q.items[q.head];
        if (!open || sub.disposed) continue;
        conn.sendText(
          `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${sub.id}","result":${json}}}`,
        );
      }
      this.total -= q.head - start;
      if (q.head === q.items.length) {
        this.queues.delete(conn);
      } else if (q.head > 65_536) {
        q.items = q.items.slice(q.head);
        q.head = 0;
      }
    }
    if (this.queues.size > 0) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}

/** `eth_subscribe(kind, options?) → id` (ws only) and `eth_unsubscribe(id) → bool`. */
export function createSubscriptionMethods(
  source: SubscriptionSource,
  opts: SubscriptionMethodsOptions = {},
): MethodTable {
  const maxPerConnection = opts.maxPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  const perClient = new PerClientCounter(opts.maxPerClient ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT);
  const maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING_NOTIFICATIONS;
  const registry = new WeakMap<WSConnectionHandle, Map<string, Subscription>>();
  const serialiser = new ResultSerialiser();
  const delivery = new DeliveryQueue(opts.logger);

  function disposeSubscription(sub: Subscription): void {
    if (sub.disposed) return;
    sub.disposed = true;
    sub.pending = [];
    perClient.release(sub.client);
    try {
      sub.dispose();
    } catch (e) {
      opts.logger?.error("Subscription dispose failed", { subscription: sub.id }, e);
    }
  }

  function subscriptionsOf(conn: WSConnectionHandle): Map<string, Subscription> {
    let subs = registry.get(conn);
    if (subs === undefined) {
      const created = new Map<string, Subscription>();
      subs = created;
      registry.set(conn, created);
      conn.onClose(() => {
        for (const sub of created.values()) disposeSubscription(sub);
        created.clear();
      });
    }
    return subs;
  }

  function requireConnection(ctx: CallContext): WSConnectionHandle {
    if (ctx.transport !== "ws" || ctx.connection === undefined) throw new NotificationsUnsupportedError();
    return ctx.connection;
  }

  return {
    eth_subscribe: defineMethod(
      [
        { name: "kind", type: "string" },
        { name: "options", type: "any", optional: true },
      ],
      ([kind, options], ctx): string => {
        const conn = requireConnection(ctx);
        if (!conn.isOpen()) throw new InternalError("connection closed");
        const subs = subscriptionsOf(conn);
        if (subs.size >= maxPerConnection) {
          throw new LimitExceededError(`too many subscriptions (limit ${maxPerConnection} per connection)`);
        }
        const client = clientKeyOf(conn.remoteAddress);
        if (!perClient.tryAcquire(client)) {
          throw new LimitExceededError(`too many subscriptions (limit ${perClient.limit} per client)`);
        }
        const sub: Subscription = {
          id: newSubscriptionId(),
          conn,
          client,
          active: false,
          disposed: false,
          pending: [],
          dispose: noop,
        };
        const push = (result: unknown): void => {
          if (sub.disposed) return;
          let json: string;
          try {
            json = serialiser.toJSON(result);
          } catch (e) {
            opts.logger?.error("Cannot serialise a notification", { subscription: sub.id }, e);
            return;
          }
          if (sub.active) {
            delivery.add(sub, json);
            return;
          }
          if (sub.pending.length >= maxPending) {
            conn.close(WS_CLOSE_SLOW_CONSUMER, "too many pending notifications");
            return;
          }
          sub.pending.push(json);
        };
        try {
          // Throws InvalidParamsError for unknown kinds: nothing is registered then.
          sub.dispose = source.subscribe(kind, options === undefined ? [] : [options], push);
        } catch (e) {
          perClient.release(client);
          throw e;
        }
        subs.set(sub.id, sub);
        if (!conn.isOpen()) {
          // Closed while subscribing (its close callbacks already ran): nothing will dispose it later.
          subs.delete(sub.id);
          disposeSubscription(sub);
          throw new InternalError("connection closed");
        }
        const activate = (): void => {
          if (sub.disposed) return;
          sub.active = true;
          const pending = sub.pending;
          sub.pending = [];
          for (const json of pending) delivery.add(sub, json);
        };
        if (ctx.afterResponse !== undefined) ctx.afterResponse(activate);
        else queueMicrotask(activate);
        return sub.id;
      },
    ),
    eth_unsubscribe: defineMethod([{ name: "id", type: "string" }], ([id], ctx): boolean => {
      const conn = requireConnection(ctx);
      const subs = registry.get(conn);
      const sub = subs?.get(normalizeId(id));
      if (subs === undefined || sub === undefined) return false;
      subs.delete(sub.id);
      disposeSubscription(sub);
      return true;
    }),
  };
}

function noop(): void {}
