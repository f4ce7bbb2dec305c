/**
 * The SQL port the auth repository runs on, with two drivers: SQLite (better-sqlite3, the default) and PostgreSQL
 * (`pg`). Statements are written once with `?` placeholders and portable types (TEXT, BIGINT, INTEGER flags); the
 * PostgreSQL driver numbers the placeholders. Every operation that must be atomic is one statement (conditional
 * UPDATE/DELETE … RETURNING), so neither driver needs interactive transactions.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";

export type SqlValue = string | number | null;

export interface SqlDb {
  readonly dialect: "sqlite" | "postgres";
  /** Rows of a query (or of a statement with RETURNING). Values are always bound, never spliced into the text. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of DDL statements separated by `;` (no parameters). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

export function openSqlite(dataDir: string, file = "auth.sqlite"): SqlDb {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, file));
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  const cache = new Map<string, Database.Statement>();
  const prep = (sql: string) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  return {
    dialect: "sqlite",
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return prep(sql).all(...params) as T[];
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      const s = prep(sql);
      if (s.reader) return s.all(...params).length;
      return s.run(...params).changes;
    },
    async exec(script: string) {
      db.exec(script);
    },
    async close() {
      db.close();
    },
  };
}

// BIGINT (int8) columns hold millisecond times: safe integers, so parse them as numbers rather than strings.
pg.types.setTypeParser(20, (v) => Number(v));

export function openPostgres(url: string): SqlDb {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const numbered = (sql: string) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  return {
    dialect: "postgres",
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return (await pool.query(numbered(sql), params as SqlValue[])).rows as T[];
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return (await pool.query(numbered(sql), params as SqlValue[])).rowCount ?? 0;
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async close() {
      await pool.end();
    },
  };
}
