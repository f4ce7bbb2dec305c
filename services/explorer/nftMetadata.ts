/**
 * NFT metadata for the explorer's pages: `tokenURI(id)` (ERC-721, native collections) or `uri(id)` (ERC-1155) read
 * with `eth_call`, the metadata JSON fetched through the configured IPFS gateway, and only what is safe to show kept
 * from it. Metadata is written by whoever minted the token, so none of it is trusted: text fields become bounded
 * plain text, and an image survives only as an http(s) URL on the gateway's own origin (the page's CSP allows that
 * origin in img-src and nothing else). Nothing is fetched from anywhere but the gateway: an `https://` token URI on
 * another host is shown as text, never requested by the server (no SSRF through token URIs).
 */

/** What the explorer shows for one token. */
export interface NftMetadata {
  /** The token URI the contract returns, as text (null when the call failed or the contract has none). */
  tokenUri: string | null;
  name: string | null;
  description: string | null;
  /** The image as an http(s) URL on the gateway's origin, or null. */
  imageUrl: string | null;
  /** The image as the metadata names it (`ipfs://…`), as text: shown when there is no gateway. */
  image: string | null;
  /** Why there is no metadata (no gateway, not on IPFS, fetch failed, not JSON…), null when there is. */
  problem: string | null;
}

export const METADATA_LIMITS = {
  /** The metadata JSON is read up to this many bytes, then refused. */
  maxBytes: 64 * 1024,
  timeoutMs: 5_000,
  maxName: 200,
  maxDescription: 2_000,
  maxUri: 2_048,
  /** Cached results (successes for `okTtlMs`, failures for `failTtlMs`). */
  cacheEntries: 5_000,
  okTtlMs: 10 * 60_000,
  failTtlMs: 30_000,
} as const;

