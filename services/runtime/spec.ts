/**
 * The job spec document: what a job's `specURI` points to. JSON, content-addressed — inline as a `data:` URI
 * (so it lives on chain with the job) or at a URI naming its CID (`…/blobs/<cid>`, `ipfs://<cid>`) — so it
 * cannot change after posting and a replay verifier reads the same document as the worker did:
 *
 *   { "azora": { "v": 1, "kind": "ai/transcribe",
 *                "input": { "uris": ["data:…" | "http://host/blobs/<cid>" | "ipfs://<cid>", …],
 *                           "contentType": "audio/wav", "size": 12345 } },
 *     …the kind's parameters at the top level, e.g. "model": "0x…", "input": "text" }
 *
 * The runtime's part lives under the one reserved key `azora`, so it never collides with a kind's
 * parameters; handlers receive the parameters (the document without `azora`) as `spec`. The input is fetched
 * from `azora.input.uris` (in order) and then from every claiming worker's endpoint
 * (`<endpoint>/blobs/<cid of inputHash>`), and checked against the job's on-chain `inputHash` (sha256), so a
 * URI only says where to look, never what is right.
 */

import { cidFromSha256, cidInURI, sha256Hex } from "./content/cid.js";
import { type FetchOptions, fetchURI, fetchVerified, toDataURI } from "./content/fetcher.js";
import { ContentError, ContentErrorCode, SpecError, SpecErrorCode } from "./errors.js";

export const SPEC_VERSION = 1;
/** The market takes a specURI of at most 1,024 bytes; a longer spec is hosted and named by CID instead. */
export const MAX_INLINE_SPEC_URI_CHARS = 1024;
/** Inputs up to this size travel inline in the spec (a `data:` URI inside the `data:` specURI); larger ones are hosted. */
export const MAX_INLINE_INPUT_BYTES = 384;
export const MAX_SPEC_BYTES = 64 * 1024;

export interface SpecEnvelope {
  v: typeof SPEC_VERSION;
  kind: string;
  input: { uris: string[]; contentType?: string; size?: number };
}

export interface JobSpecDocument {
  azora: SpecEnvelope;
  [param: string]: unknown;
}

/** The kind's parameters: the document without the runtime's `azora` part (what handlers get as `spec`). */
export function paramsOf(doc: JobSpecDocument): Record<string, unknown> {
  const { azora: _, ...params } = doc;
  return params;
}

/** Canonical bytes of a spec (keys sorted recursively), so equal documents have one CID. */
export function encodeSpec(doc: JobSpecDocument): Uint8Array {
  return new TextEncoder().encode(canonicalJSON(doc));
}

export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort())
      out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The inline `data:` specURI of a document, or undefined when it is too long to live on chain. */
export function inlineSpecURI(doc: JobSpecDocument): string | undefined {
  const uri = toDataURI(encodeSpec(doc), "application/json");
  return uri.length <= MAX_INLINE_SPEC_URI_CHARS ? uri : undefined;
}

export function validateSpec(json: unknown, onChainKind?: string): JobSpecDocument {
  const malformed = (reason: string) =>
    new SpecError({ code: SpecErrorCode.MALFORMED, reason }, `bad job spec: ${reason}`);
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(json)) throw malformed("not a JSON object");
  const a = json.azora;
  if (!isObject(a)) throw malformed("azora");
  if (a.v !== SPEC_VERSION) throw malformed(`azora.v must be ${SPEC_VERSION}`);
  if (typeof a.kind !== "string" || a.kind.length === 0 || a.kind.length > 31) throw malformed("azora.kind");
  const input = a.input;
  if (!isObject(input)) throw malformed("azora.input");
  if (!Array.isArray(input.uris) || input.uris.some((u) => typeof u !== "string") || input.uris.length > 16)
    throw malformed("azora.input.uris");
  if (input.contentType !== undefined && typeof input.contentType !== "string")
    throw malformed("azora.input.contentType");
  if (input.size !== undefined && (typeof input.size !== "number" || !Number.isSafeInteger(input.size)))
    throw malformed("azora.input.size");
  if (onChainKind !== undefined && a.kind !== onChainKind)
    throw new SpecError({ code: SpecErrorCode.KIND_MISMATCH, spec: a.kind, job: onChainKind });
  return json as JobSpecDocument;
}

/**
 * Loads a job's spec document from its specURI: a `data:` URI, or a URI naming a CID (fetched and checked
 * against it). Anything else is refused: a mutable document could differ between worker and verifier.
 */
export async function loadSpec(specURI: string, onChainKind: string, opts: FetchOptions): Promise<JobSpecDocument> {
  const limits = { ...opts, maxBytes: Math.min(opts.maxBytes, MAX_SPEC_BYTES) };
  let bytes: Uint8Array;
  if (specURI.startsWith("data:")) {
    bytes = (await fetchURI(specURI, limits)).bytes;
  } else {
    const cid = cidInURI(specURI);
    if (cid === undefined)
      throw new SpecError({ code: SpecErrorCode.NOT_CONTENT_ADDRESSED, uri: specURI.slice(0, 100) });
    const hash = `0x${Buffer.from(cid.multihash.digest).toString("hex")}`;
    bytes = (await fetchVerified([specURI], hash, limits)).bytes;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SpecError({ code: SpecErrorCode.MALFORMED, reason: "not UTF-8 JSON" });
  }
  return validateSpec(json, onChainKind);
}

/** Where to look for a job's input: the spec's URIs, then each given endpoint's blob route. */
export function inputSources(doc: JobSpecDocument, inputHash: string, endpoints: readonly string[]): string[] {
  const cid = cidFromSha256(inputHash).toString();
  const fromEndpoints = endpoints
    .filter((e) => /^https?:\/\//.test(e))
    .map((e) => `${e.replace(/\/+$/, "")}/blobs/${cid}`);
  return [...doc.azora.input.uris, ...fromEndpoints];
}

/** Fetches a job's input and checks it against the on-chain inputHash. */
export async function fetchInput(
  doc: JobSpecDocument,
  inputHash: string,
  endpoints: readonly string[],
  opts: FetchOptions,
): Promise<Uint8Array> {
  const sources = inputSources(doc, inputHash, endpoints);
  if (sources.length === 0) throw new ContentError({ code: ContentErrorCode.FETCH_FAILED, sources: 0, reasons: [] });
  const got = await fetchVerified(sources, inputHash, opts);
  return got.bytes;
}

/** Builds a spec for an input: inline when small, else naming the given hosted URIs. */
export function specFor(
  kind: string,
  input: Uint8Array,
  opts: { contentType?: string; hostedURIs?: string[]; params?: Record<string, unknown> },
): { doc: JobSpecDocument; inputHash: string } {
  const uris =
    input.length <= MAX_INLINE_INPUT_BYTES && (opts.hostedURIs === undefined || opts.hostedURIs.length === 0)
      ? [toDataURI(input, opts.contentType)]
      : (opts.hostedURIs ?? []);
  if (opts.params !== undefined && "azora" in opts.params)
    throw new SpecError(
      { code: SpecErrorCode.MALFORMED, reason: "parameter azora is reserved" },
      "bad job spec: parameter azora is reserved",
    );
  const doc: JobSpecDocument = {
    ...(opts.params ?? {}),
    azora: {
      v: SPEC_VERSION,
      kind,
      input: { uris, ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }), size: input.length },
    },
  };
  return { doc, inputHash: sha256Hex(input) };
}
