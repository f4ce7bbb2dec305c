/**
 * Fan-out: which live connections read which channel, and the publish path — store first, then send — so a
 * message a client misses while disconnected (or while the service restarts) is replayed from its cursor.
 * Replay and subscription happen in one synchronous step (SQLite reads are synchronous), so no live message
 * can slip between the replayed ones and the first live one: each connection sees increasing cursors.
 */
import { assertCanRead, type Identity, parseChannel } from "./channels.js";
import { PushError, PushErrorCode } from "./errors.js";
import type { PushStore, StoredMessage } from "./store.js";

/** One live connection, as the hub sees it. */
export interface Subscriber {
  readonly who: Identity;
  /** Sends one message; false when the connection is too far behind (the hub then drops it). */
  deliver(msg: StoredMessage): boolean;
  /** Closes a connection the hub gave up on (slow consumer). */
  evict(reason: string): void;
}

export interface PublishOutcome {
  /** null when `dedupeKey` was seen before (nothing sent). */
  message: StoredMessage | null;
  /** Live connections the message was sent to. */
  delivered: number;
}

export interface HubOptions {
  store: PushStore;
  now: () => number;
  maxChannelsPerSubscriber: number;
  maxReplay: number;
  maxMessageBytes: number;
  /** Called after a publish that reached no live reader of a personal channel (Web Push hooks in here). */
  onUndelivered?: (msg: StoredMessage) => void;
  onDelivered?: (msg: StoredMessage, count: number) => void;
}

export interface Replay {
  messages: StoredMessage[];
  /** More than `maxReplay` were waiting: the client asks again since the last cursor it got. */
  more: boolean;
}

export class Hub {
  private readonly readers = new Map<string, Set<Subscriber>>();
  private readonly channelsOf = new Map<Subscriber, Set<string>>();

  constructor(private readonly opts: HubOptions) {}

  /**
   * Subscribes `s` to `names` and returns what it missed on them: since `since` when given, else since what
   * this identity last acknowledged on each channel (topics it never acknowledged start from now).
   */
  subscribe(s: Subscriber, names: readonly string[], since?: number): Replay {
    const channels = names.map(parseChannel);
    for (const c of channels) assertCanRead(s.who, c);
    const mine = this.channelsOf.get(s) ?? new Set<string>();
    const added = channels.filter((c) => !mine.has(c.name));
    if (mine.size + added.length > this.opts.maxChannelsPerSubscriber)
      throw new PushError({
        code: PushErrorCode.LIMIT,
        what: "channels on one connection",
        limit: this.opts.maxChannelsPerSubscriber,
      });
    const head = this.opts.store.head();
    const replay: StoredMessage[] = [];
    let more = false;
    for (const c of added) {
      const from = since ?? this.defaultCursor(s.who, c.name, c.kind === "topic", head);
      const rows = this.opts.store.since([c.name], from, this.opts.maxReplay + 1);
      if (rows.length > this.opts.maxReplay) {
        more = true;
        rows.length = this.opts.maxReplay;
      }
      replay.push(...rows);
      mine.add(c.name);
      const set = this.readers.get(c.name) ?? new Set<Subscriber>();
      this.readers.set(c.name, set);
      set.add(s);
    }
    this.channelsOf.set(s, mine);
    replay.sort((a, b) => a.seq - b.seq);
    if (replay.length > this.opts.maxReplay) {
      more = true;
      replay.length = this.opts.maxReplay;
    }
    return { messages: replay, more };
  }

  unsubscribe(s: Subscriber, names: readonly string[]): void {
    for (const name of names) {
      const c = parseChannel(name).name;
      this.channelsOf.get(s)?.delete(c);
      this.dropReader(c, s);
    }
  }

  /** Forgets a closed connection. */
  remove(s: Subscriber): void {
    for (const c of this.channelsOf.get(s) ?? []) this.dropReader(c, s);
    this.channelsOf.delete(s);
  }

  channels(s: Subscriber): string[] {
    return [...(this.channelsOf.get(s) ?? [])];
  }

  /** Records that `s` has everything up to `cursor` on each of its channels. */
  ack(s: Subscriber, cursor: number): void {
    if (!Number.isSafeInteger(cursor) || cursor < 0)
      throw new PushError({ code: PushErrorCode.BAD_FRAME, reason: "ack cursor must be a non-negative integer" });
    const upTo = Math.min(cursor, this.opts.store.head());
    for (const c of this.channelsOf.get(s) ?? []) this.opts.store.ack(s.who.sub, c, upTo);
  }

  publish(channelName: string, data: unknown, dedupeKey?: string): PublishOutcome {
    const channel = parseChannel(channelName);
    const text = JSON.stringify(data ?? null);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxMessageBytes)
      throw new PushError({ code: PushErrorCode.TOO_LARGE, bytes, limit: this.opts.maxMessageBytes });
    const message = this.opts.store.append(channel.name, text, this.opts.now(), dedupeKey);
    if (message === null) return { message, delivered: 0 };
    let delivered = 0;
    for (const s of [...(this.readers.get(channel.name) ?? [])]) {
      if (s.deliver(message)) delivered++;
      else {
        this.remove(s);
        s.evict("too far behind: reconnect to resume from your last acknowledged cursor");
      }
    }
    this.opts.onDelivered?.(message, delivered);
    if (delivered === 0 && channel.kind !== "topic") this.opts.onUndelivered?.(message);
    return { message, delivered };
  }

  /** Live connections (for metrics). */
  get connections(): number {
    return this.channelsOf.size;
  }

  private defaultCursor(who: Identity, channel: string, isTopic: boolean, head: number): number {
    const acked = this.opts.store.acked(who.sub, channel);
    return acked === 0 && isTopic ? head : acked;
  }

  private dropReader(channel: string, s: Subscriber): void {
    const set = this.readers.get(channel);
    if (set === undefined) return;
    set.delete(s);
    if (set.size === 0) this.readers.delete(channel);
  }
}
