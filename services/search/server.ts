/**
 * The search service `azora search serve` runs: the store (embedded or PostgreSQL), the engine and its task loop,
 * the HTTP API with `/health`, Prometheus `/metrics` and `/openapi.json`, and — when configured — the chain indexer
 * and paid queries.
 */
import { join } from "node:path";
import swagger from "@fastify/swagger";
import { JsonRpcProvider, NonceManager, type Wallet } from "ethers";
import Fastify, { type FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import type { Logger } from "../../runtime/lib/logger.js";
import { type InputHost, MarketClient } from "../client/marketClient.js";
import { paymentsContract } from "../client/payments.js";
import { registerBlobRoutes } from "../runtime/content/blobRoutes.js";
import { createFileBlobStore } from "../runtime/content/blobStore.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import type { SearchConfig } from "./config.js";
import type { Embedder } from "./embedder.js";
import { SearchEngine } from "./engine.js";
import { installErrorHandler } from "./http/errors.js";
import { registerSearchRoutes } from "./http/routes.js";
import { openStore } from "./index.js";
import { ChainIndexer } from "./indexer/chainIndexer.js";
import { createMarketEmbedder } from "./marketEmbedder.js";
import { createSearchMetrics } from "./metrics.js";
import { PaidQueries } from "./payments/paidQueries.js";

export interface SearchService {
  url: string;
  app: FastifyInstance;
  engine: SearchEngine;
  indexer: ChainIndexer | null;
  paid: PaidQueries | null;
  close(): Promise<void>;
}

export async function startSearchService(
  cfg: SearchConfig,
  mods: {
    log: Logger;
    version: string;
    wallet?: Wallet;
    /** Embeds queries and documents (ai-oracle's text embedder, loaded on first use); null: keyword search only. */
    embedder: Embedder | (() => Promise<Embedder>) | null;
    /**
     * With `embeddings.bulk: "market"`: the requester's key and the `ai/embed` kind's rules (ai-oracle's
     * `decodeEmbeddings` and row comparison), which services may not import.
     */
    bulk?: {
      wallet: Wallet;
      model: string;
      decode: (bytes: Uint8Array) => Float32Array[];
      agree: (a: Float32Array, b: Float32Array) => boolean;
    };
  },
): Promise<SearchService> {
  const log = mods.log;
  const store = await openStore(
    cfg.backend === "sqlite"
      ? { backend: "sqlite", dataDir: cfg.dataDir }
      : { backend: "postgres", postgres: cfg.postgres },
  );
  const register = new Registry();
  collectProcessMetrics(register, "azora_search_process_");
  const metrics = createSearchMetrics(register);
  const provider = new JsonRpcProvider(cfg.rpc, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  provider.pollingInterval = 250;

  // Bulk embedding through the market: job inputs are hosted here (GET /blobs/<cid>), at a URL known after listen.
  const host: InputHost | null =
    cfg.embeddings.bulk === "market"
      ? { store: createFileBlobStore(join(cfg.dataDir, "blobs")), url: cfg.embeddings.market.publicUrl ?? "" }
      : null;
  // One local model for queries, small batches, fallbacks and spot checks, loaded on first use.
  const given = mods.embedder;
  let localP: Promise<Embedder> | null = null;
  const local =
    typeof given === "function"
      ? () =>
          (localP ??= given().catch((e) => {
            localP = null;
            throw e;
          }))
      : given;
  let bulkEmbedder: { embedder: Embedder; bulkMin: number } | null = null;
  if (host !== null) {
    if (mods.bulk === undefined)
      throw new Error('embeddings.bulk "market" needs the requester\'s key and the ai/embed rules');
    if (local === null) throw new Error('embeddings.bulk "market" needs the local embedder (fallback, checks)');
    const bulkLog = log.child({ module: "bulk-embed" });
    bulkEmbedder = {
      bulkMin: cfg.embeddings.bulkMin,
      embedder: createMarketEmbedder({
        market: new MarketClient(new NonceManager(mods.bulk.wallet.connect(provider))),
        host,
        price: BigInt(cfg.embeddings.market.price),
        token: cfg.embeddings.market.token,
        model: mods.bulk.model,
        timeoutMs: cfg.embeddings.market.timeoutMs,
        local: typeof local === "function" ? local : async () => local,
        decode: mods.bulk.decode,
        agree: mods.bulk.agree,
        logger: bulkLog,
        onTexts: (source, n, reason) => metrics.bulkEmbeddings.inc({ source, reason: reason ?? "" }, n),
      }),
    };
    bulkLog.info("bulk indexing embeds through the market", {
      price: cfg.embeddings.market.price,
      token: cfg.embeddings.market.token,
      bulkMin: cfg.embeddings.bulkMin,
    });
  }
  const engine = new SearchEngine(store, {
    embedder: local,
    bulkEmbedder,
    logger: log.child({ module: "tasks" }),
    onTask: (t) => metrics.tasks.inc({ type: t.type, status: t.status }),
  });
  let paid: PaidQueries | null = null;
  if (cfg.payments.enabled) {
    if (mods.wallet === undefined) throw new Error("payments.enabled needs the payee's key (keyFile or devAccount)");
    const wallet = mods.wallet.connect(provider);
    const chainId = (await provider.getNetwork()).chainId;
    const market = paymentsContract(wallet);
    const thawSec = (await market.params())[6] as bigint;
    if (BigInt(cfg.payments.redeemEveryMs) * 4n > thawSec * 1000n) {
      throw new Error(
        `payments.redeemEveryMs must stay well under the market's thaw period (${thawSec} s): at most a quarter`,
      );
    }
    paid = new PaidQueries({
      wallet,
      market,
      chainId,
      dbPath: join(cfg.dataDir, "payments.sqlite"),
      voucherEvery: cfg.payments.voucherEvery,
      redeemEveryMs: cfg.payments.redeemEveryMs,
      logger: log.child({ module: "payments" }),
      metrics,
    });
    paid.start();
  }

  const app = Fastify({ logger: false, bodyLimit: cfg.http.bodyLimitBytes, forceCloseConnections: true });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora Search",
        description: "Full-text, vector and hybrid search over the chain's content and customers' documents",
        version: mods.version,
      },
    },
  });
  installErrorHandler(app, (e) => log.error("request failed", {}, e));
  app.addHook("onResponse", async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) });
  });
  let indexer: ChainIndexer | null = null;
  app.get(
    "/health",
    { schema: { summary: "Liveness, backend, indexer progress", tags: ["operations"] } },
    async () => ({
      status: "ok",
      backend: store.kind,
      vectors: store.vectorEngine,
      indexer: indexer === null ? null : indexer.progress(),
      payments: paid === null ? null : { payee: paid.payee },
    }),
  );
  app.get("/metrics", { schema: { summary: "Prometheus metrics", tags: ["operations"] } }, async (_req, reply) => {
    reply.header("content-type", register.contentType);
    return register.metrics();
  });
  await registerSearchRoutes(app, { engine, metrics, paid, apiKey: cfg.apiKey });
  if (host !== null) registerBlobRoutes(app, host.store);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await app.listen({ host: cfg.http.host, port: cfg.http.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : cfg.http.port;
  const url = `http://${cfg.http.host}:${port}`;
  if (host !== null && host.url === "") host.url = url;
  // Tasks (left from a previous run, too) start once the service can serve the inputs of their embedding jobs.
  engine.start();

  if (cfg.indexer.enabled) {
    indexer = new ChainIndexer({
      engine,
      provider,
      ws: cfg.ws ?? cfg.rpc.replace(/^http/, "ws"),
      index: cfg.indexer.index,
      gateway: cfg.indexer.gateway,
      marketplaces: cfg.indexer.marketplaces,
      fromBlock: cfg.indexer.fromBlock,
      batchBlocks: cfg.indexer.batchBlocks,
      semantic: cfg.indexer.semantic,
      logger: log.child({ module: "indexer" }),
      metrics,
    });
    await indexer.start();
  }
  log.info("search listening", {
    url,
    backend: store.kind,
    vectors: store.vectorEngine,
    payments: paid?.payee ?? "off",
  });
  return {
    url,
    app,
    engine,
    indexer,
    paid,
    async close() {
      await indexer?.stop();
      await app.close();
      await paid?.close();
      await engine.stop();
      await store.close();
      provider.destroy();
    },
  };
}
