/**
 * Verified retrieval: every block is checked against its CID before its bytes are used, so content comes out
 * right or not at all, whoever served it. Blocks come from trustless gateways (`GET /ipfs/<cid>?format=raw`,
 * tried in order; a gateway that serves a wrong block is skipped) or from a storage backend (local blocks,
 * bitswap peers). The UnixFS exporter walks the DAG in order over that verified source, so a file streams to
 * disk as it arrives; the output appears under its name only once complete.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { exporter, recursive } from "ipfs-unixfs-exporter";
import type { CID } from "multiformats/cid";
import { identity } from "multiformats/hashes/identity";
import { sha256, sha512 } from "multiformats/hashes/sha2";
import type { StorageBackend } from "./backend.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/** Where blocks come from: returns a block's bytes as claimed by the source, unverified. */
export type BlockSource = (cid: CID, signal?: AbortSignal) => Promise<{ bytes: Uint8Array; source: string }>;

/** Largest block accepted from a gateway (UnixFS leaves are 1 MiB; 2 MiB is the trustless-gateway norm). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024;

const HASHERS = new Map<number, { digest(b: Uint8Array): Promise<{ digest: Uint8Array }> | { digest: Uint8Array } }>([
  [sha256.code, sha256],
  [sha512.code, sha512],
  [identity.code, identity],
]);

/** Checks `bytes` hash to `cid`'s multihash. */
export async function verifyBlock(cid: CID, bytes: Uint8Array, source: string): Promise<void> {
  const hasher = HASHERS.get(cid.multihash.code);
  if (hasher === undefined)
    throw new StorageError({
      code: StorageErrorCode.UNSUPPORTED_CONTENT,
      cid: cid.toString(),
      codec: cid.multihash.code,
    });
  const got = (await hasher.digest(bytes)).digest;
  if (!Buffer.from(got).equals(Buffer.from(cid.multihash.digest)))
    throw new StorageError({ code: StorageErrorCode.HASH_MISMATCH, cid: cid.toString(), source });
}

/** Blocks from trustless gateways, first that answers right wins; a wrong block counts as that gateway failing. */
export function gatewaySource(gateways: readonly string[], timeoutMs = 30_000): BlockSource {
  return async (cid, signal) => {
    const reasons: string[] = [];
    let lied: string | undefined;
    for (const g of gateways) {
      const url = `${g.replace(/\/+$/, "")}/ipfs/${cid.toString()}?format=raw`;
      try {
        const s =
          signal === undefined
            ? AbortSignal.timeout(timeoutMs)
            : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
        const res = await fetch(url, { headers: { accept: "application/vnd.ipld.raw" }, signal: s });
        if (!res.ok) {
          await res.body?.cancel();
          reasons.push(`${g}: HTTP ${res.status}`);
          continue;
        }
        const bytes = await readCapped(res, MAX_BLOCK_BYTES);
        await verifyBlock(cid, bytes, g);
        return { bytes, source: g };
      } catch (e) {
        if (signal?.aborted) throw e;
        if (e instanceof StorageError && e.code === StorageErrorCode.HASH_MISMATCH) lied = g;
        reasons.push(
          `${g}: ${e instanceof StorageError ? e.code : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message)}`,
        );
      }
    }
    if (lied !== undefined && gateways.length === 1)
      throw new StorageError({ code: StorageErrorCode.HASH_MISMATCH, cid: cid.toString(), source: lied });
    throw new StorageError({ code: StorageErrorCode.FETCH_FAILED, cid: cid.toString(), reasons });
  };
}

/** Blocks from a storage backend (its local blocks, then bitswap peers), verified all the same. */
export function backendSource(backend: StorageBackend, timeoutMs = 30_000): BlockSource {
  return async (cid, signal) => {
    const s =
      signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    return { bytes: await backend.getBlock(cid, { signal: s }), source: backend.kind };
  };
}

async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > max) throw new StorageError({ code: StorageErrorCode.TOO_LARGE, limitBytes: max });
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The exporter's view of a source: every block verified before it is handed over. */
function verifiedStore(source: BlockSource, signal: AbortSignal | undefined, onBlock: (n: number) => void) {
  return {
    async *get(cid: CID) {
      const { bytes, source: from } = await source(cid, signal);
      await verifyBlock(cid, bytes, from);
      onBlock(bytes.length);
      yield bytes;
    },
  };
}

