/**
 * The read side of the gateway, a fastify plugin any HTTP server can mount (the node's RPC port, a worker's
 * API, `azora storage serve`): `GET|HEAD /ipfs/<cid>[/<path>]` with the content's type, `ETag` = the CID
 * the path resolves to, immutable caching, single byte ranges (206/416), directories as index.html or a
 * listing, and single blocks for trustless clients (`?format=raw` or `Accept: application/vnd.ipld.raw`,
 * after the IPFS trustless-gateway spec), which is how `azora storage get` verifies what it downloads.
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CID } from "multiformats/cid";
import { type Logger, nullLogger } from "../../../runtime/lib/logger.js";
import { LRU } from "../../../runtime/lib/lru.js";
import type { DirEntry, EntryStat, StorageBackend } from "../backend.js";
import { isStorageError, StorageError, StorageErrorCode } from "../errors.js";
import type { StorageMetrics } from "../metrics.js";
import { SNIFF_BYTES, sniffType, typeFromName } from "./contentType.js";
import { observeRequests, setStorageErrorHandler } from "./httpErrors.js";
import { renderListing } from "./listing.js";
import { parseCID, parsePathSegments } from "./paths.js";
import { decideRange, ifNoneMatchHits, ifRangeAllows } from "./range.js";

export interface GatewayOptions {
  backend: StorageBackend;
  metrics?: StorageMetrics | null;
  log?: Logger;
  /** How long resolving a path may wait for blocks from peers before 504. */
  retrievalTimeoutMs: number;
  /** Serve local blocks only. */
  offline?: boolean;
  /** Most entries shown in a directory listing. */
  maxListingEntries?: number;
}

export const IMMUTABLE = "public, max-age=29030400, immutable";
const RAW_TYPE = "application/vnd.ipld.raw";

