import pg from "pg";
import type { PreparedDoc } from "../../documents.js";
import { SearchError, SearchErrorCode } from "../../errors.js";
import { compileFilter, type Filter } from "../../query/filter.js";
import { tierExprs, tsqueryExpr } from "../../query/match.js";
import type { Plan } from "../../query/plan.js";
import { attributeWeights, type IndexSettings } from "../../settings.js";
import {
  type FacetResult,
  type Hit,
  type IndexInfo,
  type KeywordQuery,
  type SearchStore,
  type SortKey,
  TASK_COLUMNS,
  type TaskRow,
  type TaskStatus,
} from "../../store.js";
import { typoDistance } from "../../text/typo.js";

/**
 * The scale-out backend: PostgreSQL (15, Debian's) in a schema of its own. Documents carry a `tsvector` of their
 * searchable attributes (weights A–D by attribute order, `simple` configuration over text the engine normalised)
 * with a GIN index, ranked by `ts_rank` with the attributes' weights and length normalisation (PostgreSQL has no
 * BM25: same matches and tiers as the embedded store, different scores); the vocabulary in a `words` table with a
 * `pg_trgm` GIN index finds typo candidates (checked exactly by the engine's distance); facets in rows as in
 * SQLite. Vectors use pgvector (HNSW, cosine) when the server has the extension (detected at start); otherwise an
 * exact scan inside the server (`real[]`, a dot product per row): fine for ~10^4 vectors per index, linear beyond.
 */
type Row = Record<string, unknown>;

export interface PostgresOptions {
  url: string;
  /** Schema holding the tables (created if missing). */
  schema?: string;
  /** Pool size (default 4). */
  poolSize?: number;
}

const LABELS = ["A", "B", "C", "D"] as const;
/** How long a typo lookup is reused (see `recentFuzzy`). */
const FUZZY_TTL_MS = 60_000;
/** Documents written between two ANALYZEs of the tables (see `analyzeAfter`). */
const ANALYZE_AFTER_ROWS = 1000;

export class PostgresStore implements SearchStore {
  readonly kind = "postgres" as const;
  vectorEngine = "exact scan";
  private readonly pool: pg.Pool;
  private readonly s: string;
  private pgvector = false;
  private readonly settingsCache = new Map<string, IndexSettings>();
  private writtenSinceAnalyze = 0;
  /**
   * Recent typo lookups (a trigram scan of the vocabulary is the slowest part of a query here). Other processes may
   * add words meanwhile, so an answer is kept for FUZZY_TTL_MS, and dropped at once when this store writes.
   */
  private readonly recentFuzzy = new Map<string, { at: number; found: { term: string; typos: number }[] }>();