export interface DownloadProgress {
  bytesWritten: number;
  /** File size, when the root is a file. */
  totalBytes: number | undefined;
  blocks: number;
}

export interface DownloadResult {
  type: "file" | "directory";
  bytes: number;
  blocks: number;
  files: number;
}

/**
 * Downloads `cid` to `out`: a file to that path, a directory as a tree under it. Nothing appears at `out`
 * unless every block verified; partial files are removed.
 */
export async function downloadVerified(
  cid: CID,
  out: string,
  source: BlockSource,
  opts: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void; concurrency?: number } = {},
): Promise<DownloadResult> {
  let blocks = 0;
  let bytesWritten = 0;
  let totalBytes: number | undefined;
  const store = verifiedStore(source, opts.signal, () => blocks++);
  const progress = () => opts.onProgress?.({ bytesWritten, totalBytes, blocks });
  // biome-ignore lint/suspicious/noExplicitAny: the exporter wants interface-blockstore's type; get() is all it calls
  const bs = store as any;
  const root = await exporter(cid, bs, { signal: opts.signal });
  const contentOpts = { signal: opts.signal, blockReadConcurrency: opts.concurrency ?? 8 };

  async function writeFile(path: string, content: AsyncIterable<Uint8Array>): Promise<void> {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${randomBytes(6).toString("hex")}.partial`);
    const fh = await open(tmp, "w", 0o644);
    try {
      for await (const chunk of content) {
        await fh.write(chunk);
        bytesWritten += chunk.length;
        progress();
      }
      await fh.sync();
      await fh.close();
      await rename(tmp, path);
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
  }

  if (root.type === "file" || root.type === "raw" || root.type === "identity") {
    totalBytes = Number(root.size);
    await writeFile(resolve(out), root.content(contentOpts));
    return { type: "file", bytes: bytesWritten, blocks, files: 1 };
  }
  if (root.type !== "directory")
    throw new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });

  // a directory: build it beside `out`, move it into place when every file verified
  const finalDir = resolve(out);
  const stage = join(dirname(finalDir), `.${randomBytes(6).toString("hex")}.partial`);
  let files = 0;
  try {
    mkdirSync(stage, { recursive: true });
    for await (const e of recursive(cid, bs, { signal: opts.signal })) {
      const rel = e.path.split("/").slice(1); // drop the root CID
      if (rel.some((s) => s === "" || s === "." || s === ".." || s.includes("\\")))
        throw new StorageError({ code: StorageErrorCode.INVALID_PATH, path: e.path.slice(0, 200) });
      const target = join(stage, ...rel);
      const entry = await exporter(e.cid, bs, { signal: opts.signal });
      if (entry.type === "directory") mkdirSync(target, { recursive: true });
      else if (entry.type === "file" || entry.type === "raw" || entry.type === "identity") {
        await writeFile(target, entry.content(contentOpts));
        files++;
      }
    }
    await rename(stage, finalDir);
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    throw e;
  }
  return { type: "directory", bytes: bytesWritten, blocks, files };
}

/**
 * Reads one file, `<cid>[/<path>]`, through a verified source into memory: every block on the way from the
 * root is checked against its CID, so the bytes are the ones the root commits to, whoever served them.
 */
export async function readVerified(
  cid: CID,
  path: readonly string[],
  source: BlockSource,
  opts: { signal?: AbortSignal; maxBytes: number },
): Promise<Uint8Array> {
  // biome-ignore lint/suspicious/noExplicitAny: the exporter wants interface-blockstore's type; get() is all it calls
  const bs = verifiedStore(source, opts.signal, () => {}) as any;
  const entry = await exporter([cid.toString(), ...path].join("/"), bs, { signal: opts.signal });
  if (entry.type !== "file" && entry.type !== "raw" && entry.type !== "identity")
    throw new StorageError({
      code: StorageErrorCode.UNSUPPORTED_CONTENT,
      cid: entry.cid.toString(),
      codec: entry.cid.code,
    });
  if (Number(entry.size) > opts.maxBytes)
    throw new StorageError({ code: StorageErrorCode.TOO_LARGE, limitBytes: opts.maxBytes });
  const chunks: Uint8Array[] = [];
  for await (const c of entry.content({ signal: opts.signal })) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}
