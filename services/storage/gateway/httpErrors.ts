/** The one mapping from storage error codes to HTTP statuses, for every route of the storage API. */
import type { FastifyInstance } from "fastify";
import { type Logger, nullLogger } from "../../../runtime/lib/logger.js";
import { StorageError, StorageErrorCode } from "../errors.js";
import type { StorageMetrics } from "../metrics.js";

const STATUS: Record<StorageErrorCode, number> = {
  [StorageErrorCode.INVALID_CID]: 400,
  [StorageErrorCode.INVALID_PATH]: 400,
  [StorageErrorCode.NOT_FOUND]: 404,
  [StorageErrorCode.PATH_NOT_FOUND]: 404,
  [StorageErrorCode.UNSUPPORTED_CONTENT]: 501,
  [StorageErrorCode.HASH_MISMATCH]: 502,
  [StorageErrorCode.FETCH_FAILED]: 502,
  [StorageErrorCode.TOO_LARGE]: 413,
  [StorageErrorCode.TIMEOUT]: 504,
  [StorageErrorCode.BACKEND_UNAVAILABLE]: 503,
};

export function statusOf(e: StorageError): number {
  return STATUS[e.code];
}

/** JSON error bodies `{error: CODE, message}`; fastify's own errors (body too large, bad JSON) keep theirs. */
export function setStorageErrorHandler(app: FastifyInstance, log: Logger = nullLogger): void {
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof StorageError) {
      const status = statusOf(err);
      if (status >= 500) log.warn("storage request failed", { url: req.url.slice(0, 200), status }, err.type);
      return reply.code(status).type("application/json; charset=utf-8").send({ error: err.code, message: err.message });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode ?? 500;
    if (status >= 500) log.error("storage request failed", { url: req.url.slice(0, 200), status }, err);
    return reply
      .code(status)
      .type("application/json; charset=utf-8")
      .send({ error: e.code ?? "INTERNAL", message: status >= 500 ? "internal error" : e.message });
  });
}

/** Per-request metrics (route template as label, so bounded) and a debug line per request. */
export function observeRequests(app: FastifyInstance, metrics: StorageMetrics | null | undefined, log: Logger): void {
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics?.requests.inc({ route, status: String(reply.statusCode) });
    metrics?.requestSeconds.observe({ route }, reply.elapsedTime / 1000);
    log.debug("request", {
      method: req.method,
      url: req.url.slice(0, 200),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });
}
