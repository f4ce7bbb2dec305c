import type { Logger } from "../../runtime/lib/logger.js";
import { checkDoc, type Doc, docIdOf, type PreparedDoc, prepareDoc, unit } from "./documents.js";
import type { Embedder } from "./embedder.js";
import { badRequest, SearchError, SearchErrorCode } from "./errors.js";
import { type Filter, parseFilter } from "./query/filter.js";
import { buildPlan, MAX_QUERY_CHARS, type Plan } from "./query/plan.js";
import { type IndexSettings, needsReindex, resolveSettings, validateIndexName } from "./settings.js";
import type { Hit, IndexInfo, SearchStore, SortKey, TaskRow } from "./store.js";
import { DEFAULT_TAGS, highlight, snippet } from "./text/highlight.js";
import { tokenize } from "./text/normalize.js";

/**
 * The search engine over a store: index lifecycle, document tasks (batched, idempotent by id, run in order and
 * resumed after a restart), and queries — planning (stop words, synonyms, typos, prefix), keyword ranking by typo
 * tier then BM25, semantic ranking by cosine, hybrid fusion by reciprocal rank, facets, highlighting.
 */
export interface SearchParams {
  q: string;
  filter?: string;
  facets?: string[];
  limit?: number;
  offset?: number;
  sort?: string[];
  /** Semantic share of the ranking, 0 (keyword only) … 1 (semantic only); unset: keyword only. */
  hybrid?: number;
  /** A query vector (for `user` embedders, or to skip embedding). */
  vector?: number[];
  attributesToHighlight?: string[];
  attributesToCrop?: string[];
  cropLength?: number;
  highlightPreTag?: string;
  highlightPostTag?: string;
  /** all: every word must match; last: drop words from the end until something matches. */
  matchingStrategy?: "all" | "last";
  /** Complete the last word as a prefix (default true). */
  prefix?: boolean;
  showRankingScore?: boolean;
}

export interface SearchResponse {
  hits: Record<string, unknown>[];
  query: string;
  processingTimeMs: number;
  limit: number;
  offset: number;
  estimatedTotalHits: number;
  facetDistribution?: Record<string, Record<string, number>>;
  facetStats?: Record<string, { min: number; max: number }>;
  semanticHitCount?: number;
}

export const MAX_LIMIT = 1000;
export const MAX_OFFSET = 10_000;
export const MAX_BATCH_DOCS = 10_000;
/** RRF's k: rank r contributes 1/(k + r) (Cormack et al. 2009 use 60). */
export const RRF_K = 60;
const MAX_FACET_VALUES = 100;

export interface EngineOptions {
  /** Embeds queries and (small batches of) documents. Loaded on first use when given as a function. */
  embedder?: Embedder | (() => Promise<Embedder>) | null;
  /** Embeds large document batches instead (e.g. the market); batches of at least `bulkMin` documents. */
  bulkEmbedder?: { embedder: Embedder; bulkMin: number } | null;
  logger?: Logger;
  onTask?: (t: TaskRow) => void;
}

export class SearchEngine {
  private embedderP: Promise<Embedder> | null = null;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;
  private readonly settingsCache = new Map<string, IndexInfo>();

  constructor(
    readonly store: SearchStore,
    private readonly opts: EngineOptions = {},
  ) {}

  // ---- indexes ----------------------------------------------------------------------------------------------

  async createIndex(name: string, settings: unknown = {}): Promise<IndexInfo> {
    validateIndexName(name);
    await this.store.createIndex(name, resolveSettings(settings));
    return (await this.index(name))!;
  }

  async index(name: string): Promise<IndexInfo | null> {
    let info = this.settingsCache.get(name);
    if (info === undefined) {
      const got = await this.store.getIndex(name);
      if (got === null) return null;
      info = got;
      this.settingsCache.set(name, info);
    }
    return info;
  }

  async requireIndex(name: string): Promise<IndexInfo> {
    const info = await this.index(name);
    if (info === null) throw new SearchError({ code: SearchErrorCode.INDEX_NOT_FOUND, index: name });
    return info;
  }

