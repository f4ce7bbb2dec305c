import type { FastifyError, FastifyInstance } from "fastify";
import { SearchError, SearchErrorCode } from "../errors.js";

/** The one mapping from search errors to HTTP: `{code, message}` bodies; anything unexpected is a logged 500. */
export const STATUS: Record<SearchErrorCode, number> = {
  [SearchErrorCode.BAD_REQUEST]: 400,
  [SearchErrorCode.INDEX_NOT_FOUND]: 404,
  [SearchErrorCode.DOCUMENT_NOT_FOUND]: 404,
  [SearchErrorCode.TASK_NOT_FOUND]: 404,
  [SearchErrorCode.INDEX_EXISTS]: 409,
  [SearchErrorCode.NO_EMBEDDER]: 400,
  [SearchErrorCode.PAYMENT_REQUIRED]: 402,
  [SearchErrorCode.BACKEND_UNAVAILABLE]: 503,
};

export function installErrorHandler(app: FastifyInstance, onUnexpected: (e: unknown) => void): void {
  app.setErrorHandler((e: FastifyError | SearchError, _req, reply) => {
    if (e instanceof SearchError) {
      return reply.status(STATUS[e.code]).send({ code: e.code, message: e.message });
    }
    const status = (e as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Body that is not JSON, a schema violation, a body over the limit: the client's to fix.
      return reply.status(status).send({ code: SearchErrorCode.BAD_REQUEST, message: e.message });
    }
    onUnexpected(e);
    return reply.status(500).send({ code: "SEARCH_INTERNAL", message: "internal error" });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ code: "SEARCH_ROUTE_NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );
}
