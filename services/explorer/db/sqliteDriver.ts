/**
 * better-sqlite3 behind the SQL port: WAL, one connection that writes and one that reads, so API reads see only
 * committed blocks while the indexer holds a write transaction open across its awaits.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Param, Row, SQLDriver, SQLQueries } from "./driver.js";

function queries(db: Database.Database): SQLQueries {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  return {
    async all<T = Row>(sql: string, params: Param[] = []) {
      return prepare(sql).all(...params) as T[];
    },
    async run(sql: string, params: Param[] = []) {
      prepare(sql).run(...params);
    },
  };
}

export function openSQLiteDriver(file: string, opts: { synchronous?: "FULL" | "NORMAL" | "OFF" } = {}): SQLDriver {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const writer = new Database(file);
  writer.pragma("journal_mode = WAL");
  writer.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
  writer.pragma("busy_timeout = 5000");
  let reader: Database.Database | undefined;
  let readQ: SQLQueries | undefined;
  const writeQ = queries(writer);
  // The reader is opened after the schema exists (a prepared statement on a missing table fails).
  const read = () => {
    if (readQ === undefined) {
      reader = new Database(file, { readonly: file !== ":memory:" });
      reader.pragma("busy_timeout = 5000");
      readQ = queries(reader);
    }
    return readQ;
  };
  let inTx = false;
  return {
    kind: "sqlite",
    all: (sql, params) => (file === ":memory:" ? writeQ.all(sql, params) : read().all(sql, params)),
    run: (sql, params) => writeQ.run(sql, params),
    async migrate(statements) {
      writer.exec(statements.join(";\n"));
    },
    async transaction(fn) {
      if (inTx) throw new Error("sqlite: nested write transaction");
      inTx = true;
      writer.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(writeQ);
        writer.exec("COMMIT");
        return out;
      } catch (e) {
        if (writer.inTransaction) writer.exec("ROLLBACK");
        throw e;
      } finally {
        inTx = false;
      }
    },
    async close() {
      reader?.close();
      writer.close();
    },
  };
}
