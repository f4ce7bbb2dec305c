/**
 * Web Push (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID) for browsers that are closed: a message
 * on a personal channel that reached no live connection goes to the browser push services the identity
 * registered. It reaches real browsers only where the operator's machine can reach their push service
 * (FCM, Mozilla autopush, Apple); the service itself needs nothing but the endpoint URL it was given.
 * VAPID keys are made on first start and kept in the store, so subscriptions survive restarts.
 */
import webpush from "web-push";
import type { Logger } from "../../runtime/lib/logger.js";
import { PushError, PushErrorCode } from "./errors.js";
import type { PushStore, StoredMessage, WebPushSubscriptionRow } from "./store.js";

export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebPushSender {
  readonly publicKey: string;
  /** Registers `sub` for `channels` (validated: http(s) endpoint, P-256 key, 16-byte auth secret). */
  register(channels: readonly string[], sub: BrowserSubscription): void;
  unregister(channels: readonly string[], endpoint: string): number;
  /** Sends `msg` to every browser registered on its channel; never throws. */
  notify(msg: StoredMessage): void;
  /** Resolves when every send started so far has finished (tests, shutdown). */
  idle(): Promise<void>;
}

export interface WebPushOptions {
  store: PushStore;
  subject: string;
  ttlSec: number;
  now: () => number;
  log: Logger;
  onResult?: (outcome: "sent" | "gone" | "failed") => void;
}

/** Payloads of Web Push are capped near 4 KB by push services; bigger messages go as a pointer. */
const MAX_PAYLOAD = 3000;
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

export function createWebPushSender(opts: WebPushOptions): WebPushSender {
  let pub = opts.store.getMeta("vapid.public");
  let priv = opts.store.getMeta("vapid.private");
  if (pub === undefined || priv === undefined) {
    const k = webpush.generateVAPIDKeys();
    opts.store.setMeta("vapid.public", k.publicKey);
    opts.store.setMeta("vapid.private", k.privateKey);
    pub = k.publicKey;
    priv = k.privateKey;
  }
  const vapid = { subject: opts.subject, publicKey: pub, privateKey: priv };
  const inFlight = new Set<Promise<void>>();

  async function send(row: WebPushSubscriptionRow, msg: StoredMessage): Promise<void> {
    const full = JSON.stringify({ channel: msg.channel, cursor: msg.seq, at: msg.at, data: JSON.parse(msg.data) });
    const body =
      Buffer.byteLength(full) <= MAX_PAYLOAD
        ? full
        : JSON.stringify({ channel: msg.channel, cursor: msg.seq, at: msg.at, truncated: true });
    try {
      // web-push builds the request (VAPID JWT, RFC 8291 encryption); fetch sends it, so an http:// push
      // service on loopback (tests, a self-hosted autopush) works as well as https.
      const req = webpush.generateRequestDetails(
        { endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } },
        body,
        {
          vapidDetails: vapid,
          TTL: opts.ttlSec,
          contentEncoding: "aes128gcm",
        },
      );
      const res = await fetch(req.endpoint, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.body as Buffer,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) opts.onResult?.("sent");
      else if (res.status === 404 || res.status === 410) {
        // The browser unsubscribed: the push service says so once, and the endpoint is dead for good.
        opts.store.removeWebPush([row.channel], row.endpoint);
        opts.onResult?.("gone");
      } else {
        opts.log.warn("web push refused", { endpoint: new URL(row.endpoint).origin, status: res.status });
        opts.onResult?.("failed");
      }
    } catch (e) {
      opts.log.warn("web push failed", { endpoint: new URL(row.endpoint).origin, err: (e as Error).message });
      opts.onResult?.("failed");
    }
  }

  return {
    publicKey: pub,
    register(channels, sub) {
      let url: URL;
      try {
        url = new URL(sub.endpoint);
      } catch {
        throw new PushError({ code: PushErrorCode.BAD_SUBSCRIPTION, reason: "endpoint is not a URL" });
      }
      if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new PushError({ code: PushErrorCode.BAD_SUBSCRIPTION, reason: "endpoint must be http(s)" });
      const p256dh = sub.keys?.p256dh ?? "";
      const auth = sub.keys?.auth ?? "";
      if (!B64URL.test(p256dh) || Buffer.from(p256dh, "base64url").length !== 65)
        throw new PushError({
          code: PushErrorCode.BAD_SUBSCRIPTION,
          reason: "keys.p256dh must be a base64url P-256 public key (65 bytes)",
        });
      if (!B64URL.test(auth) || Buffer.from(auth, "base64url").length !== 16)
        throw new PushError({
          code: PushErrorCode.BAD_SUBSCRIPTION,
          reason: "keys.auth must be a base64url 16-byte secret",
        });
      for (const channel of channels)
        opts.store.addWebPush({ channel, endpoint: sub.endpoint, p256dh, auth }, opts.now());
    },
    unregister: (channels, endpoint) => opts.store.removeWebPush(channels, endpoint),
    notify(msg) {
      for (const row of opts.store.webPushFor(msg.channel)) {
        const p = send(row, msg).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
