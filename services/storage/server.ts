/**
 * The storage service: the backend chosen by config, and the HTTP server `azora storage serve` runs — the
 * gateway and uploads (the same plugins a node or worker mounts on its own port), `/health`, Prometheus
 * `/metrics` and the OpenAPI description at `/openapi.json`, generated from the route schemas.
 */
import { join } from "node:path";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import type { Logger } from "../../runtime/lib/logger.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import type { StorageBackend } from "./backend.js";
import type { StorageConfig } from "./config.js";
import { storageGateway } from "./gateway/plugin.js";
import { storageUploads } from "./gateway/uploads.js";
import { createHeliaBackend } from "./helia/heliaBackend.js";
import { createKuboBackend } from "./kubo/kuboBackend.js";
import { createStorageMetrics, type StorageMetrics } from "./metrics.js";

export async function createStorageBackend(
  cfg: Pick<StorageConfig, "backend" | "dataDir" | "p2p" | "kubo">,
): Promise<StorageBackend> {
  if (cfg.backend === "kubo") return createKuboBackend({ url: cfg.kubo.url });
  return createHeliaBackend({ dataDir: cfg.dataDir, listen: cfg.p2p.listen, peers: cfg.p2p.peers });
}

/** Mounts the gateway and (if enabled) uploads on any fastify instance, e.g. a node's or worker's. */
export async function registerStorageRoutes(
  app: FastifyInstance,
  mods: {
    backend: StorageBackend;
    cfg: Pick<StorageConfig, "gateway" | "uploads" | "dataDir">;
    metrics?: StorageMetrics | null;
    log?: Logger;
  },
): Promise<void> {
  const { cfg } = mods;
  await app.register(storageGateway, {
    backend: mods.backend,
    metrics: mods.metrics,
    log: mods.log,
    retrievalTimeoutMs: cfg.gateway.retrievalTimeoutMs,
    offline: cfg.gateway.offline,
  });
  if (cfg.uploads.enabled)
    await app.register(storageUploads, {
      backend: mods.backend,
      metrics: mods.metrics,
      log: mods.log,
      dir: join(cfg.dataDir, "uploads"),
      maxBytes: cfg.uploads.maxBytes,
      plainMaxBytes: cfg.uploads.plainMaxBytes,
      authToken: cfg.uploads.authToken,
      expiryMs: cfg.uploads.expiryMs,
    });
}

export interface StorageService {
  /** http://host:port of the gateway. */
  url: string;
  backend: StorageBackend;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startStorageService(
  cfg: StorageConfig,
  mods: { log: Logger; version: string; backend?: StorageBackend },
): Promise<StorageService> {
  const backend = mods.backend ?? (await createStorageBackend(cfg));
  const register = new Registry();
  collectProcessMetrics(register, "azora_storage_process_");
  const metrics = createStorageMetrics(register);
  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { maxParamLength: 2048 } });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora storage",
        description: "IPFS gateway (UnixFS files and directories, raw blocks, byte ranges) and uploads (plain and tus)",
        version: mods.version,
      },
    },
  });
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness, backend and libp2p addresses",
        tags: ["operations"],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string", enum: ["ok"] },
              backend: { type: "string", enum: ["helia", "kubo"] },
              addresses: { type: "array", items: { type: "string" } },
            },
          },
        },
      },
    },
    async () => ({ status: "ok", backend: backend.kind, addresses: backend.addresses() }),
  );
  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["operations"], produces: ["text/plain"] } },
    async (_req, reply) => {
      reply.header("content-type", register.contentType);
      return register.metrics();
    },
  );
  await registerStorageRoutes(app, { backend, cfg, metrics, log: mods.log });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await app.listen({ host: cfg.http.host, port: cfg.http.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : cfg.http.port;
  const url = `http://${cfg.http.host.includes(":") ? `[${cfg.http.host}]` : cfg.http.host}:${port}`;
  mods.log.info("storage gateway listening", { url, backend: backend.kind, p2p: backend.addresses() });
  return {
    url,
    backend,
    app,
    async close() {
      await app.close();
      if (mods.backend === undefined) await backend.stop();
    },
  };
}
