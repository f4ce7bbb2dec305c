import type { SearchParams } from "../engine.js";
import { badRequest } from "../errors.js";

/**
 * Search parameters from a query string (`GET …/search?q=…&filter=…&facets=kind,price&sort=price:asc&hybrid=0.5`)
 * or a JSON body (POST, the same keys typed). Every malformed value is a 400 naming it.
 */
const KEYS = new Set([
  "q",
  "filter",
  "facets",
  "limit",
  "offset",
  "page",
  "hitsPerPage",
  "sort",
  "hybrid",
  "vector",
  "attributesToHighlight",
  "attributesToCrop",
  "cropLength",
  "highlightPreTag",
  "highlightPostTag",
  "matchingStrategy",
  "prefix",
  "showRankingScore",
]);

const one = (v: unknown, k: string): string | undefined => {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw badRequest(`${k}: given more than once`);
  if (typeof v !== "string") throw badRequest(`${k}: expected a string`);
  return v;
};
const int = (v: unknown, k: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : Number(one(v, k));
  if (!Number.isInteger(n) || (typeof v === "string" && !/^\d+$/.test(v)))
    throw badRequest(`${k}: expected an integer`);
  return n;
};
const list = (v: unknown, k: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === "string"))
    return v.flatMap((x) => x.split(",")).filter((x) => x !== "");
  return one(v, k)!
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
};
const bool = (v: unknown, k: string): boolean | undefined => {
  if (v === undefined || typeof v === "boolean") return v as boolean | undefined;
  const s = one(v, k);
  if (s === "true") return true;
  if (s === "false") return false;
  throw badRequest(`${k}: true or false`);
};

export function parseSearchParams(raw: Record<string, unknown>): SearchParams {
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) throw badRequest(`unknown parameter "${k}"`);
  let hybrid: number | undefined;
  if (raw.hybrid !== undefined) {
    const h = raw.hybrid;
    const ratio =
      typeof h === "number"
        ? h
        : typeof h === "object" && h !== null && !Array.isArray(h)
          ? (h as { semanticRatio?: unknown }).semanticRatio
          : Number(one(h, "hybrid"));
    if (typeof ratio !== "number" || !Number.isFinite(ratio))
      throw badRequest("hybrid: a semantic ratio between 0 and 1");
    hybrid = ratio;
  }
  let vector: number[] | undefined;
  if (raw.vector !== undefined) {
    const v = typeof raw.vector === "string" ? safeJSON(raw.vector, "vector") : raw.vector;
    if (!Array.isArray(v)) throw badRequest("vector: a JSON array of numbers");
    vector = v as number[];
  }
  const strategy = one(raw.matchingStrategy, "matchingStrategy");
  if (strategy !== undefined && strategy !== "all" && strategy !== "last")
    throw badRequest("matchingStrategy: all or last");
  let limit = int(raw.limit, "limit");
  let offset = int(raw.offset, "offset");
  const hitsPerPage = int(raw.hitsPerPage, "hitsPerPage");
  const page = int(raw.page, "page");
  if (page !== undefined || hitsPerPage !== undefined) {
    if (limit !== undefined || offset !== undefined)
      throw badRequest("page/hitsPerPage cannot be mixed with limit/offset");
    if (page !== undefined && page < 1) throw badRequest("page: from 1");
    limit = hitsPerPage ?? 20;
    offset = ((page ?? 1) - 1) * limit;
  }
  return {
    q: one(raw.q, "q") ?? "",
    filter: one(raw.filter, "filter"),
    facets: list(raw.facets, "facets"),
    limit,
    offset,
    sort: list(raw.sort, "sort"),
    hybrid,
    vector,
    attributesToHighlight: list(raw.attributesToHighlight, "attributesToHighlight"),
    attributesToCrop: list(raw.attributesToCrop, "attributesToCrop"),
    cropLength: int(raw.cropLength, "cropLength"),
    highlightPreTag: one(raw.highlightPreTag, "highlightPreTag"),
    highlightPostTag: one(raw.highlightPostTag, "highlightPostTag"),
    matchingStrategy: strategy as "all" | "last" | undefined,
    prefix: bool(raw.prefix, "prefix"),
    showRankingScore: bool(raw.showRankingScore, "showRankingScore"),
  };
}

function safeJSON(s: string, k: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw badRequest(`${k}: not JSON`);
  }
}
