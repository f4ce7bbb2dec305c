/**
 * Generic `eth_subscribe` / `eth_unsubscribe` over WebSocket. The Ethereum method author supplies a
 * `SubscriptionSource` (newHeads, logs, newPendingTransactions); this module owns ids, the
 * per-connection registry, notification envelopes, ordering (no notification before the
 * subscription id reached the client) and disposal when the connection closes.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../runtime/lib/logger.js";
import { InternalError, LimitExceededError, NotificationsUnsupportedError } from "./errors.js";
import { type CallContext, defineMethod, type MethodTable, type WSConnectionHandle } from "./types.js";

export interface SubscriptionSource {
  /**
   * Starts a subscription of `kind` (`params` = the eth_subscribe args after the kind) and returns
   * its dispose function. Throws InvalidParamsError for unknown kinds or bad params. `push` may be
   * called synchronously; calls after dispose are ignored.
   */
  subscribe(kind: string, params: unknown[], push: (result: unknown) => void): () => void;
}

export interface SubscriptionMethodsOptions {
  /** Live subscriptions per connection (default 1000); more → -32005. */
  maxPerConnection?: number;
  /**
   * Notifications buffered while the eth_subscribe response is still in flight (default 10,000);
   * more closes the connection (the client is not keeping up).
   */
  maxPending?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000;
export const DEFAULT_MAX_PENDING_NOTIFICATIONS = 10_000;
/** WebSocket close code used when a subscriber cannot keep up (1008 = policy violation). */
export const WS_CLOSE_SLOW_CONSUMER = 1008;

/** `0x` + 32 random hex chars, like geth's subscription ids. */
export function newSubscriptionId(): string {
  return `0x${randomBytes(16).toString("hex")}`;
}

interface Subscription {
  id: string;
  active: boolean;
  disposed: boolean;
  pending: unknown[];
  dispose: () => void;
}

/** `eth_subscribe(kind, options?) → id` (ws only) and `eth_unsubscribe(id) → bool`. */
export function createSubscriptionMethods(
  source: SubscriptionSource,
  opts: SubscriptionMethodsOptions = {},
): MethodTable {
  const maxPerConnection = opts.maxPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  const maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING_NOTIFICATIONS;
  const registry = new WeakMap<WSConnectionHandle, Map<string, Subscription>>();

  function disposeSubscription(sub: Subscription): void {
    if (sub.disposed) return;
    sub.disposed = true;
    sub.pending = [];
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

  function send(conn: WSConnectionHandle, sub: Subscription, result: unknown): void {
    conn.send({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: sub.id, result } });
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
        const sub: Subscription = {
          id: newSubscriptionId(),
          active: false,
          disposed: false,
          pending: [],
          dispose: noop,
        };
        const push = (result: unknown): void => {
          if (sub.disposed) return;
          if (sub.active) {
            send(conn, sub, result);
            return;
          }
          if (sub.pending.length >= maxPending) {
            conn.close(WS_CLOSE_SLOW_CONSUMER, "too many pending notifications");
            return;
          }
          sub.pending.push(result);
        };
        // Throws InvalidParamsError for unknown kinds: nothing is registered then.
        sub.dispose = source.subscribe(kind, options === undefined ? [] : [options], push);
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
          for (const result of pending) {
            if (sub.disposed) return;
            send(conn, sub, result);
          }
        };
        if (ctx.afterResponse !== undefined) ctx.afterResponse(activate);
        else queueMicrotask(activate);
        return sub.id;
      },
    ),
    eth_unsubscribe: defineMethod([{ name: "id", type: "string" }], ([id], ctx): boolean => {
      const conn = requireConnection(ctx);
      const subs = registry.get(conn);
      const sub = subs?.get(id);
      if (subs === undefined || sub === undefined) return false;
      subs.delete(id);
      disposeSubscription(sub);
      return true;
    }),
  };
}

function noop(): void {}