  async deleteIndex(name: string): Promise<void> {
    await this.requireIndex(name);
    await this.store.deleteIndex(name);
    this.settingsCache.delete(name);
  }

  /** Validates now (a bad key is a 400), applies in order with the documents (a task). */
  async updateSettings(name: string, patch: unknown): Promise<TaskRow> {
    const info = await this.requireIndex(name);
    const next = resolveSettings(patch, info.settings);
    return this.enqueue(name, "settingsUpdate", next, {});
  }

  // ---- documents --------------------------------------------------------------------------------------------

  /** Checks the batch now (shape and ids: a malformed batch is a 400 and no task), indexes it in a task. */
  async addDocuments(name: string, docs: unknown, mode: "replace" | "update" = "replace"): Promise<TaskRow> {
    const info = await this.requireIndex(name);
    if (!Array.isArray(docs)) throw badRequest("documents: expected a JSON array of objects");
    if (docs.length > MAX_BATCH_DOCS) throw badRequest(`documents: at most ${MAX_BATCH_DOCS} per batch`);
    docs.forEach((d, i) => {
      if (mode === "replace") checkDoc(d, info.settings, i);
      else if (d === null || typeof d !== "object" || Array.isArray(d))
        throw badRequest(`document ${i}: not an object`);
      else docIdOf(d as Doc, info.settings.primaryKey, i);
    });
    return this.enqueue(name, mode === "replace" ? "documentAddition" : "documentUpdate", docs, {
      receivedDocuments: docs.length,
    });
  }

