/**
 * The write side of the gateway: `POST /upload` takes a small file as the request body; tus (the resumable
 * upload protocol, `@tus/server`) at `/uploads/` takes large ones in chunks that survive a dropped
 * connection (`HEAD` tells the client where to resume). Both import the bytes as UnixFS and pin them; both
 * answer 413 with the limit when a file is too large, before reading it when the size is declared. With
 * `?filename=` (plain) or a `filename` metadata (tus) the file is wrapped in a directory so its name — and
 * the type the gateway derives from it — stays with it.
 */
import { timingSafeEqual } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type {} from "@fastify/swagger"; // route schema fields: summary, tags, hide
import { FileStore } from "@tus/file-store";
import { Server as TusServer } from "@tus/server";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CID } from "multiformats/cid";
import { type Logger, nullLogger } from "../../../runtime/lib/logger.js";
import type { StorageBackend } from "../backend.js";
import { StorageError, StorageErrorCode } from "../errors.js";
import type { StorageMetrics } from "../metrics.js";
import { observeRequests, setStorageErrorHandler } from "./httpErrors.js";

export interface UploadOptions {
  backend: StorageBackend;
  metrics?: StorageMetrics | null;
  log?: Logger;
  /** Unfinished tus uploads live here (one file + one JSON each), finished ones leave a small record. */
  dir: string;
  maxBytes: number;
  plainMaxBytes: number;
  authToken?: string;
  expiryMs: number;
}

