/**
 * An index's settings: one TypeBox schema is the type, the defaults, the validation and the documentation of every
 * key (what `PATCH /indexes/<name>/settings` accepts and the README lists).
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { badRequest } from "./errors.js";

const Attr = Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$" });

export const IndexSettingsSchema = Type.Object(
  {
    primaryKey: Type.String({
      default: "id",
      pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$",
      description: "the attribute naming a document (string or integer); fixed at creation",
    }),
    searchableAttributes: Type.Array(Attr, {
      default: ["title", "name", "description", "text"],
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      description: "attributes searched, in order of importance (dotted paths reach nested objects)",
    }),
    attributeWeights: Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0, maximum: 100 }), {
      default: {},
      description: "BM25 weight per searchable attribute; unset ones get n, n−1, …, 1 by their order",
    }),
    filterableAttributes: Type.Array(Attr, {
      default: [],
      maxItems: 32,
      uniqueItems: true,
      description: "attributes usable in `filter` and `facets` (strings, numbers, booleans or arrays of them)",
    }),
    sortableAttributes: Type.Array(Attr, {
      default: [],
      maxItems: 16,
      uniqueItems: true,
      description: "attributes usable in `sort`",
    }),
    synonyms: Type.Record(Type.String(), Type.Array(Type.String({ maxLength: 128 }), { maxItems: 32 }), {
      default: {},
      description: 'word → words it also matches (one-way; list both ways for mutual), e.g. {"nft": ["token"]}',
    }),
    stopWords: Type.Array(Type.String({ maxLength: 64 }), {
      default: [],
      maxItems: 1024,
      description: "words ignored in queries (unless the query has nothing else)",
    }),
    typoTolerance: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        oneTypo: Type.Integer({ minimum: 1, maximum: 64, default: 5, description: "shortest word allowed 1 typo" }),
        twoTypos: Type.Integer({ minimum: 1, maximum: 64, default: 9, description: "shortest word allowed 2 typos" }),
      },
      { default: {}, additionalProperties: false },
    ),
    embedder: Type.Union(
      [
        Type.Null(),
        Type.Object(
          {
            source: Type.Union([Type.Literal("azora"), Type.Literal("user")], {
              description:
                "azora: the ai/embed model (USE-lite, 512-d) embeds documents and queries; user: documents carry `_vectors` and queries pass `vector`",
            }),
            fields: Type.Array(Attr, {
              default: [],
              maxItems: 16,
              description: "attributes whose text is embedded (default: the searchable attributes)",
            }),
            dimensions: Type.Integer({ minimum: 1, maximum: 4096, default: 512 }),
          },
          { additionalProperties: false },
        ),
      ],
      { default: null, description: "vectors for semantic and hybrid search (null: keyword only)" },
    ),
    pricePerQuery: Type.String({
      pattern: "^(0|[1-9][0-9]{0,37})$",
      default: "0",
      description: "wei of AZR per query paid with receipts when the service runs paid (0: free)",
    }),
  },
  { additionalProperties: false },
);

export type IndexSettings = Static<typeof IndexSettingsSchema>;

/** Defaults filled in and every key checked; a bad key or value is a 400 naming it. */
export function resolveSettings(input: unknown, base?: IndexSettings): IndexSettings {
  const merged = base === undefined ? (input ?? {}) : { ...base, ...(input as object) };
  if (typeof merged !== "object" || merged === null || Array.isArray(merged))
    throw badRequest("settings: expected an object");
  const withDefaults = Value.Default(IndexSettingsSchema, structuredClone(merged));
  const errors = [...Value.Errors(IndexSettingsSchema, withDefaults)];
  if (errors.length > 0) {
    const e = errors[0];
    throw badRequest(`settings${e.path.replaceAll("/", ".")}: ${e.message}`);
  }
  const s = withDefaults as IndexSettings;
  for (const k of Object.keys(s.attributeWeights)) {
    if (!s.searchableAttributes.includes(k)) throw badRequest(`settings.attributeWeights: "${k}" is not searchable`);
  }
  if (s.typoTolerance.twoTypos < s.typoTolerance.oneTypo) {
    throw badRequest("settings.typoTolerance: twoTypos must be at least oneTypo");
  }
  if (base !== undefined && s.primaryKey !== base.primaryKey) throw badRequest("settings.primaryKey cannot change");
  return s;
}

/** BM25 weight of each searchable attribute, in order. */
export function attributeWeights(s: IndexSettings): number[] {
  const n = s.searchableAttributes.length;
  return s.searchableAttributes.map((a, i) => s.attributeWeights[a] ?? n - i);
}

/** Whether changing from `a` to `b` needs every document re-indexed (the stored layout depends on these). */
export function needsReindex(a: IndexSettings, b: IndexSettings): boolean {
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  return (
    !same(a.searchableAttributes, b.searchableAttributes) ||
    !same([...a.filterableAttributes].sort(), [...b.filterableAttributes].sort()) ||
    !same([...a.sortableAttributes].sort(), [...b.sortableAttributes].sort()) ||
    !same(a.embedder, b.embedder)
  );
}

export const INDEX_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function validateIndexName(name: string): void {
  if (!INDEX_NAME.test(name)) throw badRequest(`index name "${name}": 1–64 characters of A–Z a–z 0–9 _ -`);
}
