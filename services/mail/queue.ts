/**
 * The outbound queue: SQLite (better-sqlite3, WAL, synchronous=FULL). A message is stored once, by Message-ID, with
 * one row per recipient; each attempt's outcome is written before the next step, so a process killed at any point
 * resumes from the rows (a recipient whose 250 is recorded is never sent again). The retry schedule is a pure
 * function (`backoffMs`) so it is tested without a clock.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { DeliveryReport } from "./ports.js";

export interface RetryPolicy {
  /** Delay before the second attempt, in ms; each later one doubles (capped by maxDelayMs). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts before a recipient with only temporary failures is given up ("failed"). */
  maxAttempts: number;
}

/** Delay after `attempts` failed attempts (1 → base, 2 → 2·base, …), capped; full schedule is deterministic. */
export function backoffMs(attempts: number, p: RetryPolicy): number {
  if (attempts < 1) return 0;
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(attempts - 1, 40));
}

export type RecipientStatus = "queued" | DeliveryReport["status"];

export interface QueuedRecipient {
  messageId: string;
  recipient: string;
  status: RecipientStatus;
  attempts: number;
  nextAt: number;
  lastReply: string;
  mx: string | null;
  at: number;
}

export interface QueuedMessage {
  messageId: string;
  envelopeFrom: string;
  /** The unsigned RFC 5322 message (signed per attempt, so a key rotation applies to retries). */
  raw: Buffer;
  createdAt: number;
}

export interface Suppression {
  address: string;
  reason: string;
  at: number;
}

export interface MailQueue {
  /** Stores a message and its recipients; a repeat with the same Message-ID adds nothing (returns false). */
  enqueue(m: QueuedMessage, recipients: readonly string[]): boolean;
  message(messageId: string): QueuedMessage | undefined;
  recipients(messageId: string): QueuedRecipient[];
  /** Recipients due at `now`, oldest first. */
  due(now: number, limit: number): QueuedRecipient[];
  /** The earliest `nextAt` of a queued recipient, or null when nothing waits. */
  nextDue(): number | null;
  /** Records an attempt's outcome: final (status ≠ queued) or a retry at `nextAt`. */
  record(r: Omit<QueuedRecipient, "attempts"> & { attempted: boolean }): void;
  suppress(s: Suppression): void;
  suppression(address: string): Suppression | undefined;
  counts(): Record<RecipientStatus, number>;
  close(): void;
}

export function openMailQueue(file: string): MailQueue {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  chmodSync(file, 0o600); // queued mail is private; the data dir may be traversable for Dovecot
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS messages (
      message_id TEXT PRIMARY KEY, envelope_from TEXT NOT NULL, raw BLOB NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS recipients (
      message_id TEXT NOT NULL REFERENCES messages(message_id), recipient TEXT NOT NULL,
      status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
      last_reply TEXT NOT NULL DEFAULT '', mx TEXT, at INTEGER NOT NULL,
      PRIMARY KEY (message_id, recipient));
    CREATE INDEX IF NOT EXISTS recipients_due ON recipients(status, next_at);
    CREATE TABLE IF NOT EXISTS suppressions (address TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL);
  `);
  const insMsg = db.prepare(
    "INSERT OR IGNORE INTO messages (message_id, envelope_from, raw, created_at) VALUES (?, ?, ?, ?)",
  );
  const insRcpt = db.prepare(
    "INSERT OR IGNORE INTO recipients (message_id, recipient, status, next_at, at) VALUES (?, ?, 'queued', ?, ?)",
  );
  const getMsg = db.prepare("SELECT * FROM messages WHERE message_id = ?");
  const getRcpts = db.prepare("SELECT * FROM recipients WHERE message_id = ? ORDER BY rowid");
  const getDue = db.prepare(
    "SELECT * FROM recipients WHERE status = 'queued' AND next_at <= ? ORDER BY next_at, rowid LIMIT ?",
  );
  const getNext = db.prepare("SELECT MIN(next_at) AS n FROM recipients WHERE status = 'queued'");
  const upd = db.prepare(
    `UPDATE recipients SET status = ?, attempts = attempts + ?, next_at = ?, last_reply = ?, mx = ?, at = ?
     WHERE message_id = ? AND recipient = ?`,
  );
  const insSup = db.prepare("INSERT OR REPLACE INTO suppressions (address, reason, at) VALUES (?, ?, ?)");
  const getSup = db.prepare("SELECT * FROM suppressions WHERE address = ?");
  const getCounts = db.prepare("SELECT status, COUNT(*) AS n FROM recipients GROUP BY status");

  type Row = Record<string, unknown>;
  const rcptOf = (r: Row): QueuedRecipient => ({
    messageId: r.message_id as string,
    recipient: r.recipient as string,
    status: r.status as RecipientStatus,
    attempts: r.attempts as number,
    nextAt: r.next_at as number,
    lastReply: r.last_reply as string,
    mx: (r.mx as string | null) ?? null,
    at: r.at as number,
  });

  const enqueueTx = db.transaction((m: QueuedMessage, recipients: readonly string[]) => {
    if (insMsg.run(m.messageId, m.envelopeFrom, m.raw, m.createdAt).changes === 0) return false;
    for (const r of recipients) insRcpt.run(m.messageId, r, m.createdAt, m.createdAt);
    return true;
  });

  return {
    enqueue: (m, recipients) => enqueueTx(m, recipients),
    message(messageId) {
      const r = getMsg.get(messageId) as Row | undefined;
      return r === undefined
        ? undefined
        : {
            messageId: r.message_id as string,
            envelopeFrom: r.envelope_from as string,
            raw: r.raw as Buffer,
            createdAt: r.created_at as number,
          };
    },
    recipients: (messageId) => (getRcpts.all(messageId) as Row[]).map(rcptOf),
    due: (now, limit) => (getDue.all(now, limit) as Row[]).map(rcptOf),
    nextDue: () => ((getNext.get() as { n: number | null }).n ?? null) as number | null,
    record(r) {
      upd.run(r.status, r.attempted ? 1 : 0, r.nextAt, r.lastReply, r.mx, r.at, r.messageId, r.recipient);
    },
    suppress: (s) => void insSup.run(s.address.toLowerCase(), s.reason, s.at),
    suppression(address) {
      const r = getSup.get(address.toLowerCase()) as Row | undefined;
      return r === undefined
        ? undefined
        : { address: r.address as string, reason: r.reason as string, at: r.at as number };
    },
    counts() {
      const out: Record<RecipientStatus, number> = { queued: 0, delivered: 0, bounced: 0, failed: 0 };
      for (const r of getCounts.all() as { status: RecipientStatus; n: number }[]) out[r.status] = r.n;
      return out;
    },
    close: () => db.close(),
  };
}