export const storageGateway: FastifyPluginAsync<GatewayOptions> = async (app, opts) => {
  const { backend } = opts;
  const maxListing = opts.maxListingEntries ?? 10_000;
  const sniffed = new LRU<string, string>(4096);
  setStorageErrorHandler(app, opts.log);
  observeRequests(app, opts.metrics, opts.log ?? nullLogger);
  app.addHook("onRequest", async (req, reply) => {
    const ac = new AbortController();
    reply.raw.once("close", () => ac.abort());
    gone.set(req, ac.signal);
  });

  /** Resolution waits for peers at most retrievalTimeoutMs; the body stream only until the client leaves. */
  async function resolve<T>(
    cid: CID,
    req: FastifyRequest,
    fn: (o: { signal: AbortSignal; offline?: boolean }) => Promise<T>,
  ) {
    const deadline = AbortSignal.timeout(opts.retrievalTimeoutMs);
    try {
      return await fn({ signal: AbortSignal.any([deadline, clientGone(req)]), offline: opts.offline });
    } catch (e) {
      if (deadline.aborted && !isStorageError(e))
        throw new StorageError({
          code: StorageErrorCode.TIMEOUT,
          cid: cid.toString(),
          timeoutMs: opts.retrievalTimeoutMs,
        });
      throw e;
    }
  }

  app.route({
    method: ["GET", "HEAD"],
    url: "/ipfs/*",
    schema: {
      summary: "Content by CID and path (UnixFS files and directories, raw blocks)",
      description:
        "ETag is the CID the path resolves to; responses are immutable. Single byte ranges (206, 416 when unsatisfiable). " +
        "A directory redirects to its trailing-slash URL, then serves index.html or a listing (JSON with Accept: application/json). " +
        "?format=raw or Accept: application/vnd.ipld.raw returns the block itself (trustless gateway). " +
        "?filename=NAME sets the type and Content-Disposition; &download=true makes it an attachment.",
      tags: ["gateway"],
      querystring: {
        type: "object",
        properties: {
          format: { type: "string", enum: ["raw"] },
          filename: { type: "string", maxLength: 255 },
          download: { type: "string", enum: ["true", "false"] },
        },
      },
    },
    handler: async (req, reply) => {
      const rest = (req.params as { "*": string })["*"];
      const slash = rest.indexOf("/");
      const cid = parseCID(slash === -1 ? rest : rest.slice(0, slash));
      const segs = parsePathSegments(slash === -1 ? "" : rest.slice(slash + 1));
      const q = req.query as { format?: string; filename?: string; download?: string };
      const target = await resolve(cid, req, (o) => backend.stat(cid, segs, o));
      const pathHeader = `/ipfs/${cid.toString()}${segs.length > 0 ? `/${segs.join("/")}` : ""}`;
      reply.header("x-ipfs-path", pathHeader);

      if (q.format === "raw" || (req.headers.accept ?? "").includes(RAW_TYPE)) return sendBlock(req, reply, target.cid);

      if (target.type === "directory") {
        const urlPath = req.url.split("?")[0];
        if (!urlPath.endsWith("/")) {
          const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
          return reply.code(301).header("location", `${urlPath}/${query}`).send();
        }
        const index = await resolve(cid, req, (o) => backend.stat(target.cid, ["index.html"], o)).catch((e) => {
          if (isStorageError(e, StorageErrorCode.PATH_NOT_FOUND)) return undefined;
          throw e;
        });
        if (index !== undefined && index.type !== "directory") return sendFile(req, reply, index, "index.html");
        return sendListing(req, reply, target.cid, urlPath);
      }
      return sendFile(req, reply, target, q.filename ?? segs.at(-1));
    },
  });

  async function sendFile(req: FastifyRequest, reply: FastifyReply, file: EntryStat, name: string | undefined) {
    const etag = `"${file.cid.toString()}"`;
    const q = req.query as { filename?: string; download?: string };
    reply
      .header("etag", etag)
      .header("cache-control", IMMUTABLE)
      .header("accept-ranges", "bytes")
      .header("x-content-type-options", "nosniff");
    if (q.filename !== undefined) {
      const kind = q.download === "true" ? "attachment" : "inline";
      reply.header("content-disposition", `${kind}; filename="${q.filename.replace(/["\\\r\n]/g, "_")}"`);
    }
    if (ifNoneMatchHits(req.headers["if-none-match"], etag)) return reply.code(304).send();

    const size = Number(file.size);
    reply.type(typeFromName(name) ?? (await sniff(req, file)));
    const ifRange = req.headers["if-range"] as string | undefined;
    const range = ifRangeAllows(ifRange, etag) ? decideRange(req.headers.range, size) : { kind: "full" as const };
    if (range.kind === "unsatisfiable") {
      return reply
        .code(416)
        .header("content-range", `bytes */${size}`)
        .type("text/plain; charset=utf-8")
        .send("range not satisfiable\n");
    }
    const [offset, length] = range.kind === "partial" ? [range.start, range.end - range.start + 1] : [0, size];
    if (range.kind === "partial") reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${size}`);
    reply.header("content-length", length);
    if (req.method === "HEAD" || length === 0) return reply.send();
    const signal = clientGone(req);
    return reply.send(Readable.from(counted(backend.cat(file.cid, { offset, length, signal, offline: opts.offline }))));
  }

  async function sniff(req: FastifyRequest, file: EntryStat): Promise<string> {
    const key = file.cid.toString();
    const known = sniffed.get(key);
    if (known !== undefined) return known;
    const chunks: Uint8Array[] = [];
    await resolve(file.cid, req, async (o) => {
      for await (const c of backend.cat(file.cid, { ...o, length: SNIFF_BYTES })) chunks.push(c);
    });
    const type = sniffType(new Uint8Array(Buffer.concat(chunks)));
    sniffed.set(key, type);
    return type;
  }

  async function sendBlock(req: FastifyRequest, reply: FastifyReply, cid: CID) {
    const etag = `"${cid.toString()}.raw"`;
    reply
      .header("etag", etag)
      .header("cache-control", IMMUTABLE)
      .header("x-content-type-options", "nosniff")
      .header("content-disposition", `attachment; filename="${cid.toString()}.bin"`)
      .header("vary", "Accept")
      .type(RAW_TYPE);
    if (ifNoneMatchHits(req.headers["if-none-match"], etag)) return reply.code(304).send();
    const block = await resolve(cid, req, (o) => backend.getBlock(cid, o));
    reply.header("content-length", block.length);
    if (req.method === "HEAD") return reply.send();
    opts.metrics?.bytesSent.inc(block.length);
    return reply.send(Buffer.from(block.buffer, block.byteOffset, block.length));
  }

  async function sendListing(req: FastifyRequest, reply: FastifyReply, dir: CID, urlPath: string) {
    const entries: DirEntry[] = [];
    let truncated = false;
    await resolve(dir, req, async (o) => {
      for await (const e of backend.ls(dir, o)) {
        if (entries.length === maxListing) {
          truncated = true;
          break;
        }
        entries.push(e);
      }
    });
    const json = (req.headers.accept ?? "").includes("application/json");
    // a listing is derived from immutable content, but its rendering may change between versions
    reply
      .header("etag", `W/"${dir.toString()}.${json ? "json" : "html"}"`)
      .header("cache-control", "public, max-age=3600")
      .header("vary", "Accept");
    if (ifNoneMatchHits(req.headers["if-none-match"], `W/"${dir.toString()}.${json ? "json" : "html"}"`))
      return reply.code(304).send();
    if (json) {
      return reply.type("application/json; charset=utf-8").send({
        cid: dir.toString(),
        truncated,
        entries: entries.map((e) => ({ name: e.name, cid: e.cid.toString(), type: e.type, size: Number(e.size) })),
      });
    }
    const html = renderListing(urlPath, dir.toString(), entries, truncated);
    reply.type("text/html; charset=utf-8").header("content-length", Buffer.byteLength(html));
    return req.method === "HEAD" ? reply.send() : reply.send(html);
  }

  async function* counted(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      opts.metrics?.bytesSent.inc(c.length);
      yield c;
    }
  }
};

const gone = new WeakMap<FastifyRequest, AbortSignal>();

/**
 * Aborted when the response closes: finished (nothing is pending then) or cut by the client (the reads
 * feeding it stop). The listener is on the response, not the socket, which keep-alive reuses.
 */
function clientGone(req: FastifyRequest): AbortSignal {
  const s = gone.get(req);
  if (s === undefined) throw new Error("clientGone outside the gateway's routes");
  return s;
}