  async deleteDocuments(name: string, ids: unknown): Promise<TaskRow> {
    await this.requireIndex(name);
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === "string" || typeof x === "number")) {
      throw badRequest("ids: expected a JSON array of document ids");
    }
    if (ids.length > MAX_BATCH_DOCS) throw badRequest(`ids: at most ${MAX_BATCH_DOCS} per batch`);
    return this.enqueue(name, "documentDeletion", ids.map(String), { providedIds: ids.length });
  }

  async getDocument(name: string, id: string): Promise<Doc> {
    await this.requireIndex(name);
    const d = (await this.store.get(name, [id])).get(id);
    if (d === undefined) throw new SearchError({ code: SearchErrorCode.DOCUMENT_NOT_FOUND, index: name, id });
    return d;
  }

  // ---- tasks ------------------------------------------------------------------------------------------------

  private async enqueue(name: string, type: string, payload: unknown, details: Record<string, unknown>) {
    const t = await this.store.enqueueTask(name, type, payload, details);
    this.wake?.();
    return t;
  }

  async task(uid: number): Promise<TaskRow> {
    const t = await this.store.getTask(uid);
    if (t === null) throw new SearchError({ code: SearchErrorCode.TASK_NOT_FOUND, uid });
    return { ...t, payload: undefined };
  }

  /** Waits until task `uid` has finished (tests, CLI). */
  async waitForTask(uid: number, timeoutMs = 120_000): Promise<TaskRow> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const t = await this.task(uid);
      if (t.status === "succeeded" || t.status === "failed") return t;
      if (Date.now() > until) throw new Error(`task ${uid} still ${t.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts the task loop (tasks run one at a time, in enqueue order, also those a restart interrupted). */
  start(): void {
    if (this.running !== null) return;
    this.running = (async () => {
      while (!this.stopped) {
        const t = await this.store.nextTask();
        if (t === null) {
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, 1000).unref();
          });
          this.wake = null;
          continue;
        }
        await this.runTask(t);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = null;
    if (this.embedderP !== null) await (await this.embedderP.catch(() => null))?.close();
  }

  private async runTask(t: TaskRow): Promise<void> {
    await this.store.finishTask(t.uid, "processing", t.details);
    const log = this.opts.logger?.child({ task: t.uid, index: t.index, type: t.type });
    try {
      const details = await this.apply(t);
      await this.store.finishTask(t.uid, "succeeded", { ...t.details, ...details });
      log?.debug("task succeeded", details);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.store.finishTask(t.uid, "failed", t.details, message);
      log?.warn("task failed", { error: message });
    }
    this.opts.onTask?.((await this.store.getTask(t.uid))!);
  }

  private async apply(t: TaskRow): Promise<Record<string, unknown>> {
    const info = await this.index(t.index);
    if (info === null) throw new SearchError({ code: SearchErrorCode.INDEX_NOT_FOUND, index: t.index });
    switch (t.type) {
      case "documentAddition":
      case "documentUpdate": {
        let docs = t.payload as Doc[];
        if (t.type === "documentUpdate") {
          const ids = docs.map((d, i) => docIdOf(d, info.settings.primaryKey, i));
          const existing = await this.store.get(t.index, ids);
          docs = docs.map((d, i) => ({ ...(existing.get(ids[i]) ?? {}), ...d }));
        }
        // The last version of an id in a batch wins, as if the batch were applied one by one.
        const byId = new Map<string, PreparedDoc>();
        docs.forEach((d, i) => {
          const p = prepareDoc(d, info.settings, i);
          byId.set(p.id, p);
        });
        const prepared = [...byId.values()];
        await this.embedDocs(info, prepared);
        await this.store.upsert(t.index, prepared);
        return { indexedDocuments: prepared.length };
      }
      case "documentDeletion":
        return { deletedDocuments: await this.store.delete(t.index, t.payload as string[]) };
      case "settingsUpdate": {
        const next = t.payload as IndexSettings;
        let reindex: PreparedDoc[] | null = null;
        if (needsReindex(info.settings, next)) {
          // Stored documents carry no `_vectors`: a "user" embedder's vectors do not survive a re-index.
          const prep = { ...next, embedder: next.embedder?.source === "azora" ? next.embedder : null };
          reindex = [];
          let after: string | null = null;
          for (;;) {
            const page = await this.store.scan(t.index, after, 1000);
            if (page.length === 0) break;
            for (const d of page) reindex.push(prepareDoc(d, prep, reindex.length));
            after = reindex.at(-1)!.id;
          }
          await this.embedDocs({ ...info, settings: next }, reindex);
        }
        await this.store.updateSettings(t.index, next, reindex);
        this.settingsCache.delete(t.index);
        return { reindexedDocuments: reindex?.length ?? 0 };
      }
      default:
        throw new Error(`unknown task type ${t.type}`);
    }
  }

  private async embedDocs(info: IndexInfo, docs: PreparedDoc[]): Promise<void> {
    const e = info.settings.embedder;
    if (e === null || e.source !== "azora") return;
    const todo = docs.filter((d) => d.vector === null);
    if (todo.length === 0) return;
    const bulk = this.opts.bulkEmbedder;
    const embedder = bulk && todo.length >= bulk.bulkMin ? bulk.embedder : await this.embedder(info.name);
    if (embedder.dims !== e.dimensions) {
      throw new Error(`embedder gives ${embedder.dims}-d vectors, the index wants ${e.dimensions}`);
    }
    const vectors = await embedder.embed(todo.map((d) => d.embedText));
    todo.forEach((d, i) => {
      d.vector = unit(Float32Array.from(vectors[i]));
    });
  }

  private async embedder(index: string): Promise<Embedder> {
    const e = this.opts.embedder;
    if (e === undefined || e === null) {
      throw new SearchError({ code: SearchErrorCode.NO_EMBEDDER, index, reason: "no embedding model configured" });
    }
    if (typeof e !== "function") return e;
    this.embedderP ??= e();
    try {
      return await this.embedderP;
    } catch (err) {
      this.embedderP = null;
      throw new SearchError({
        code: SearchErrorCode.NO_EMBEDDER,
        index,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }

  // ---- queries ----------------------------------------------------------------------------------------------

  async search(name: string, p: SearchParams): Promise<SearchResponse> {
    const started = performance.now();
    const info = await this.requireIndex(name);
    const s = info.settings;
    const limit = p.limit ?? 20;
    const offset = p.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) throw badRequest(`limit: 0–${MAX_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) throw badRequest(`offset: 0–${MAX_OFFSET}`);
    const q = p.q ?? "";
    if (q.length > MAX_QUERY_CHARS) throw badRequest(`q: at most ${MAX_QUERY_CHARS} characters`);
    const filter = p.filter ? parseFilter(p.filter, new Set(s.filterableAttributes)) : null;
    const sort = parseSort(p.sort ?? [], s);
    for (const f of p.facets ?? []) {
      if (!s.filterableAttributes.includes(f)) {
        throw badRequest(
          `facets: attribute "${f}" is not filterable (filterable: ${s.filterableAttributes.join(", ") || "none"})`,
        );
      }
    }
    const ratio = p.hybrid ?? (p.vector !== undefined ? 1 : 0);
    if (!(ratio >= 0 && ratio <= 1)) throw badRequest("hybrid: a semantic ratio between 0 and 1");
    if (ratio > 0 && s.embedder === null) throw badRequest(`hybrid: index "${name}" has no embedder`);
    if (ratio > 0 && sort.length > 0) throw badRequest("sort cannot be combined with hybrid or vector search");
    const cropLength = p.cropLength ?? 10;
    if (!Number.isInteger(cropLength) || cropLength < 1 || cropLength > 200) throw badRequest("cropLength: 1–200");
    for (const a of [...(p.attributesToHighlight ?? []), ...(p.attributesToCrop ?? [])]) {
      if (a !== "*" && !s.searchableAttributes.includes(a)) throw badRequest(`attribute "${a}" is not searchable`);
    }

    const terms = this.store.terms(name);
    let plan = await buildPlan(q, s, terms, { prefix: p.prefix });
    const window = offset + limit;
    let keyword: { hits: Hit[]; total: number } = { hits: [], total: 0 };
    let semantic: Hit[] = [];
    const semanticOnly = ratio === 1 && (plan !== null || p.vector !== undefined);
    if (!semanticOnly) {
      const fetch = ratio > 0 ? Math.max(window, 20) * 2 : limit;
      keyword = await this.store.keyword(name, { plan, filter, sort, limit: fetch, offset: ratio > 0 ? 0 : offset });
      // matchingStrategy "last": drop words from the end while nothing matches.
      while (keyword.total === 0 && p.matchingStrategy === "last" && plan !== null && plan.words.length > 1) {
        plan = await buildPlan(plan.words.slice(0, -1).join(" "), s, terms, { prefix: false });
        keyword = await this.store.keyword(name, { plan, filter, sort, limit: fetch, offset: ratio > 0 ? 0 : offset });
      }
    }
    if (ratio > 0 && (plan !== null || p.vector !== undefined)) {
      const vec = await this.queryVector(name, s, q, p.vector);
      semantic = await this.store.vectors(name, vec, Math.min(Math.max(window, 20) * 2, MAX_LIMIT * 2), filter);
    }
    let hits: Hit[];
    let total: number;
    if (ratio === 0 || (plan === null && p.vector === undefined)) {
      hits = keyword.hits;
      total = keyword.total;
    } else if (semanticOnly) {
      hits = semantic.slice(offset, window);
      total = semantic.length;
    } else {
      const fused = fuseRRF(keyword.hits, semantic, ratio);
      hits = fused.slice(offset, window);
      total = Math.max(keyword.total, fused.length);
    }

    const out: SearchResponse = {
      hits: hits.map((h) => this.formatHit(h, s, plan, p, cropLength)),
      query: q,
      processingTimeMs: 0,
      limit,
      offset,
      estimatedTotalHits: total,
    };
    if (ratio > 0) out.semanticHitCount = hits.filter((h) => semantic.some((x) => x.id === h.id)).length;
    if (p.facets !== undefined && p.facets.length > 0) {
      const f = await this.store.facets(name, semanticOnly ? null : plan, filter, p.facets, MAX_FACET_VALUES);
      out.facetDistribution = f.distribution;
      out.facetStats = f.stats;
    }
    out.processingTimeMs = Math.round((performance.now() - started) * 100) / 100;
    return out;
  }

  private async queryVector(name: string, s: IndexSettings, q: string, given?: number[]): Promise<Float32Array> {
    const dims = s.embedder!.dimensions;
    if (given !== undefined) {
      if (!Array.isArray(given) || given.length !== dims || !given.every((x) => Number.isFinite(x))) {
        throw badRequest(`vector: ${dims} finite numbers`);
      }
      return unit(Float32Array.from(given));
    }
    if (s.embedder!.source !== "azora") throw badRequest('vector: required for an index whose embedder is "user"');
    const [v] = await (await this.embedder(name)).embed([q]);
    return unit(Float32Array.from(v));
  }

  private formatHit(h: Hit, s: IndexSettings, plan: Plan | null, p: SearchParams, cropLength: number) {
    const out: Record<string, unknown> = { ...h.doc };
    if (p.showRankingScore) out._rankingScore = h.score;
    if (plan === null) return out;
    const tags = { pre: p.highlightPreTag ?? DEFAULT_TAGS.pre, post: p.highlightPostTag ?? DEFAULT_TAGS.post };
    const expand = (list: string[] | undefined) =>
      list === undefined ? [] : list.includes("*") ? s.searchableAttributes : list;
    const hl = p.attributesToHighlight === undefined ? s.searchableAttributes : expand(p.attributesToHighlight);
    const crop = new Set(expand(p.attributesToCrop));
    const formatted: Record<string, string> = {};
    for (const a of new Set([...hl, ...crop])) {
      const v = h.doc[a];
      if (typeof v !== "string") continue;
      formatted[a] = crop.has(a) ? snippet(v, plan.match, cropLength, tags) : highlight(v, plan.match, tags).text;
    }
    out._formatted = formatted;
    return out;
  }

  /** Completions of the query's last word (suggest-as-you-type), most frequent first, with the completed query. */
  async suggest(name: string, q: string, limit = 10) {
    await this.requireIndex(name);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest("limit: 1–100");
    const words = tokenize(q);
    if (words.length === 0) return { query: q, suggestions: [] };
    const last = words.at(-1)!;
    const head = words.slice(0, -1).join(" ");
    const terms = await this.store.terms(name).complete(last, limit);
    return {
      query: q,
      suggestions: terms.map((t) => ({
        text: head === "" ? t.term : `${head} ${t.term}`,
        term: t.term,
        documents: t.docs,
      })),
    };
  }

  async stats(name: string) {
    await this.requireIndex(name);
    return {
      numberOfDocuments: await this.store.count(name),
      numberOfVectors: await this.store.vectorCount(name),
      isIndexing: (await this.store.listTasks({ index: name, status: "processing", limit: 1 })).length > 0,
      sizeBytes: await this.store.sizeBytes(name),
    };
  }
}

