import type { FastifyError, FastifyInstance } from "fastify";
import { ExplorerError, ExplorerErrorCode } from "../errors.js";

/** The one mapping from explorer errors to HTTP (REST routes): `{code, message}`; anything unexpected is a logged 500. */
export const STATUS: Record<ExplorerErrorCode, number> = {
  [ExplorerErrorCode.NOT_FOUND]: 404,
  [ExplorerErrorCode.INVALID_PARAMS]: 400,
  [ExplorerErrorCode.COMPILER_UNAVAILABLE]: 422,
  [ExplorerErrorCode.VERIFICATION_FAILED]: 422,
  [ExplorerErrorCode.NOT_CONTIGUOUS]: 500,
  [ExplorerErrorCode.SCHEMA_MISMATCH]: 500,
  [ExplorerErrorCode.BAD_NODE_DATA]: 502,
  [ExplorerErrorCode.MODULE_REVERTED]: 503,
};

/** The human part of an error: a refusal's reason, not its JSON. */
export function reasonOf(e: ExplorerError): string {
  const t = e.type;
  switch (t.code) {
    case ExplorerErrorCode.VERIFICATION_FAILED:
      return t.reason;
    case ExplorerErrorCode.COMPILER_UNAVAILABLE:
      return `compiler ${t.requested} is not available here; this explorer verifies with solc ${t.available}`;
    case ExplorerErrorCode.INVALID_PARAMS:
      return t.reason;
    case ExplorerErrorCode.NOT_FOUND:
      return `${t.what} not found`;
    case ExplorerErrorCode.MODULE_REVERTED:
      return `the ${t.module} module refused ${t.call}: ${t.error}`;
    default:
      return e.message;
  }
}

export function installErrorHandler(app: FastifyInstance, onUnexpected: (e: unknown) => void): void {
  app.setErrorHandler((e: FastifyError | ExplorerError, _req, reply) => {
    if (e instanceof ExplorerError) return reply.status(STATUS[e.code]).send({ code: e.code, message: reasonOf(e) });
    const status = (e as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500)
      return reply.status(status).send({ code: ExplorerErrorCode.INVALID_PARAMS, message: e.message });
    onUnexpected(e);
    return reply.status(500).send({ code: "EXPLORER_INTERNAL", message: "internal error" });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ code: "EXPLORER_ROUTE_NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` }),
  );
}
