import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../services/search/index.js";
import type { SearchStore } from "../../services/search/store.js";

/**
 * The backends the search suite runs against: the embedded store always; PostgreSQL when `AZORA_TEST_PG_URL`
 * names a server (`.ci/run` starts one and sets it), each test run in a schema of its own that is dropped after.
 */
export interface Backend {
  name: string;
  /** A variant of another backend that only the engine suite needs to run (not the slower model-backed ones). */
  variant?: boolean;
  /** A fresh, empty store; `reopen` opens the same data again (restart persistence). */
  create(): Promise<{ store: SearchStore; reopen: () => Promise<SearchStore>; cleanup: () => Promise<void> }>;
}

export const PG_URL = process.env.AZORA_TEST_PG_URL;

let n = 0;
export const BACKENDS: Backend[] = [
  {
    name: "sqlite",
    async create() {
      const dir = mkdtempSync(join(tmpdir(), "azora-search-"));
      return {
        store: await openStore({ backend: "sqlite", dataDir: dir }),
        reopen: () => openStore({ backend: "sqlite", dataDir: dir }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    // The same store counting facets in SQL (the path for fields too large to hold in memory).
    name: "sqlite, facets in SQL",
    variant: true,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), "azora-search-"));
      const options = { facetRowsInMemory: 0 };
      return {
        store: await openStore({ backend: "sqlite", dataDir: dir, options }),
        reopen: () => openStore({ backend: "sqlite", dataDir: dir, options }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  ...(PG_URL === undefined
    ? []
    : [
        {
          name: "postgres",
          async create() {
            const schema = `azora_test_${process.pid}_${n++}_${Date.now() % 1e6}`;
            const open = () => openStore({ backend: "postgres", postgres: { url: PG_URL, schema } });
            const store = await open();
            return {
              store,
              reopen: open,
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
