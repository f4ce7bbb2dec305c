/**
 * The explorer process `azora explorer` runs: the store (SQLite file or PostgreSQL), the indexer following the node,
 * and the HTTP API — REST under `/v1`, the Etherscan-compatible `/api`, `/health`, Prometheus `/metrics` and
 * `/openapi.json` generated from the route schemas, and the web UI at `/` (`ui.ts`).
 */
import swagger from "@fastify/swagger";
import fastifyWebsocket from "@fastify/websocket";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import type { Logger } from "../../runtime/lib/logger.js";
import { createRPCClient } from "../runtime/chain/rpcClient.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import { type ExplorerConfig, wsOf } from "./config.js";
import type { SQLDriver } from "./db/driver.js";
import { createBlockFetcher } from "./fetcher.js";
import { createFullTextIndex, type FullTextIndex } from "./fullText.js";
import { installErrorHandler } from "./http/errors.js";
import { registerEtherscanRoutes } from "./http/etherscan.js";
import { registerLive } from "./http/live.js";
import { registerPlatformRoutes } from "./http/platformRoutes.js";
import { registerRoutes } from "./http/routes.js";
import { registerTokenRoutes } from "./http/tokenRoutes.js";
import { Indexer } from "./indexer.js";
import { createExplorerMetrics } from "./metrics.js";
import { PlatformReader } from "./platform.js";
import { PlatformStore } from "./platformStore.js";
import { ExplorerStore } from "./store.js";
import { registerUI } from "./ui.js";
import { createVerifier } from "./verifier.js";
import { Views } from "./views.js";

export interface ExplorerService {
  url: string;
  app: FastifyInstance;
  store: ExplorerStore;
  indexer: Indexer | null;
  close(): Promise<void>;
}

export async function openDriver(cfg: Pick<ExplorerConfig, "db" | "pgSchema">): Promise<SQLDriver> {
  if (/^postgres(ql)?:\/\//.test(cfg.db)) {
    const { openPostgresDriver } = await import("./db/pgDriver.js");
    return openPostgresDriver({ url: cfg.db, schema: cfg.pgSchema });
  }
  const { openSQLiteDriver } = await import("./db/sqliteDriver.js");
  return openSQLiteDriver(cfg.db);
}

export async function startExplorer(
  cfg: ExplorerConfig,
  mods: { log: Logger; version: string },
): Promise<ExplorerService> {
  const store = await ExplorerStore.open(await openDriver(cfg));
  const register = new Registry();
  collectProcessMetrics(register, "azora_explorer_process_");
  const metrics = createExplorerMetrics(register);
  const rpc = createRPCClient(cfg.rpc);
  const views = new Views(store, async (a) =>
    BigInt(await rpc.call<string>("eth_getBalance", [a, "latest"])).toString(),
  );
  const verifier = createVerifier({ store, rpc, views, metrics });
  const reader = new PlatformReader(rpc, () => store.cursor());
  const fullText: FullTextIndex | null =
    cfg.search.url === undefined
      ? null
      : createFullTextIndex({
          url: cfg.search.url,
          apiKey: cfg.search.apiKey,
          index: cfg.search.index,
          db: store.db,
          reader,
          log: mods.log.child({ part: "full-text" }),
        });

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 32 * 1024 * 1024 });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora Explorer",
        description:
          "Blocks, transactions, addresses, tokens and verified contracts of an Azora chain, and the Etherscan-compatible /api",
        version: mods.version,
      },
    },
  });
  installErrorHandler(app, (e) => mods.log.error("explorer request failed", {}, e));
  app.addHook("onResponse", async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
  });

  let indexer: Indexer | null = null;
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and indexing progress",
        tags: ["operations"],
        response: {
          200: Type.Object({
            status: Type.String({ enum: ["ok", "catching-up"] }),
            indexedHeight: Type.Union([Type.Integer(), Type.Null()]),
            head: Type.Union([Type.Integer(), Type.Null()]),
            backend: Type.String(),
            lastError: Type.Union([Type.String(), Type.Null()], {
              description: "why the last batch failed (retrying), null once one succeeds",
            }),
          }),
        },
      },
    },
    async () => {
      const p = indexer?.progress();
      return {
        status: p?.catchingUp ? "catching-up" : "ok",
        indexedHeight: await store.cursor(),
        head: p === undefined || p.head < 0 ? null : p.head,
        backend: store.db.kind,
        lastError: p?.lastError?.message ?? null,
      };
    },
  );
  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["operations"], produces: ["text/plain"] } },
    async (_req, reply) => {
      reply.header("content-type", register.contentType);
      return register.metrics();
    },
  );
  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 } });
  registerRoutes(app, { store, views, verifier });
  const publishHeight = registerLive(app, () => store.cursor());
  registerEtherscanRoutes(app, { store, verifier });
  registerPlatformRoutes(app, { reader, platform: new PlatformStore(store.db), fullText });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  const tokenRoutes = registerTokenRoutes(app, { store, rpc, ipfsGateway: cfg.ipfsGateway });
  registerUI(app, undefined, cfg.ipfsGateway);

  if (cfg.indexer.enabled) {
    indexer = new Indexer({
      store,
      rpc,
      fetcher: createBlockFetcher(rpc),
      wsUrl: wsOf(cfg),
      logger: mods.log.child({ part: "indexer" }),
      metrics,
      fromBlock: cfg.indexer.fromBlock,
      batchBlocks: cfg.indexer.batchBlocks,
      pollMs: cfg.indexer.pollMs,
    });
    indexer.onIndexed(publishHeight);
    indexer.onIndexed(tokenRoutes.indexed);
    if (fullText !== null) indexer.onIndexed(() => void fullText.sync());
    await indexer.start();
  }
  // Verifications arrive between blocks: a timer pushes them too.
  const syncTimer = fullText === null ? null : setInterval(() => void fullText.sync(), cfg.search.syncMs);
  syncTimer?.unref();
  const url = await app.listen({ host: cfg.http.host, port: cfg.http.port });
  mods.log.info("explorer listening", { url, backend: store.db.kind });
  return {
    url,
    app,
    store,
    indexer,
    async close() {
      if (syncTimer !== null) clearInterval(syncTimer);
      await indexer?.stop();
      await app.close();
      await store.close();
    },
  };
}