/** Plain, bounded text: control characters (bidi overrides included) removed, whitespace runs kept. */
export function cleanText(v: unknown, max: number): string | null {
  if (typeof v !== "string") return null;
  // Control characters except tab and newline, and the format characters (bidi overrides, zero-width) that
  // disguise text.
  const s = v.replace(/[\p{Cc}\p{Cf}]/gu, (c) => (c === "\n" || c === "\t" ? c : ""));
  const t = s.trim();
  if (t === "") return null;
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * `ipfs://CID[/path]` (also `ipfs://ipfs/CID…` and `/ipfs/CID…`) → `<gateway>/ipfs/CID[/path]`; an http(s) URL
 * already on the gateway's origin is kept; anything else → null.
 */
export function viaGateway(uri: string, gateway: string | undefined): string | null {
  if (gateway === undefined || uri.length > METADATA_LIMITS.maxUri) return null;
  const base = new URL(gateway);
  const ipfs = /^(?:ipfs:\/\/(?:ipfs\/)?|\/ipfs\/)([A-Za-z0-9]+)((?:\/[^?#\s]*)?)$/.exec(uri.trim());
  if (ipfs !== null) {
    // Each segment re-encoded; "." and ".." dropped so a path cannot climb out of /ipfs/<cid>.
    const path = ipfs[2]
      .split("/")
      .map((seg) => decodeURIComponentSafe(seg))
      .filter((seg) => seg !== "" && seg !== "." && seg !== "..")
      .map((seg) => `/${encodeURIComponent(seg)}`)
      .join("");
    return new URL(`/ipfs/${ipfs[1]}${path}`, base).toString();
  }
  try {
    const u = new URL(uri);
    return (u.protocol === "http:" || u.protocol === "https:") && u.origin === base.origin ? u.toString() : null;
  } catch {
    return null;
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The metadata JSON's fields the explorer keeps, sanitised. */
export function sanitizeMetadata(
  json: unknown,
  gateway: string | undefined,
): Pick<NftMetadata, "name" | "description" | "image" | "imageUrl"> {
  const o = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  const image = cleanText(o.image ?? o.image_url, METADATA_LIMITS.maxUri);
  return {
    name: cleanText(o.name, METADATA_LIMITS.maxName),
    description: cleanText(o.description, METADATA_LIMITS.maxDescription),
    image,
    imageUrl: image === null ? null : viaGateway(image, gateway),
  };
}

/** A `data:application/json[;base64],…` token URI (on-chain metadata), decoded; null for other URIs. */
export function dataUriJson(uri: string): unknown | null {
  const m = /^data:application\/json(;charset=utf-8)?(;base64)?,(.*)$/is.exec(uri);
  if (m === null) return null;
  const body = m[2] ? Buffer.from(m[3], "base64").toString("utf8") : decodeURIComponentSafe(m[3]);
  if (body.length > METADATA_LIMITS.maxBytes) return null;
  return JSON.parse(body);
}

/** Reads at most `max` bytes of a response body; more is an error (the body is abandoned). */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) throw new Error(`metadata larger than ${max} bytes`);
  const reader = res.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new Error(`metadata larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface MetadataPorts {
  /** The token URI (`tokenURI` or `uri` already substituted), or null when the contract has none. */
  tokenUri(token: string, tokenId: string): Promise<string | null>;
  fetch: typeof fetch;
  gateway: string | undefined;
}

/** Resolves and caches NFT metadata. */
export class MetadataResolver {
  private readonly cache = new Map<string, { at: number; value: NftMetadata }>();
  private readonly inflight = new Map<string, Promise<NftMetadata>>();

  constructor(
    private readonly ports: MetadataPorts,
    private readonly now: () => number = Date.now,
  ) {}

  async get(token: string, tokenId: string): Promise<NftMetadata> {
    const key = `${token.toLowerCase()}:${tokenId}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      const ttl = hit.value.problem === null ? METADATA_LIMITS.okTtlMs : METADATA_LIMITS.failTtlMs;
      if (this.now() - hit.at < ttl) return hit.value;
      this.cache.delete(key);
    }
    // Concurrent requests for one token (a page's table and its address page) share one resolution.
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.resolve(token, tokenId).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const value = await pending;
    if (this.cache.size >= METADATA_LIMITS.cacheEntries) {
      // Oldest first (Map keeps insertion order).
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { at: this.now(), value });
    return value;
  }

  private async resolve(token: string, tokenId: string): Promise<NftMetadata> {
    const empty = { name: null, description: null, image: null, imageUrl: null };
    let raw: string | null;
    try {
      raw = await this.ports.tokenUri(token, tokenId);
    } catch {
      return { tokenUri: null, ...empty, problem: "the contract did not return a token URI" };
    }
    const tokenUri = cleanText(raw, METADATA_LIMITS.maxUri);
    if (tokenUri === null) return { tokenUri: null, ...empty, problem: "no token URI" };
    try {
      const inline = dataUriJson(tokenUri);
      if (inline !== null) return { tokenUri, ...sanitizeMetadata(inline, this.ports.gateway), problem: null };
    } catch {
      return { tokenUri, ...empty, problem: "the inline metadata is not JSON" };
    }
    const url = viaGateway(tokenUri, this.ports.gateway);
    if (url === null) {
      const problem =
        this.ports.gateway === undefined ? "no IPFS gateway configured" : "metadata is not on IPFS (not fetched)";
      return { tokenUri, ...empty, problem };
    }
    try {
      const res = await this.ports.fetch(url, {
        signal: AbortSignal.timeout(METADATA_LIMITS.timeoutMs),
        redirect: "error",
        headers: { accept: "application/json" },
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { tokenUri, ...empty, problem: `gateway answered HTTP ${res.status}` };
      }
      const json = JSON.parse(await readCapped(res, METADATA_LIMITS.maxBytes)) as unknown;
      return { tokenUri, ...sanitizeMetadata(json, this.ports.gateway), problem: null };
    } catch (e) {
      const why = e instanceof SyntaxError ? "metadata is not JSON" : e instanceof Error ? e.message : String(e);
      return { tokenUri, ...empty, problem: cleanText(why, 200) };
    }
  }
}