/** `field:asc` / `field:desc`, each field sortable. */
export function parseSort(list: string[], s: IndexSettings): SortKey[] {
  if (list.length > 8) throw badRequest("sort: at most 8 keys");
  return list.map((x) => {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*):(asc|desc)$/.exec(x.trim());
    if (m === null) throw badRequest(`sort: "${x}" is not attribute:asc or attribute:desc`);
    if (!s.sortableAttributes.includes(m[1])) {
      throw badRequest(
        `sort: attribute "${m[1]}" is not sortable (sortable: ${s.sortableAttributes.join(", ") || "none"})`,
      );
    }
    return { field: m[1], dir: m[2] as "asc" | "desc" };
  });
}

/**
 * Reciprocal-rank fusion, weighted: a document's score is (1 − ratio)/(k + keyword rank) + ratio/(k + semantic
 * rank), ranks from 1, a list it is absent from adding nothing. Ties go to the keyword order.
 */
export function fuseRRF(keyword: Hit[], semantic: Hit[], ratio: number, k = RRF_K): Hit[] {
  const scores = new Map<string, { hit: Hit; score: number; order: number }>();
  keyword.forEach((h, i) => {
    scores.set(h.id, { hit: h, score: (1 - ratio) / (k + i + 1), order: i });
  });
  semantic.forEach((h, i) => {
    const e = scores.get(h.id);
    const add = ratio / (k + i + 1);
    if (e === undefined) scores.set(h.id, { hit: h, score: add, order: keyword.length + i });
    else e.score += add;
  });
  return [...scores.values()]
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .map((e) => ({ ...e.hit, score: e.score }));
}

export type { Filter };