  private constructor(opts: PostgresOptions) {
    this.s = opts.schema ?? "azora_search";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.s)) throw new Error(`postgres schema "${this.s}": lower-case identifier`);
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 4,
      // Typo candidates come from trigram similarity above 0.1 (every 1- and 2-typo variant of a word long enough
      // to be allowed them stays above it); the engine's exact distance decides.
      options: "-c pg_trgm.similarity_threshold=0.1",
    });
    this.pool.on("error", () => {}); // an idle client's broken connection: the next query reconnects
  }

  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const st = new PostgresStore(opts);
    try {
      await st.migrate();
    } catch (e) {
      await st.pool.end();
      throw new SearchError({
        code: SearchErrorCode.BACKEND_UNAVAILABLE,
        reason: `postgres: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
    return st;
  }

  private t(name: string): string {
    return `${this.s}.${name}`;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query("SELECT pg_advisory_lock(hashtext($1))", [this.s]);
      await c.query("CREATE EXTENSION IF NOT EXISTS pg_trgm");
      const v = await c.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'");
      if (v.rowCount !== null && v.rowCount > 0) {
        await c.query("CREATE EXTENSION IF NOT EXISTS vector");
      }
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.t("meta")} (key text PRIMARY KEY, value text NOT NULL)`);
      const kind = await c.query(`SELECT value FROM ${this.t("meta")} WHERE key = 'vectors'`);
      const useVector =
        kind.rows.length > 0 ? kind.rows[0].value === "pgvector" : v.rowCount !== null && v.rowCount > 0;
      this.pgvector = useVector;
      this.vectorEngine = useVector ? "pgvector (hnsw, cosine)" : "exact scan (no pgvector on the server)";
      await c.query(`
        INSERT INTO ${this.t("meta")} (key, value) VALUES ('vectors', '${useVector ? "pgvector" : "real[]"}')
          ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS ${this.t("indexes")} (name text PRIMARY KEY, settings jsonb NOT NULL,
          created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.t("docs")} (rowid bigserial PRIMARY KEY, idx text NOT NULL, id text NOT NULL,
          doc jsonb NOT NULL, tsv tsvector NOT NULL, vec ${useVector ? "vector" : "real[]"}, UNIQUE (idx, id));
        CREATE INDEX IF NOT EXISTS docs_tsv ON ${this.t("docs")} USING gin (tsv);
        CREATE TABLE IF NOT EXISTS ${this.t("facets")} (doc bigint NOT NULL, field text NOT NULL, key text NOT NULL,
          value text NOT NULL, num double precision);
        CREATE INDEX IF NOT EXISTS facets_key ON ${this.t("facets")} (field, key, doc);
        CREATE INDEX IF NOT EXISTS facets_num ON ${this.t("facets")} (field, num, doc);
        CREATE INDEX IF NOT EXISTS facets_doc ON ${this.t("facets")} (doc, field);
        CREATE TABLE IF NOT EXISTS ${this.t("words")} (idx text NOT NULL, word text COLLATE "C" NOT NULL,
          ndoc integer NOT NULL, PRIMARY KEY (idx, word));
        CREATE INDEX IF NOT EXISTS words_trgm ON ${this.t("words")} USING gin (word gin_trgm_ops);
        CREATE TABLE IF NOT EXISTS ${this.t("tasks")} (uid bigserial PRIMARY KEY, idx text NOT NULL, type text NOT NULL,
          status text NOT NULL, payload jsonb, details jsonb NOT NULL, error text, enqueued_at timestamptz NOT NULL,
          started_at timestamptz, finished_at timestamptz);
        CREATE INDEX IF NOT EXISTS tasks_status ON ${this.t("tasks")} (status, uid);
      `);
    } finally {
      await c.query("SELECT pg_advisory_unlock(hashtext($1))", [this.s]).catch(() => {});
      c.release();
    }
  }

  private async q(sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(sql, params)).rows;
    } catch (e) {
      throw pgError(e);
    }
  }

  private info(r: Row): IndexInfo {
    return {
      name: r.name as string,
      settings: r.settings as IndexSettings,
      createdAt: new Date(r.created_at as string).toISOString(),
      updatedAt: new Date(r.updated_at as string).toISOString(),
    };
  }

  /**
   * An index's settings, remembered after the first read (every query needs them; a round trip each was a tenth of
   * a small query). Forgotten when this store changes or deletes the index; the engine above caches them the same
   * way, so one search process per index is the deployment this assumes.
   */
  private async settingsOf(name: string): Promise<IndexSettings> {
    const known = this.settingsCache.get(name);
    if (known !== undefined) return known;
    const i = await this.getIndex(name);
    if (i === null) throw new SearchError({ code: SearchErrorCode.INDEX_NOT_FOUND, index: name });
    this.settingsCache.set(name, i.settings);
    return i.settings;
  }

  async listIndexes(): Promise<IndexInfo[]> {
    return (await this.q(`SELECT * FROM ${this.t("indexes")} ORDER BY name`)).map((r) => this.info(r));
  }

  async getIndex(name: string): Promise<IndexInfo | null> {
    const r = await this.q(`SELECT * FROM ${this.t("indexes")} WHERE name = $1`, [name]);
    return r.length === 0 ? null : this.info(r[0]);
  }

  async createIndex(name: string, settings: IndexSettings): Promise<void> {
    const r = await this.q(
      `INSERT INTO ${this.t("indexes")} (name, settings, created_at, updated_at) VALUES ($1, $2, now(), now())
       ON CONFLICT DO NOTHING RETURNING name`,
      [name, JSON.stringify(settings)],
    );
    if (r.length === 0) throw new SearchError({ code: SearchErrorCode.INDEX_EXISTS, index: name });
  }

  private async clear(c: pg.PoolClient, name: string): Promise<void> {
    await c.query(`DELETE FROM ${this.t("facets")} WHERE doc IN (SELECT rowid FROM ${this.t("docs")} WHERE idx = $1)`, [
      name,
    ]);
    await c.query(`DELETE FROM ${this.t("docs")} WHERE idx = $1`, [name]);
    await c.query(`DELETE FROM ${this.t("words")} WHERE idx = $1`, [name]);
  }

  private async tx<T>(f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const out = await f(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw pgError(e);
    } finally {
      c.release();
    }
  }

  async updateSettings(name: string, settings: IndexSettings, reindex: PreparedDoc[] | null): Promise<void> {
    await this.settingsOf(name);
    this.settingsCache.delete(name);
    await this.tx(async (c) => {
      await c.query(`UPDATE ${this.t("indexes")} SET settings = $2, updated_at = now() WHERE name = $1`, [
        name,
        JSON.stringify(settings),
      ]);
      if (reindex !== null) {
        await this.clear(c, name);
        await this.write(c, name, settings, reindex);
      }
    });
    this.settingsCache.delete(name); // a query during the transaction may have cached the old ones
  }

  async deleteIndex(name: string): Promise<void> {
    await this.settingsOf(name);
    this.settingsCache.delete(name);
    await this.tx(async (c) => {
      await this.clear(c, name);
      await c.query(`DELETE FROM ${this.t("indexes")} WHERE name = $1`, [name]);
    });
    this.settingsCache.delete(name);
  }

  /** The tsvector expression of a document's texts (columns t1 … tn), weighted A–D by attribute order. */
  private tsvSQL(n: number): string {
    return Array.from(
      { length: n },
      (_, i) => `setweight(to_tsvector('simple', t${i + 1}), '${LABELS[Math.min(i, 3)]}')`,
    ).join(" || ");
  }

  /**
   * Writes a batch in a handful of statements whatever its size (arrays unnested server-side): the old versions'
   * words read at once, the documents upserted at once, their facet rows replaced at once, the vocabulary
   * adjusted once. Ids are unique within a batch (the engine keeps the last version of each).
   */
  private async write(c: pg.PoolClient, name: string, s: IndexSettings, docs: PreparedDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const n = s.searchableAttributes.length;
    const delta = new Map<string, number>();
    const ids = docs.map((d) => d.id);
    const old = await c.query(
      `SELECT rowid, tsvector_to_array(tsv) AS words FROM ${this.t("docs")} WHERE idx = $1 AND id = ANY($2::text[])`,
      [name, ids],
    );
    for (const r of old.rows) for (const w of r.words as string[]) delta.set(w, (delta.get(w) ?? 0) - 1);
    for (const d of docs) {
      const seen = new Set<string>();
      for (const t of d.texts) for (const w of t.split(" ")) if (w !== "" && !seen.has(w)) seen.add(w);
      for (const w of seen) delta.set(w, (delta.get(w) ?? 0) + 1);
    }
    const vecs = docs.map((d) =>
      d.vector === null ? null : this.pgvector ? `[${d.vector.join(",")}]` : `{${d.vector.join(",")}}`,
    );
    const cols = Array.from({ length: n }, (_, i) => `t${i + 1}`);
    const r = await c.query(
      `INSERT INTO ${this.t("docs")} (idx, id, doc, tsv, vec)
       SELECT $1, id, doc::jsonb, ${this.tsvSQL(n)}, v::${this.pgvector ? "vector" : "real[]"}
       FROM unnest($2::text[], $3::text[], $4::text[]${cols.map((_, i) => `, $${i + 5}::text[]`).join("")})
         AS t(id, doc, v${cols.map((x) => `, ${x}`).join("")})
       ON CONFLICT (idx, id) DO UPDATE SET doc = excluded.doc, tsv = excluded.tsv, vec = excluded.vec
       RETURNING id, rowid`,
      [name, ids, docs.map((d) => JSON.stringify(d.doc)), vecs, ...cols.map((_, i) => docs.map((d) => d.texts[i]))],
    );
    const rowids = new Map(r.rows.map((x) => [x.id as string, x.rowid as string]));
    if (old.rows.length > 0) {
      await c.query(`DELETE FROM ${this.t("facets")} WHERE doc = ANY($1::bigint[])`, [old.rows.map((x) => x.rowid)]);
    }
    const facets = docs.flatMap((d) => d.facets.map((f) => ({ doc: rowids.get(d.id)!, ...f })));
    if (facets.length > 0) {
      await c.query(
        `INSERT INTO ${this.t("facets")} (doc, field, key, value, num)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[])`,
        [
          facets.map((f) => f.doc),
          facets.map((f) => f.field),
          facets.map((f) => f.key),
          facets.map((f) => f.value),
          facets.map((f) => f.num),
        ],
      );
    }
    await this.applyWordDelta(c, name, delta);
  }

  private async applyWordDelta(c: pg.PoolClient, name: string, delta: Map<string, number>): Promise<void> {
    const entries = [...delta].filter(([, d]) => d !== 0);
    if (entries.length === 0) return;
    this.recentFuzzy.clear();
    await c.query(
      `INSERT INTO ${this.t("words")} (idx, word, ndoc) SELECT $1, w, d FROM unnest($2::text[], $3::int[]) AS t(w, d)
       ON CONFLICT (idx, word) DO UPDATE SET ndoc = ${this.t("words")}.ndoc + excluded.ndoc`,
      [name, entries.map((e) => e[0]), entries.map((e) => e[1])],
    );
    await c.query(`DELETE FROM ${this.t("words")} WHERE idx = $1 AND word = ANY($2::text[]) AND ndoc <= 0`, [
      name,
      entries.map((e) => e[0]),
    ]);
  }

  async upsert(name: string, docs: PreparedDoc[]): Promise<void> {
    const s = await this.settingsOf(name);
    await this.tx((c) => this.write(c, name, s, docs));
    await this.analyzeAfter(docs.length);
  }

  /**
   * Statistics and merged GIN indexes after large writes: without statistics the planner takes a fresh table for
   * a few rows and answers a full-text query with a scan of every document; unmerged, the GIN pending list is read
   * whole by every search (autovacuum does both, but a minute or more later). Small writes (the chain indexer's
   * blocks) are left to autovacuum.
   */
  private async analyzeAfter(written: number): Promise<void> {
    this.writtenSinceAnalyze += written;
    if (this.writtenSinceAnalyze < ANALYZE_AFTER_ROWS) return;
    this.writtenSinceAnalyze = 0;
    // New GIN entries wait in a pending list every search reads linearly until it is merged (by vacuum, or here).
    await this.q(
      `SELECT gin_clean_pending_list('${this.t("docs_tsv")}'::regclass), gin_clean_pending_list('${this.t("words_trgm")}'::regclass)`,
    );
    await this.q(`ANALYZE ${this.t("docs")}, ${this.t("facets")}, ${this.t("words")}`);
  }

  async delete(name: string, ids: string[]): Promise<number> {
    await this.settingsOf(name);
    return this.tx(async (c) => {
      const r = await c.query(
        `DELETE FROM ${this.t("docs")} WHERE idx = $1 AND id = ANY($2::text[]) RETURNING rowid, tsvector_to_array(tsv) AS words`,
        [name, ids],
      );
      const delta = new Map<string, number>();
      for (const row of r.rows) for (const w of row.words as string[]) delta.set(w, (delta.get(w) ?? 0) - 1);
      await c.query(`DELETE FROM ${this.t("facets")} WHERE doc = ANY($1::bigint[])`, [r.rows.map((x) => x.rowid)]);
      await this.applyWordDelta(c, name, delta);
      return r.rowCount ?? 0;
    });
  }

  async get(name: string, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
    await this.settingsOf(name);
    const rows = await this.q(`SELECT id, doc FROM ${this.t("docs")} WHERE idx = $1 AND id = ANY($2::text[])`, [
      name,
      ids,
    ]);
    return new Map(rows.map((r) => [r.id as string, r.doc as Record<string, unknown>]));
  }

  async scan(name: string, afterId: string | null, limit: number): Promise<Record<string, unknown>[]> {
    const rows = await this.q(
      `SELECT doc FROM ${this.t("docs")} WHERE idx = $1 AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`,
      [name, afterId ?? "", limit],
    );
    return rows.map((r) => r.doc as Record<string, unknown>);
  }

  async count(name: string): Promise<number> {
    await this.settingsOf(name);
    return Number((await this.q(`SELECT count(*) AS n FROM ${this.t("docs")} WHERE idx = $1`, [name]))[0].n);
  }

  async vectorCount(name: string): Promise<number> {
    return Number(
      (await this.q(`SELECT count(*) AS n FROM ${this.t("docs")} WHERE idx = $1 AND vec IS NOT NULL`, [name]))[0].n,
    );
  }

  private weightsArray(s: IndexSettings): string {
    const w = attributeWeights(s);
    const max = Math.max(...w);
    // ts_rank's weights are {D, C, B, A}; attributes past the fourth share D (their highest weight).
    const label = [0, 0, 0, 0];
    w.forEach((x, i) => {
      const l = Math.min(i, 3);
      label[l] = Math.max(label[l], x / max);
    });
    return `{${[label[3] || 0.1, label[2] || 0.1, label[1] || 0.1, label[0]].join(",")}}`;
  }

  private orderBy(sort: SortKey[], doc: string, ph: (v: unknown) => string): string[] {
    return sort.flatMap((s) => {
      const dir = s.dir === "asc" ? "ASC" : "DESC";
      const pick = s.dir === "asc" ? "min" : "max";
      const f = this.t("facets");
      return [
        `(SELECT ${pick}(num) FROM ${f} WHERE doc = ${doc} AND field = ${ph(s.field)}) ${dir} NULLS LAST`,
        `(SELECT ${pick}(key) FROM ${f} WHERE doc = ${doc} AND field = ${ph(s.field)}) ${dir} NULLS LAST`,
      ];
    });
  }

  private matchSQL(name: string, s: IndexSettings, plan: Plan, tiers: boolean, ph: (v: unknown) => string): string {
    const docs = this.t("docs");
    const idx = ph(name);
    if (!tiers) {
      const top = tierExprs(plan, tsqueryExpr, (a) => a).at(-1)!;
      return `SELECT rowid AS doc, 0::real AS score, 0 AS tier FROM ${docs} WHERE idx = ${idx} AND tsv @@ to_tsquery('simple', ${ph(top)})`;
    }
    const w = ph(this.weightsArray(s));
    const exprs = tierExprs(plan, tsqueryExpr, (a) => a);
    return exprs
      .map((e, t) => {
        const not = t === 0 ? "" : `AND NOT tsv @@ to_tsquery('simple', ${ph(exprs[t - 1])})`;
        return `SELECT rowid AS doc, ts_rank(${w}::float4[], tsv, q, 1) AS score, ${t} AS tier
                FROM ${docs}, to_tsquery('simple', ${ph(e)}) q WHERE idx = ${idx} AND tsv @@ q ${not}`;
      })
      .join(" UNION ALL ");
  }

  private phs(params: unknown[]) {
    return (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
  }

  async keyword(name: string, kq: KeywordQuery): Promise<{ hits: Hit[]; total: number }> {
    const s = await this.settingsOf(name);
    const docs = this.t("docs");
    const facets = this.t("facets");
    const params: unknown[] = [];
    const cparams: unknown[] = [];
    const ph = this.phs(params);
    const cph = this.phs(cparams);
    if (kq.plan === null) {
      const where = kq.filter === null ? "" : `AND ${compileFilter(kq.filter, "d.rowid", facets, ph)}`;
      const order = [...this.orderBy(kq.sort, "d.rowid", ph), "d.rowid ASC"].join(", ");
      const rows = await this.q(
        `SELECT d.id, d.doc FROM ${docs} d WHERE d.idx = ${ph(name)} ${where} ORDER BY ${order}
         LIMIT ${ph(kq.limit)} OFFSET ${ph(kq.offset)}`,
        params,
      );
      const cw = kq.filter === null ? "" : `AND ${compileFilter(kq.filter, "d.rowid", facets, cph)}`;
      const total = await this.q(`SELECT count(*) AS n FROM ${docs} d WHERE d.idx = ${cph(name)} ${cw}`, cparams);
      return {
        hits: rows.map((r) => ({ id: r.id as string, doc: r.doc as Record<string, unknown>, score: 0 })),
        total: Number(total[0].n),
      };
    }
    if (kq.sort.length === 0) return this.ranked(name, s, kq.plan, kq.filter, kq.limit, kq.offset);
    const m = this.matchSQL(name, s, kq.plan, true, ph);
    const where = kq.filter === null ? "" : `WHERE ${compileFilter(kq.filter, "m.doc", facets, ph)}`;
    const order = [...this.orderBy(kq.sort, "m.doc", ph), "m.tier ASC", "m.score DESC", "m.doc ASC"].join(", ");
    const rows = await this.q(
      `WITH m AS (${m}) SELECT d.id, d.doc, m.score FROM m JOIN ${docs} d ON d.rowid = m.doc ${where}
       ORDER BY ${order} LIMIT ${ph(kq.limit)} OFFSET ${ph(kq.offset)}`,
      params,
    );
    const c = this.matchSQL(name, s, kq.plan, false, cph);
    const cw = kq.filter === null ? "" : `WHERE ${compileFilter(kq.filter, "m.doc", facets, cph)}`;
    const total = await this.q(`WITH m AS (${c}) SELECT count(*) AS n FROM m ${cw}`, cparams);
    return {
      hits: rows.map((r) => ({ id: r.id as string, doc: r.doc as Record<string, unknown>, score: Number(r.score) })),
      total: Number(total[0].n),
    };
  }

  /**
   * Ranked keyword search without a sort, as the embedded store does it: tier by tier, each tier's best by
   * `ts_rank` with a LIMIT, later tiers only while the page is not full, documents read for the page's rowids only,
   * the total one count over every tier (skipped when the tiers were read to their end).
   */
  private async ranked(
    name: string,
    s: IndexSettings,
    plan: Plan,
    filter: Filter | null,
    limit: number,
    offset: number,
  ): Promise<{ hits: Hit[]; total: number }> {
    const exprs = tierExprs(plan, tsqueryExpr, (a) => a);
    const weights = this.weightsArray(s);
    /** The rows of tier `t` (all tiers: `t` null), as FROM … WHERE with its parameters. */
    const tier = (t: number | null, params: unknown[]) => {
      const ph = this.phs(params);
      const expr = ph(t === null ? exprs.at(-1)! : exprs[t]);
      const not = t === null || t === 0 ? "" : ` AND NOT d.tsv @@ to_tsquery('simple', ${ph(exprs[t - 1])})`;
      const fw = filter === null ? "" : ` AND ${compileFilter(filter, "d.rowid", this.t("facets"), ph)}`;
      return `FROM ${this.t("docs")} d, to_tsquery('simple', ${expr}) q WHERE d.idx = ${ph(name)} AND d.tsv @@ q${not}${fw}`;
    };
    const count = async (t: number | null) => {
      const params: unknown[] = [];
      return Number((await this.q(`SELECT count(*) AS n ${tier(t, params)}`, params))[0].n);
    };
    const got: { rowid: string; score: number }[] = [];
    let skip = offset;
    let exhausted = true;
    for (let t = 0; t < exprs.length; t++) {
      const want = limit - got.length;
      if (want <= 0) {
        exhausted = false;
        break;
      }
      if (skip > 0) {
        const n = await count(t);
        if (skip >= n) {
          skip -= n;
          continue;
        }
      }
      const params: unknown[] = [];
      const from = tier(t, params);
      const ph = this.phs(params);
      const rows = await this.q(
        `SELECT d.rowid, ts_rank(${ph(weights)}::float4[], d.tsv, q, 1) AS score ${from}
         ORDER BY score DESC, d.rowid LIMIT ${ph(want)} OFFSET ${ph(skip)}`,
        params,
      );
      skip = 0;
      for (const r of rows) got.push({ rowid: r.rowid as string, score: Number(r.score) });
      if (rows.length === want) exhausted = false;
    }
    const total = exhausted && offset === 0 ? got.length : await count(null);
    if (got.length === 0) return { hits: [], total };
    const docs = await this.q(`SELECT rowid, id, doc FROM ${this.t("docs")} WHERE rowid = ANY($1::bigint[])`, [
      got.map((g) => g.rowid),
    ]);
    const byRowid = new Map(docs.map((d) => [String(d.rowid), d]));
    const hits: Hit[] = [];
    for (const g of got) {
      const d = byRowid.get(String(g.rowid));
      if (d !== undefined) hits.push({ id: d.id as string, doc: d.doc as Record<string, unknown>, score: g.score });
    }
    return { hits, total };
  }

  async facets(
    name: string,
    plan: Plan | null,
    filter: Filter | null,
    fields: string[],
    maxValues: number,
  ): Promise<FacetResult> {
    const s = await this.settingsOf(name);
    const out: FacetResult = { distribution: {}, stats: {} };
    for (const field of fields) {
      const params: unknown[] = [];
      const ph = this.phs(params);
      const base =
        plan === null
          ? `SELECT rowid AS doc FROM ${this.t("docs")} WHERE idx = ${ph(name)}`
          : `SELECT doc FROM (${this.matchSQL(name, s, plan, false, ph)}) x`;
      const where = filter === null ? "" : `AND ${compileFilter(filter, "b.doc", this.t("facets"), ph)}`;
      const rows = await this.q(
        // The numeric range over every value (a window over the groups, before the LIMIT).
        `WITH b AS (${base}) SELECT min(f.value) AS value, count(DISTINCT f.doc) AS n,
           min(min(f.num)) OVER () AS lo, max(max(f.num)) OVER () AS hi
         FROM b JOIN ${this.t("facets")} f ON f.doc = b.doc WHERE f.field = ${ph(field)} ${where}
         GROUP BY f.key ORDER BY n DESC, min(f.value) COLLATE "C" LIMIT ${ph(maxValues)}`,
        params,
      );
      out.distribution[field] = Object.fromEntries(rows.map((r) => [r.value as string, Number(r.n)]));
      if (rows.length > 0 && rows[0].lo !== null) {
        out.stats[field] = { min: Number(rows[0].lo), max: Number(rows[0].hi) };
      }
    }
    return out;
  }

  async vectors(name: string, vector: Float32Array, k: number, filter: Filter | null): Promise<Hit[]> {
    const s = await this.settingsOf(name);
    if (s.embedder === null) return [];
    const params: unknown[] = [];
    const ph = this.phs(params);
    const where = filter === null ? "" : `AND ${compileFilter(filter, "d.rowid", this.t("facets"), ph)}`;
    const v = Array.from(vector);
    const score = this.pgvector
      ? `1 - (d.vec <=> ${ph(`[${v.join(",")}]`)}::vector)`
      : `(SELECT sum(a * b) FROM unnest(d.vec, ${ph(v)}::real[]) AS t(a, b))`;
    const rows = await this.q(
      `SELECT d.id, d.doc, ${score} AS score FROM ${this.t("docs")} d
       WHERE d.idx = ${ph(name)} AND d.vec IS NOT NULL ${where} ORDER BY score DESC LIMIT ${ph(k)}`,
      params,
    );
    return rows.map((r) => ({ id: r.id as string, doc: r.doc as Record<string, unknown>, score: Number(r.score) }));
  }

  terms(name: string) {
    return {
      fuzzy: async (word: string, max: number) => {
        const key = `${max}:${name}:${word}`;
        const known = this.recentFuzzy.get(key);
        if (known !== undefined && Date.now() - known.at < FUZZY_TTL_MS) return known.found.slice();
        const found = await this.fuzzy(name, word, max);
        if (this.recentFuzzy.size >= 4096) this.recentFuzzy.clear();
        this.recentFuzzy.set(key, { at: Date.now(), found });
        return found.slice();
      },
      complete: async (prefix: string, limit: number) => {
        const rows = await this.q(
          `SELECT word, ndoc FROM ${this.t("words")} WHERE idx = $1 AND word >= $2 AND word < $3
           ORDER BY ndoc DESC, word LIMIT $4`,
          [name, prefix, `${prefix}\u{10ffff}`, limit],
        );
        return rows.map((r) => ({ term: r.word as string, docs: Number(r.ndoc) }));
      },
    };
  }

  /** Typo candidates by trigram similarity (pg_trgm), checked exactly by the engine's distance. */
  private async fuzzy(name: string, word: string, max: number): Promise<{ term: string; typos: number }[]> {
    const n = [...word].length;
    const rows = await this.q(
      `SELECT word FROM ${this.t("words")} WHERE idx = $1 AND word % $2 AND length(word) BETWEEN $3 AND $4 LIMIT 2000`,
      [name, word, n - max, n + max],
    );
    return rows
      .map((r) => ({ term: r.word as string, typos: typoDistance(word, r.word as string, max) }))
      .filter((x) => x.typos <= max)
      .sort((a, b) => a.typos - b.typos || (a.term < b.term ? -1 : 1))
      .slice(0, 64);
  }

  private task(r: Row): TaskRow {
    const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
    return {
      uid: Number(r.uid),
      index: r.idx as string,
      type: r.type as string,
      status: r.status as TaskStatus,
      payload: r.payload ?? null,
      details: r.details as Record<string, unknown>,
      error: (r.error as string | null) ?? null,
      enqueuedAt: iso(r.enqueued_at)!,
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
    };
  }

  async enqueueTask(index: string, type: string, payload: unknown, details: Record<string, unknown>): Promise<TaskRow> {
    const r = await this.q(
      `INSERT INTO ${this.t("tasks")} (idx, type, status, payload, details, enqueued_at)
       VALUES ($1, $2, 'enqueued', $3, $4, now()) RETURNING ${TASK_COLUMNS}`,
      [index, type, JSON.stringify(payload), JSON.stringify(details)],
    );
    return this.task(r[0]);
  }

  async getTask(uid: number): Promise<TaskRow | null> {
    const r = await this.q(`SELECT ${TASK_COLUMNS} FROM ${this.t("tasks")} WHERE uid = $1`, [uid]);
    return r.length === 0 ? null : this.task(r[0]);
  }

  async listTasks(opts: { index?: string; status?: TaskStatus; limit: number; from?: number }): Promise<TaskRow[]> {
    const r = await this.q(
      `SELECT ${TASK_COLUMNS} FROM ${this.t("tasks")} WHERE ($1::text IS NULL OR idx = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::bigint IS NULL OR uid <= $3) ORDER BY uid DESC LIMIT $4`,
      [opts.index ?? null, opts.status ?? null, opts.from ?? null, opts.limit],
    );
    return r.map((x) => this.task(x));
  }

  async nextTask(): Promise<TaskRow | null> {
    const r = await this.q(
      `SELECT * FROM ${this.t("tasks")} WHERE status IN ('enqueued', 'processing') ORDER BY uid LIMIT 1`,
    );
    return r.length === 0 ? null : this.task(r[0]);
  }

  async finishTask(
    uid: number,
    status: "processing" | "succeeded" | "failed",
    details: Record<string, unknown>,
    error?: string,
  ): Promise<void> {
    if (status === "processing") {
      await this.q(
        `UPDATE ${this.t("tasks")} SET status = 'processing', started_at = coalesce(started_at, now()) WHERE uid = $1`,
        [uid],
      );
      return;
    }
    await this.q(
      `UPDATE ${this.t("tasks")} SET status = $2, details = $3, error = $4, payload = NULL, finished_at = now()
       WHERE uid = $1`,
      [uid, status, JSON.stringify(details), error ?? null],
    );
  }

  async getMeta(key: string): Promise<string | null> {
    const r = await this.q(`SELECT value FROM ${this.t("meta")} WHERE key = $1`, [`app.${key}`]);
    return r.length === 0 ? null : (r[0].value as string);
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.q(
      `INSERT INTO ${this.t("meta")} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [`app.${key}`, value],
    );
  }

  async sizeBytes(name?: string): Promise<number> {
    // Tables are shared by the schema's indexes; one index's share is estimated by its share of documents.
    const total = await this.q(
      `SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE s.nspname = $1 AND c.relkind = 'r'`,
      [this.s],
    );
    const bytes = Number(total[0].n ?? 0);
    if (name === undefined) return bytes;
    const share = await this.q(
      `SELECT (SELECT count(*) FROM ${this.t("docs")} WHERE idx = $1)::float8 / greatest(1, (SELECT count(*) FROM ${this.t("docs")})) AS f`,
      [name],
    );
    return Math.round(bytes * Number(share[0].f));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Errors the query can cause (a tsquery the parser refuses) are 400s; the rest is the backend's. */
function pgError(e: unknown): unknown {
  if (e instanceof SearchError) return e;
  const code = (e as { code?: string }).code;
  if (code === "42601" || code === "22023" || code === "42883") {
    return new SearchError({ code: SearchErrorCode.BAD_REQUEST, reason: `query: ${(e as Error).message}` });
  }
  if (code === "ECONNREFUSED" || code === "57P01" || code === "08006" || code === "08001") {
    return new SearchError({ code: SearchErrorCode.BACKEND_UNAVAILABLE, reason: (e as Error).message });
  }
  return e;
}
