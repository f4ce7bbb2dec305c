/**
 * Fetches bytes by URI and checks them against an expected sha256: the one way inputs, specs and results
 * cross machines. Speaks `data:` (small content carried inline, e.g. on chain in a specURI), `http(s)://`
 * and `ipfs://<cid>[/<path>]` (raw or UnixFS, resolved through the configured gateways' `/ipfs/…` route, and
 * `/blobs/<cid>` for a raw CID). Whatever the source, bytes are checked against the expected hash. Sources are tried in order; the first whose bytes hash right wins.
 */
import type { CID } from "multiformats/cid";
import { ContentError, ContentErrorCode } from "../errors.js";
import { ipfsURIOf, sha256Hex } from "./cid.js";

export interface FetchOptions {
  /** Refuse bodies larger than this. */
  maxBytes: number;
  /** Per-source timeout. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Base URLs serving `/blobs/<cid>` and/or `/ipfs/<cid>` (workers' endpoints, storage gateways), for `ipfs://` URIs. */
  gateways?: readonly string[];
  /** Reads `ipfs://` content from a local IPFS node (its blocks, then bitswap peers), tried before gateways. */
  ipfs?: (cid: CID, path: readonly string[], opts: { signal: AbortSignal; maxBytes: number }) => Promise<Uint8Array>;
}

export interface Fetched {
  bytes: Uint8Array;
  contentType: string | undefined;
  source: string;
}

/** Fetches one URI (no hash check). */
export async function fetchURI(uri: string, opts: FetchOptions): Promise<Fetched> {
  const urls = resolveURI(uri, opts.gateways ?? [], opts.ipfs !== undefined);
  const reasons: string[] = [];
  for (const url of urls) {
    try {
      return { ...(await fetchOne(url, opts)), source: url };
    } catch (e) {
      if (e instanceof ContentError && e.code === ContentErrorCode.TOO_LARGE) throw e;
      if (opts.signal?.aborted) throw e;
      reasons.push(reasonOf(url, e));
    }
  }
  throw new ContentError({ code: ContentErrorCode.FETCH_FAILED, sources: urls.length, reasons });
}

/**
 * Fetches the bytes whose sha256 is `expectedSha256` from the first source that has them. A source whose
 * bytes hash differently is skipped (and reported), so one lying host cannot stop a download.
 */
export async function fetchVerified(
  sources: readonly string[],
  expectedSha256: string,
  opts: FetchOptions,
): Promise<Fetched> {
  const expected = expectedSha256.toLowerCase();
  const reasons: string[] = [];
  let mismatch: string | undefined;
  const seen = new Set<string>();
  for (const uri of sources) {
    let urls: string[];
    try {
      urls = resolveURI(uri, opts.gateways ?? [], opts.ipfs !== undefined);
    } catch (e) {
      reasons.push(reasonOf(uri, e));
      continue;
    }
    for (const url of urls) {
      if (seen.has(url)) continue;
      seen.add(url);
      try {
        const got = await fetchOne(url, opts);
        const actual = sha256Hex(got.bytes);
        if (actual !== expected) {
          mismatch = actual;
          reasons.push(`${redact(url)}: sha256 ${actual}`);
          continue;
        }
        return { ...got, source: url };
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        reasons.push(reasonOf(url, e));
      }
    }
  }
  if (mismatch !== undefined && reasons.length === 1)
    throw new ContentError({ code: ContentErrorCode.HASH_MISMATCH, expected, actual: mismatch });
  throw new ContentError({ code: ContentErrorCode.FETCH_FAILED, sources: seen.size, reasons });
}

function resolveURI(uri: string, gateways: readonly string[], local = false): string[] {
  if (uri.startsWith("data:") || uri.startsWith("http://") || uri.startsWith("https://")) return [uri];
  if (uri.startsWith("ipfs://")) {
    const named = ipfsURIOf(uri);
    if (named === undefined) throw new ContentError({ code: ContentErrorCode.UNSUPPORTED_URI, uri: uri.slice(0, 100) });
    const cid = named.cid.toString();
    const path = named.path.map(encodeURIComponent).join("/");
    const urls: string[] = local ? [uri] : [];
    for (const g of gateways) {
      const base = g.replace(/\/+$/, "");
      urls.push(`${base}/ipfs/${cid}${path === "" ? "" : `/${path}`}`);
      // a raw CID is also a worker's blob (the route every worker and requester serves)
      if (path === "" && named.cid.code === 0x55) urls.push(`${base}/blobs/${cid}`);
    }
    return urls;
  }
  throw new ContentError({ code: ContentErrorCode.UNSUPPORTED_URI, uri: uri.slice(0, 100) });
}

async function fetchOne(
  url: string,
  opts: FetchOptions,
): Promise<{ bytes: Uint8Array; contentType: string | undefined }> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
  if (url.startsWith("ipfs://") && opts.ipfs !== undefined) {
    const named = ipfsURIOf(url) as { cid: CID; path: string[] };
    return {
      bytes: await opts.ipfs(named.cid, named.path, { signal, maxBytes: opts.maxBytes }),
      contentType: undefined,
    };
  }
  const res = await fetch(url, { signal, redirect: "follow" });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    await res.body?.cancel();
    throw new ContentError({ code: ContentErrorCode.TOO_LARGE, limitBytes: opts.maxBytes });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body !== null) {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > opts.maxBytes) {
        await res.body.cancel().catch(() => {});
        throw new ContentError({ code: ContentErrorCode.TOO_LARGE, limitBytes: opts.maxBytes });
      }
      chunks.push(chunk);
    }
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks)), contentType: res.headers.get("content-type") ?? undefined };
}

/** data: URIs can be long and carry the content itself: log only their head. */
function redact(url: string): string {
  return url.startsWith("data:") ? `${url.slice(0, 40)}…` : url;
}

function reasonOf(url: string, e: unknown): string {
  const err = e as Error;
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return `${redact(url)}: ${err.name === "TimeoutError" ? "timeout" : (cause ?? err.message)}`;
}

/** A `data:` URI carrying bytes inline. */
export function toDataURI(bytes: Uint8Array, contentType = "application/octet-stream"): string {
  return `data:${contentType};base64,${Buffer.from(bytes).toString("base64")}`;
}