export interface UploadResult {
  /** The file's CID. */
  cid: string;
  size: number;
  /** With a filename: the directory holding the file under that name. */
  wrapper?: string;
  /** Gateway path of the file. */
  path: string;
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;

export const storageUploads: FastifyPluginAsync<UploadOptions> = async (app, opts) => {
  const { backend } = opts;
  const finishedDir = join(opts.dir, "finished");
  mkdirSync(finishedDir, { recursive: true });
  const log = opts.log ?? nullLogger;
  setStorageErrorHandler(app, log);
  observeRequests(app, opts.metrics, log);

  if (opts.authToken !== undefined) {
    const want = Buffer.from(`Bearer ${opts.authToken}`);
    app.addHook("onRequest", async (req, reply) => {
      if (req.method === "OPTIONS") return;
      const got = Buffer.from(req.headers.authorization ?? "");
      if (got.length !== want.length || !timingSafeEqual(got, want))
        return reply
          .code(401)
          .header("www-authenticate", "Bearer")
          .send({ error: "UNAUTHORIZED", message: "uploads need a bearer token" });
    });
  }

  // bodies are streams here, whatever their type: the routes import them as they arrive
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, payload, done) => done(null, payload));

  async function importFile(content: AsyncIterable<Uint8Array>, filename: string | undefined): Promise<UploadResult> {
    let size = 0;
    async function* limited() {
      for await (const c of content) {
        size += c.length;
        if (size > opts.maxBytes)
          throw new StorageError({ code: StorageErrorCode.TOO_LARGE, limitBytes: opts.maxBytes });
        yield c;
      }
    }
    let cid: CID;
    let wrapper: CID | undefined;
    if (filename === undefined) {
      cid = await backend.addFile(limited());
    } else {
      wrapper = await backend.addTree([{ path: filename, content: limited() }]);
      cid = (await backend.stat(wrapper, [filename])).cid;
    }
    await backend.pin(wrapper ?? cid);
    opts.metrics?.uploadBytes.inc(size);
    return {
      cid: cid.toString(),
      size,
      ...(wrapper === undefined ? {} : { wrapper: wrapper.toString() }),
      path: wrapper === undefined ? `/ipfs/${cid}` : `/ipfs/${wrapper}/${encodeURIComponent(filename as string)}`,
    };
  }

  function tooLarge(reply: FastifyReply, limit: number, method: "plain" | "tus", hint: string) {
    opts.metrics?.uploads.inc({ method, outcome: "too_large" });
    return reply.code(413).send({
      error: StorageErrorCode.TOO_LARGE,
      message: `file larger than ${limit} bytes${hint}`,
      limitBytes: limit,
    });
  }

  app.post(
    "/upload",
    {
      schema: {
        summary: "Upload a small file as the request body; returns its CID",
        description: `Bodies up to uploads.plainMaxBytes; larger files go through tus at /uploads/. 413 above the limit.`,
        tags: ["uploads"],
        querystring: {
          type: "object",
          properties: { filename: { type: "string", minLength: 1, maxLength: 255, pattern: "^[^/\\\\]+$" } },
        },
        response: {
          200: {
            type: "object",
            properties: {
              cid: { type: "string" },
              size: { type: "integer" },
              wrapper: { type: "string" },
              path: { type: "string" },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const declared = Number(req.headers["content-length"] ?? "NaN");
      const hint = `; use the resumable upload (tus) at /uploads/ for files up to ${opts.maxBytes} bytes`;
      if (Number.isFinite(declared) && declared > opts.plainMaxBytes) {
        req.raw.resume(); // drain what is in flight so the 413 reaches the client
        return tooLarge(reply, opts.plainMaxBytes, "plain", hint);
      }
      const body = (req.body as Readable | undefined) ?? (async function* () {})();
      let seen = 0;
      async function* capped() {
        for await (const c of body as AsyncIterable<Uint8Array>) {
          seen += c.length;
          if (seen > opts.plainMaxBytes)
            throw new StorageError({ code: StorageErrorCode.TOO_LARGE, limitBytes: opts.plainMaxBytes });
          yield c;
        }
      }
      const { filename } = req.query as { filename?: string };
      try {
        const r = await importFile(capped(), filename);
        opts.metrics?.uploads.inc({ method: "plain", outcome: "ok" });
        log.info("uploaded", { cid: r.cid, size: r.size, method: "plain" });
        return r;
      } catch (e) {
        if (e instanceof StorageError && e.code === StorageErrorCode.TOO_LARGE)
          return tooLarge(reply, opts.plainMaxBytes, "plain", hint);
        opts.metrics?.uploads.inc({ method: "plain", outcome: "failed" });
        throw e;
      }
    },
  );

  const store = new FileStore({ directory: opts.dir, expirationPeriodInMilliseconds: opts.expiryMs });
  const tus = new TusServer({
    path: "/uploads",
    datastore: store,
    maxSize: opts.maxBytes,
    relativeLocation: true,
    respectForwardedHeaders: false,
    exposedHeaders: ["Azora-CID"],
    async onUploadFinish(_req, upload) {
      const filename = upload.metadata?.filename ?? undefined;
      if (filename !== undefined && (filename.includes("/") || filename.length > 255 || filename === "")) {
        throw { status_code: 400, body: "bad filename metadata\n" };
      }
      try {
        const r = await importFile(createReadStream(join(opts.dir, upload.id)), filename ?? undefined);
        writeFileSync(join(finishedDir, upload.id), JSON.stringify(r));
        await store.remove(upload.id);
        opts.metrics?.uploads.inc({ method: "tus", outcome: "ok" });
        log.info("uploaded", { cid: r.cid, size: r.size, method: "tus" });
        return { headers: { "Azora-CID": r.cid } };
      } catch (e) {
        opts.metrics?.uploads.inc({ method: "tus", outcome: "failed" });
        log.error("importing a finished upload failed", { upload: upload.id }, e);
        throw { status_code: 500, body: "import failed\n" };
      }
    },
  });

  const handleTus = async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method === "POST") {
      const len = Number(req.headers["upload-length"] ?? "NaN");
      if (Number.isFinite(len) && len > opts.maxBytes) return tooLarge(reply, opts.maxBytes, "tus", "");
      if (req.headers["upload-defer-length"] !== undefined)
        return reply.code(400).send({ error: "DEFER_LENGTH_UNSUPPORTED", message: "declare Upload-Length" });
    }
    reply.hijack();
    await tus.handle(req.raw, reply.raw);
  };
  const tusSchema = {
    summary: "tus 1.0 resumable upload (creation, termination, expiration); Azora-CID header on the last PATCH",
    tags: ["uploads"],
  };
  app.route({ method: ["POST", "OPTIONS"], url: "/uploads", schema: tusSchema, handler: handleTus });
  app.route({
    method: ["POST", "OPTIONS"],
    url: "/uploads/",
    schema: { ...tusSchema, hide: true },
    handler: handleTus,
  });
  app.route({
    method: ["HEAD", "PATCH", "DELETE", "OPTIONS"],
    url: "/uploads/:id",
    schema: tusSchema,
    handler: handleTus,
  });

  app.get(
    "/uploads/:id",
    {
      schema: {
        summary: "The CID of a finished tus upload (for a client that lost the last PATCH's response)",
        tags: ["uploads"],
        params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!ID.test(id)) return reply.code(400).send({ error: "BAD_ID", message: "bad upload id" });
      try {
        return JSON.parse(readFileSync(join(finishedDir, id), "utf8")) as UploadResult;
      } catch {
        return reply.code(404).send({ error: "NOT_FINISHED", message: "no finished upload with this id" });
      }
    },
  );

  const sweep = setInterval(() => void store.deleteExpired().catch(() => {}), Math.min(opts.expiryMs, 3600_000));
  sweep.unref();
  app.addHook("onClose", async () => clearInterval(sweep));
};
