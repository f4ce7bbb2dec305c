/**
 * Builders for Azora Auth tests: a core + fastify app over a fresh store (SQLite in a temp dir, or a fresh schema of
 * the PostgreSQL at AZORA_TEST_PG_URL), a recording mailer, a settable clock and cheap argon2 parameters.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import {
  type AuthConfigInput,
  type AuthCore,
  buildAuthApp,
  type ContractSignatureCheck,
  createAuthCore,
  openPostgres,
  openSqlite,
  RecordingMailer,
  resolveAuthConfig,
  SqlAuthRepository,
  type SqlDb,
} from "../../../../services/auth/index.js";
import { tempDir } from "../../../utils/devnode.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely; the assertions check them
export type Body = Record<string, any>;

export const PG_URL = process.env.AZORA_TEST_PG_URL;

export interface StoreBackend {
  name: "sqlite" | "postgres";
  open(): Promise<{ db: SqlDb; drop(): Promise<void> }>;
}

export const SQLITE: StoreBackend = {
  name: "sqlite",
  async open() {
    const dir = tempDir("auth");
    return { db: openSqlite(dir), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

/** A fresh schema per test on the shared server, so runs never see each other's rows (nor the search suite's). */
export const POSTGRES: StoreBackend = {
  name: "postgres",
  async open() {
    const url = PG_URL as string;
    const schema = `azora_auth_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const sep = url.includes("?") ? "&" : "?";
    const db = openPostgres(`${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`);
    return {
      db,
      async drop() {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
        await c.end();
      },
    };
  },
};

export const BACKENDS: StoreBackend[] = PG_URL === undefined ? [SQLITE] : [SQLITE, POSTGRES];

export const FAST_ARGON2 = { memoryCostKiB: 1024, timeCost: 1, parallelism: 1 };

export interface Harness {
  core: AuthCore;
  app: FastifyInstance;
  mailer: RecordingMailer;
  clock: { ms: number };
  db: SqlDb;
  close(): Promise<void>;
}

export async function harness(
  backend: StoreBackend,
  over: AuthConfigInput = {},
  mods: { contractCheck?: ContractSignatureCheck | null; realClock?: boolean } = {},
): Promise<Harness> {
  const { db, drop } = await backend.open();
  const repo = new SqlAuthRepository(db);
  await repo.migrate();
  const clock = { ms: Date.parse("2026-12-05T12:00:00Z") };
  const cfg = resolveAuthConfig(undefined, {
    issuer: "http://127.0.0.1:8090",
    ...over,
    password: { ...FAST_ARGON2, ...(over.password ?? {}) },
    siwe: { domain: "app.azora.test", chainId: 16730, ...(over.siwe ?? {}) },
    webauthn: { rpId: "localhost", origin: "http://localhost:8090", ...(over.webauthn ?? {}) },
    rateLimit: { max: 1000, ...(over.rateLimit ?? {}) },
  });
  const mailer = new RecordingMailer();
  const core = await createAuthCore(cfg, {
    mailer,
    repo,
    now: mods.realClock ? Date.now : () => clock.ms,
    contractCheck: mods.contractCheck ?? null,
  });
  const app = await buildAuthApp(core, {
    log: nullLogger,
    version: "test",
    now: mods.realClock ? Date.now : () => clock.ms,
  });
  return {
    core,
    app,
    mailer,
    clock,
    db,
    async close() {
      await app.close();
      await core.close();
      await drop();
    },
  };
}

/** POST JSON through fastify inject; returns status and parsed body. */
export async function post(app: FastifyInstance, url: string, body: unknown, token?: string) {
  const r = await app.inject({
    method: "POST",
    url,
    payload: body as Record<string, unknown>,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: r.statusCode, body: r.body === "" ? {} : (JSON.parse(r.body) as Body) };
}

export async function get(app: FastifyInstance, url: string, token?: string) {
  const r = await app.inject({
    method: "GET",
    url,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: r.statusCode, body: JSON.parse(r.body) as Body };
}

export const tokenOf = (link: string) => new URL(link).searchParams.get("token") as string;
