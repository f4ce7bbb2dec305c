/**
 * node-postgres behind the SQL port: a pool, tables in a schema of their own (`search_path`), `?` placeholders
 * rewritten to `$n`, BIGINT returned as a JS number (block numbers and counts stay far below 2^53; token amounts
 * are TEXT).
 */
import pg from "pg";
import type { Param, Row, SQLDriver, SQLQueries } from "./driver.js";

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function toDollar(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (v: string) => Number(v); // int8
    return pg.types.getTypeParser(oid, format);
  },
};

function queriesOf(c: pg.Pool | pg.PoolClient): SQLQueries {
  return {
    async all<T = Row>(sql: string, params: Param[] = []) {
      return (await c.query(toDollar(sql), params)).rows as T[];
    },
    async run(sql: string, params: Param[] = []) {
      await c.query(toDollar(sql), params);
    },
  };
}

export async function openPostgresDriver(opts: { url: string; schema: string; poolSize?: number }): Promise<SQLDriver> {
  if (!SCHEMA_NAME.test(opts.schema)) throw new Error(`postgres schema name not allowed: ${opts.schema}`);
  const boot = new pg.Client({ connectionString: opts.url });
  await boot.connect();
  try {
    await boot.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
  } finally {
    await boot.end();
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 4,
    options: `-c search_path=${opts.schema}`,
    types,
  });
  const q = queriesOf(pool);
  return {
    kind: "postgres",
    all: q.all,
    run: q.run,
    async migrate(statements) {
      for (const s of statements) await pool.query(s);
    },
    async transaction(fn) {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        const out = await fn(queriesOf(c));
        await c.query("COMMIT");
        return out;
      } catch (e) {
        await c.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
