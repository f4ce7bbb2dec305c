/**
 * The push service's durable state: SQLite (better-sqlite3, WAL). Every published message is written here
 * before it is sent, with a global, increasing sequence number that is its cursor; so a client that
 * reconnects "since" a cursor gets exactly what it missed, across restarts of the service. Per identity and
 * channel the store keeps the highest acknowledged cursor, which a reconnect without an explicit cursor
 * resumes from. Retention is bounded per channel (count) and by age.
 *
 * Also kept here: Web Push subscriptions per identity, the chain follower's next block, and the idempotency
 * keys of chain events (so a restart that re-reads a block does not notify twice).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export interface StoredMessage {
  /** The message's cursor: global, increasing, never reused. */
  seq: number;
  channel: string;
  /** JSON text of the payload. */
  data: string;
  /** Publish time, unix ms (from the injected clock). */
  at: number;
}

export interface WebPushSubscriptionRow {
  /** The channel this browser subscription is notified for (a user's or a wallet's). */
  channel: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushStore {
  /** Appends a message; returns it with its cursor. `dedupeKey` makes a repeat publish a no-op (returns null). */
  append(channel: string, data: string, at: number, dedupeKey?: string): StoredMessage | null;
  /** Messages of `channels` with seq > `since`, oldest first, at most `limit`. */
  since(channels: readonly string[], since: number, limit: number): StoredMessage[];
  /** The newest cursor (0 when empty). */
  head(): number;
  ack(sub: string, channel: string, seq: number): void;
  /** Highest acknowledged cursor of `sub` on `channel` (0 if none). */
  acked(sub: string, channel: string): number;
  /** Drops messages beyond `maxPerChannel` per channel and older than `olderThan` (unix ms). Returns the count. */
  prune(maxPerChannel: number, olderThan: number): number;
  addWebPush(row: WebPushSubscriptionRow, at: number): void;
  /** Removes the endpoint from the given channels; returns how many rows went. */
  removeWebPush(channels: readonly string[], endpoint: string): number;
  webPushFor(channel: string): WebPushSubscriptionRow[];
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

export function openPushStore(file: string): PushStore {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      channel TEXT NOT NULL,
      data TEXT NOT NULL,
      at INTEGER NOT NULL,
      dedupe TEXT UNIQUE
    );
    CREATE INDEX IF NOT EXISTS messages_channel_seq ON messages (channel, seq);
    CREATE TABLE IF NOT EXISTS acks (
      sub TEXT NOT NULL, channel TEXT NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (sub, channel)
    );
    CREATE TABLE IF NOT EXISTS webpush (
      channel TEXT NOT NULL, endpoint TEXT NOT NULL, p256dh TEXT NOT NULL, auth TEXT NOT NULL, at INTEGER NOT NULL,
      PRIMARY KEY (channel, endpoint)
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  const insert = db.prepare(
    "INSERT INTO messages (channel, data, at, dedupe) VALUES (?, ?, ?, ?) ON CONFLICT (dedupe) DO NOTHING",
  );
  // The sequence, not MAX(seq): retention may have removed the newest messages' predecessors or all of them,
  // and a cursor must never go back.
  const headStmt = db.prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0) AS seq");
  const ackStmt = db.prepare(
    "INSERT INTO acks (sub, channel, seq) VALUES (?, ?, ?) ON CONFLICT (sub, channel) DO UPDATE SET seq = MAX(seq, excluded.seq)",
  );
  const ackedStmt = db.prepare("SELECT seq FROM acks WHERE sub = ? AND channel = ?");
  const pruneCount = db.prepare(
    `DELETE FROM messages WHERE seq IN (
       SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY seq DESC) AS n FROM messages)
       WHERE n > ?)`,
  );
  const pruneAge = db.prepare("DELETE FROM messages WHERE at < ?");
  const addPush = db.prepare(
    "INSERT INTO webpush (channel, endpoint, p256dh, auth, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth, at = excluded.at",
  );
  const delPush = db.prepare("DELETE FROM webpush WHERE channel = ? AND endpoint = ?");
  const listPush = db.prepare("SELECT channel, endpoint, p256dh, auth FROM webpush WHERE channel = ? ORDER BY at");
  const getMeta = db.prepare("SELECT value FROM meta WHERE key = ?");
  const setMeta = db.prepare(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  );

  return {
    append(channel, data, at, dedupeKey) {
      const r = insert.run(channel, data, at, dedupeKey ?? null);
      if (r.changes === 0) return null;
      return { seq: Number(r.lastInsertRowid), channel, data, at };
    },
    since(channels, since, limit) {
      if (channels.length === 0) return [];
      const marks = channels.map(() => "?").join(",");
      return db
        .prepare(
          `SELECT seq, channel, data, at FROM messages WHERE channel IN (${marks}) AND seq > ? ORDER BY seq LIMIT ?`,
        )
        .all(...channels, since, limit) as StoredMessage[];
    },
    head: () => (headStmt.get() as { seq: number }).seq,
    ack(sub, channel, seq) {
      ackStmt.run(sub, channel, seq);
    },
    acked(sub, channel) {
      return (ackedStmt.get(sub, channel) as { seq: number } | undefined)?.seq ?? 0;
    },
    prune(maxPerChannel, olderThan) {
      return db.transaction(() => pruneCount.run(maxPerChannel).changes + pruneAge.run(olderThan).changes)();
    },
    addWebPush(row, at) {
      addPush.run(row.channel, row.endpoint, row.p256dh, row.auth, at);
    },
    removeWebPush(channels, endpoint) {
      return db.transaction(() => channels.reduce((n, c) => n + delPush.run(c, endpoint).changes, 0))();
    },
    webPushFor: (channel) => listPush.all(channel) as WebPushSubscriptionRow[],
    getMeta: (key) => (getMeta.get(key) as { value: string } | undefined)?.value,
    setMeta(key, value) {
      setMeta.run(key, value);
    },
    close() {
      db.close();
    },
  };
}
