import { badRequest } from "./errors.js";
import { facetKey } from "./query/filter.js";
import type { IndexSettings } from "./settings.js";
import { indexText } from "./text/normalize.js";

/**
 * A customer's JSON document made ready for any backend: its id, the normalised text of each searchable attribute
 * (in settings order), one facet row per filterable/sortable value, and a vector when it carries one.
 */
export type Doc = Record<string, unknown>;

export interface FacetRow {
  field: string;
  /** Matched and counted by (strings lower-cased). */
  key: string;
  /** The value as given (shown in facet counts). */
  value: string;
  /** Numbers (for ranges, comparisons and sorting); null for strings. */
  num: number | null;
}

export interface PreparedDoc {
  id: string;
  doc: Doc;
  texts: string[];
  facets: FacetRow[];
  /** A vector the document carries (`_vectors`), already checked against the embedder's dimensions. */
  vector: Float32Array | null;
  /** The text to embed when the index embeds documents itself ("" when it has no embedder). */
  embedText: string;
}

export const DOC_ID = /^[A-Za-z0-9_:.@-]{1,256}$/;
export const MAX_DOC_BYTES = 256 * 1024;
/** A facet attribute's values per document beyond this are ignored (bounds a document's rows). */
const MAX_VALUES_PER_FIELD = 256;

/** The value at a dotted path (`metadata.name`), or undefined. */
export function valueAt(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** Text of a value: strings, numbers and booleans, arrays and objects flattened (keys left out). */
export function textOf(v: unknown, depth = 0): string {
  if (v === null || v === undefined || depth > 8) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map((x) => textOf(x, depth + 1)).join(" ");
  if (typeof v === "object")
    return Object.values(v)
      .map((x) => textOf(x, depth + 1))
      .join(" ");
  return "";
}

export function docIdOf(doc: Doc, primaryKey: string, at: number): string {
  const raw = doc[primaryKey];
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return String(raw);
  if (typeof raw === "string" && DOC_ID.test(raw)) return raw;
  throw badRequest(
    `document ${at}: "${primaryKey}" must be a non-negative integer or 1–256 characters of A–Z a–z 0–9 _ - : . @`,
  );
}

/**
 * What `prepareDoc` refuses, checked without preparing (a batch is checked when it arrives and prepared when its
 * task runs): an object, a valid id, `_vectors` that fit the embedder. Returns the id.
 */
export function checkDoc(raw: unknown, s: IndexSettings, at: number): string {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw badRequest(`document ${at}: not an object`);
  const doc = raw as Doc;
  const id = docIdOf(doc, s.primaryKey, at);
  const given = doc._vectors;
  if (given !== undefined && given !== null) {
    if (s.embedder === null) throw badRequest(`document ${at}: _vectors given but the index has no embedder`);
    if (!Array.isArray(given) || given.length !== s.embedder.dimensions || !given.every((x) => Number.isFinite(x))) {
      throw badRequest(`document ${at}: _vectors must be ${s.embedder.dimensions} finite numbers`);
    }
  } else if (s.embedder?.source === "user") {
    throw badRequest(`document ${at}: the index's embedder is "user": every document needs _vectors`);
  }
  return id;
}

export function prepareDoc(raw: unknown, s: IndexSettings, at: number): PreparedDoc {
  const id = checkDoc(raw, s, at);
  const doc = raw as Doc;
  const texts = s.searchableAttributes.map((a) => indexText(textOf(valueAt(doc, a))));
  const facets: FacetRow[] = [];
  for (const field of new Set([...s.filterableAttributes, ...s.sortableAttributes])) {
    const v = valueAt(doc, field);
    const values = (Array.isArray(v) ? v : [v]).slice(0, MAX_VALUES_PER_FIELD);
    // One row per distinct key (the first spelling kept), so a facet count is a count of rows.
    const keys = new Set<string>();
    const add = (key: string, value: string, num: number | null) => {
      if (keys.has(key)) return;
      keys.add(key);
      facets.push({ field, key, value, num });
    };
    for (const x of values) {
      if (typeof x === "string") {
        if (x.length > 1024) continue;
        add(facetKey(x), x, x.trim() !== "" && Number.isFinite(Number(x)) ? Number(x) : null);
      } else if (typeof x === "number" && Number.isFinite(x)) {
        add(facetKey(x), String(x), x);
      } else if (typeof x === "boolean") {
        add(String(x), String(x), x ? 1 : 0);
      }
    }
  }
  const given = doc._vectors;
  const vector = Array.isArray(given) ? unit(Float32Array.from(given as number[])) : null;
  let embedText = "";
  if (s.embedder !== null) {
    const embedFields = s.embedder.fields.length ? s.embedder.fields : s.searchableAttributes;
    embedText = embedFields
      .map((a) => textOf(valueAt(doc, a)))
      .filter((t) => t !== "")
      .join(". ")
      .slice(0, 8192);
  }
  let stored = doc;
  if ("_vectors" in doc) {
    stored = { ...doc };
    delete stored._vectors;
  }
  return { id, doc: stored, texts, facets, vector, embedText };
}

/** `v` scaled to unit length (cosine = dot product); a zero vector stays zero. */
export function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n === 0) return v;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}
