import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQLDriver } from "../../services/explorer/db/driver.js";
import { openPostgresDriver } from "../../services/explorer/db/pgDriver.js";
import { openSQLiteDriver } from "../../services/explorer/db/sqliteDriver.js";

/**
 * The backends the explorer suite runs against: SQLite always; PostgreSQL when `AZORA_TEST_PG_URL` names a server
 * (`.ci/run` starts one), each database in a schema of its own, dropped after.
 */
export interface Backend {
  name: string;
  /** A fresh empty database: `open` connects to it (again after a "crash"), `cleanup` removes it. */
  create(): { open: () => Promise<SQLDriver>; cleanup: () => Promise<void> };
}

export const PG_URL = process.env.AZORA_TEST_PG_URL;

let n = 0;
export const BACKENDS: Backend[] = [
  {
    name: "sqlite",
    create() {
      const dir = mkdtempSync(join(tmpdir(), "azora-explorer-"));
      return {
        open: async () => openSQLiteDriver(join(dir, "explorer.sqlite")),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  ...(PG_URL === undefined
    ? []
    : [
        {
          name: "postgres",
          create() {
            const schema = `azora_explorer_test_${process.pid}_${n++}`;
            return {
              open: () => openPostgresDriver({ url: PG_URL, schema }),
              cleanup: async () => {
                const pg = await import("pg");
                const c = new pg.default.Client({ connectionString: PG_URL });
                await c.connect();
                await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
                await c.end();
              },
            };
          },
        },
      ]),
];
