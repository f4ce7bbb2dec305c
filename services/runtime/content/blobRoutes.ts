/**
 * `GET|HEAD /blobs/:cid`: serves a blob store over HTTP — the route every worker's API has, and the one a
 * requester runs to host a job's input (`createBlobServer`). Blobs are immutable: long cache lifetime, the
 * CID as ETag.
 */
import { createReadStream } from "node:fs";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance } from "fastify";
import type { BlobStore } from "./blobStore.js";
import { parseCID } from "./cid.js";

export function registerBlobRoutes(app: FastifyInstance, store: BlobStore): void {
  app.route({
    method: ["GET", "HEAD"],
    url: "/blobs/:cid",
    schema: {
      summary: "Content-addressed bytes by CID (v1, raw codec, sha2-256)",
      tags: ["blobs"],
      params: Type.Object({ cid: Type.String({ description: "CIDv1 raw/sha2-256, base32 (bafkrei…)" }) }),
      response: {
        200: { description: "The bytes; their sha256 is the CID's digest", type: "string", format: "binary" },
        400: { description: "Not a v1 raw/sha2-256 CID", type: "object", additionalProperties: true },
        404: { description: "Not stored here", type: "object", additionalProperties: true },
      },
    },
    handler: async (req, reply) => {
      const { cid } = req.params as { cid: string };
      try {
        parseCID(cid);
      } catch (e) {
        return reply.code(400).send({ error: (e as { code?: string }).code ?? "BAD_CID" });
      }
      const info = store.stat(cid);
      if (info === undefined) return reply.code(404).send({ error: "NOT_FOUND" });
      reply
        .header("content-type", info.contentType)
        .header("content-length", info.size)
        .header("etag", `"${info.cid}"`)
        .header("cache-control", "public, max-age=31536000, immutable");
      if (req.method === "HEAD") return reply.send();
      return reply.send(createReadStream(store.path(info.cid)));
    },
  });
}

export interface BlobServer {
  /** Base URL, e.g. http://127.0.0.1:4567 (blobs at `<url>/blobs/<cid>`). */
  url: string;
  close(): Promise<void>;
}

/** A stand-alone blob server (requesters hosting their inputs). */
export async function createBlobServer(
  store: BlobStore,
  opts: { host: string; port: number; publicUrl?: string },
): Promise<BlobServer> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerBlobRoutes(app, store);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  return { url: opts.publicUrl ?? `http://${opts.host}:${port}`, close: () => app.close() };
}
