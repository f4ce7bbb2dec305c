import type { PreparedDoc } from "./documents.js";
import type { Filter } from "./query/filter.js";
import type { Plan, TermLookup } from "./query/plan.js";
import type { IndexSettings } from "./settings.js";

/**
 * The port every search backend implements (SQLite + usearch embedded, PostgreSQL for scale-out). The engine
 * (`engine.ts`) owns query understanding, fusion and highlighting; a store owns storage, matching and counting,
 * so the same test suite runs against each (`test/search/`).
 */
export interface IndexInfo {
  name: string;
  settings: IndexSettings;
  createdAt: string;
  updatedAt: string;
}

export interface SortKey {
  field: string;
  dir: "asc" | "desc";
}

export interface KeywordQuery {
  /** null: every document (a placeholder search, ordered by `sort` or insertion). */
  plan: Plan | null;
  filter: Filter | null;
  sort: SortKey[];
  limit: number;
  offset: number;
}

export interface Hit {
  id: string;
  doc: Record<string, unknown>;
  /** Keyword: the backend's relevance (higher is better); semantic: cosine similarity. */
  score: number;
}

export interface FacetResult {
  distribution: Record<string, Record<string, number>>;
  stats: Record<string, { min: number; max: number }>;
}

export type TaskStatus = "enqueued" | "processing" | "succeeded" | "failed";

export interface TaskRow {
  uid: number;
  index: string;
  type: string;
  status: TaskStatus;
  /**
   * What the task carries (documents, ids, settings), dropped once it ran. Only `nextTask` reads it (a batch of
   * documents is megabytes of JSON): every other call answers null here.
   */
  payload: unknown;
  details: Record<string, unknown>;
  error: string | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A task row's columns without its payload (see `TaskRow.payload`), for the backends' SQL. */
export const TASK_COLUMNS =
  "uid, idx, type, status, NULL AS payload, details, error, enqueued_at, started_at, finished_at";

export interface SearchStore extends IndexTerms {
  readonly kind: "sqlite" | "postgres";
  /** What vector search runs on (`hnsw` usearch, `pgvector`, `exact` scan). */
  readonly vectorEngine: string;

  listIndexes(): Promise<IndexInfo[]>;
  getIndex(name: string): Promise<IndexInfo | null>;
  createIndex(name: string, settings: IndexSettings): Promise<void>;
  /** New settings; `docs` re-prepared for them when the layout changed (the store then rebuilds from them). */
  updateSettings(name: string, settings: IndexSettings, reindex: PreparedDoc[] | null): Promise<void>;
  deleteIndex(name: string): Promise<void>;

  /** Adds or replaces documents by id, in one transaction. */
  upsert(name: string, docs: PreparedDoc[]): Promise<void>;
  /** Deletes by id; returns how many existed. */
  delete(name: string, ids: string[]): Promise<number>;
  get(name: string, ids: string[]): Promise<Map<string, Record<string, unknown>>>;
  /** Every document (for re-indexing), in id order, `limit` at a time after `afterId`. */
  scan(name: string, afterId: string | null, limit: number): Promise<Record<string, unknown>[]>;
  count(name: string): Promise<number>;
  /** Vectors stored, and whether a document id has one (for re-embedding). */
  vectorCount(name: string): Promise<number>;

  keyword(name: string, q: KeywordQuery): Promise<{ hits: Hit[]; total: number }>;
  facets(
    name: string,
    plan: Plan | null,
    filter: Filter | null,
    fields: string[],
    maxValues: number,
  ): Promise<FacetResult>;
  /** Nearest documents by cosine to a unit vector, among those passing `filter`. */
  vectors(name: string, vector: Float32Array, k: number, filter: Filter | null): Promise<Hit[]>;

  enqueueTask(index: string, type: string, payload: unknown, details: Record<string, unknown>): Promise<TaskRow>;
  getTask(uid: number): Promise<TaskRow | null>;
  listTasks(opts: { index?: string; status?: TaskStatus; limit: number; from?: number }): Promise<TaskRow[]>;
  /** The oldest enqueued or processing task (processing ones were cut by a restart and run again), with its payload. */
  nextTask(): Promise<TaskRow | null>;
  finishTask(
    uid: number,
    status: "processing" | "succeeded" | "failed",
    details: Record<string, unknown>,
    error?: string,
  ): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /** Bytes on disk (all indexes, or one). */
  sizeBytes(name?: string): Promise<number>;
  close(): Promise<void>;
}

/** Vocabulary lookups per index (typo candidates, completions). */
export interface IndexTerms {
  terms(
    name: string,
  ): TermLookup & { complete(prefix: string, limit: number): Promise<{ term: string; docs: number }[]> };
}
