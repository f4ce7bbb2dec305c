import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FacetRow, PreparedDoc } from "../../documents.js";
import { SearchError, SearchErrorCode } from "../../errors.js";
import { compileFilter, type Filter } from "../../query/filter.js";
import { fts5Expr, tierExprs } from "../../query/match.js";
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
import { TermTrie } from "../../text/typo.js";
import { FacetColumns, MAX_ROWS as MAX_FACET_ROWS } from "./facetColumns.js";
import { HNSW } from "./hnsw.js";

/**
 * The embedded backend: one SQLite database per index (documents, an FTS5 full-text index ranked by BM25 with
 * per-attribute weights, facet rows, vectors) plus a catalog database (indexes, tasks, meta), and an HNSW graph
 * (usearch) per index for vectors. Text arrives normalised (text/normalize.ts), so FTS5's `unicode61` tokenizer
 * splits it exactly as the engine does. Facet rows are clustered by document (filters and facet counts start from
 * the matching documents: one B-tree descent each) with one index by (field, key) for counts over everything. Files: `<dataDir>/catalog.sqlite`, `<dataDir>/indexes/<name>.sqlite`,
 * `<dataDir>/indexes/<name>.hnsw`.
 */
type Row = Record<string, unknown>;

export interface SQLiteOptions {
  /** Facet rows per field counted in memory at most (default facetColumns.ts MAX_ROWS; beyond, in SQL). */
  facetRowsInMemory?: number;
}

/** How long a changed HNSW graph may stay unsaved (a crash costs a rebuild from the vectors table, not data). */
const HNSW_SAVE_AFTER_MS = 30_000;

class IndexDB {
  readonly db: Database.Database;
  private trieLoaded: TermTrie | null = null;
  private readonly statements = new Map<string, Database.Statement>();
  /** Facet values in memory for counting (facetColumns.ts), loaded per field on first use. */
  readonly facetColumns = new FacetColumns(
    (field) =>
      this.stmt("SELECT doc, field, key, value, num FROM facets WHERE field = ?").iterate(field) as Iterable<
        FacetRow & { doc: number }
      >,
  );
  private readonly facetFits = new Map<string, boolean>();
  private hnsw: HNSW | null = null;
  readonly weights: number[];

  constructor(
    readonly name: string,
    readonly path: string,
    readonly settings: IndexSettings,
    private readonly facetRowsInMemory: number,
  ) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.weights = attributeWeights(settings);
    const cols = settings.searchableAttributes.map((_, i) => `c${i}`).join(", ");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
      CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(${cols}, content='', contentless_delete=1,
        tokenize='unicode61', prefix='2 3 4');
      CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, 'row');
      CREATE TABLE IF NOT EXISTS facets (doc INTEGER NOT NULL, field TEXT NOT NULL, key TEXT NOT NULL,
        value TEXT NOT NULL, num REAL, PRIMARY KEY (doc, field, key)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS facets_key ON facets (field, key);
      CREATE TABLE IF NOT EXISTS vectors (doc INTEGER PRIMARY KEY, vec BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  /**
   * A prepared statement, kept for the next query of the same shape (parsing and planning an FTS5 query costs more
   * than running a small one). Each SQL text is always used in one mode (raw or pluck), set by its caller.
   */
  stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      if (this.statements.size >= 256) this.statements.clear();
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Whether a field's facet rows are few enough to count in memory (decided once per field and open). */
  facetsInMemory(field: string): boolean {
    let fits = this.facetFits.get(field);
    if (fits === undefined) {
      const n = this.stmt("SELECT count(*) FROM facets WHERE field = ?").pluck().get(field) as number;
      fits = n <= this.facetRowsInMemory;
      this.facetFits.set(field, fits);
    }
    return fits;
  }

  get generation(): number {
    const r = this.stmt("SELECT value FROM meta WHERE key = 'vectorGeneration'").get() as Row | undefined;
    return r === undefined ? 0 : Number(r.value);
  }

  bumpGeneration(): number {
    const g = this.generation + 1;
    this.stmt("INSERT OR REPLACE INTO meta (key, value) VALUES ('vectorGeneration', ?)").run(String(g));
    return g;
  }

  terms(): TermTrie {
    if (this.trieLoaded === null) {
      const t = new TermTrie();
      for (const r of this.db.prepare("SELECT term FROM vocab").iterate() as Iterable<Row>) t.add(r.term as string);
      this.trieLoaded = t;
    }
    return this.trieLoaded;
  }

  noteTerms(texts: string[]): void {
    if (this.trieLoaded === null) return;
    for (const t of texts) for (const w of t.split(" ")) if (w !== "") this.trieLoaded.add(w);
  }

  vectors(): HNSW | null {
    const e = this.settings.embedder;
    if (e === null) return null;
    if (this.hnsw === null) {
      const rows = this.db.prepare("SELECT doc, vec FROM vectors");
      this.hnsw = HNSW.open(e.dimensions, `${this.path.replace(/\.sqlite$/, "")}.hnsw`, this.generation, function* () {
        for (const r of rows.iterate() as Iterable<Row>) yield { key: r.doc as number, vec: blobVec(r.vec as Buffer) };
      });
    }
    return this.hnsw;
  }

  saveVectors(afterMs: number): void {
    this.hnsw?.maybeSave(this.generation, afterMs);
  }

  close(): void {
    this.saveVectors(0);
    this.db.close();
  }
}

const vecBlob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const blobVec = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export class SQLiteStore implements SearchStore {
  readonly kind = "sqlite" as const;
  readonly vectorEngine = "hnsw (usearch 2.25)";
  private readonly catalog: Database.Database;
  private readonly open = new Map<string, IndexDB>();
  private readonly saveTimer: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    private readonly options: SQLiteOptions = {},
  ) {
    mkdirSync(join(dataDir, "indexes"), { recursive: true });
    this.catalog = new Database(join(dataDir, "catalog.sqlite"));
    this.catalog.pragma("journal_mode = WAL");
    this.catalog.pragma("synchronous = FULL");
    this.catalog.exec(`
      CREATE TABLE IF NOT EXISTS indexes (name TEXT PRIMARY KEY, settings TEXT NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS tasks (uid INTEGER PRIMARY KEY AUTOINCREMENT, idx TEXT NOT NULL, type TEXT NOT NULL,
        status TEXT NOT NULL, payload TEXT, details TEXT NOT NULL, error TEXT, enqueued_at TEXT NOT NULL,
        started_at TEXT, finished_at TEXT);
      CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, uid);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.saveTimer = setInterval(() => {
      for (const ix of this.open.values()) ix.saveVectors(HNSW_SAVE_AFTER_MS);
    }, HNSW_SAVE_AFTER_MS);
    this.saveTimer.unref();
  }

  private path(name: string): string {
    return join(this.dataDir, "indexes", `${name}.sqlite`);
  }

  private ix(name: string): IndexDB {
    let ix = this.open.get(name);
    if (ix === undefined) {
      const r = this.catalog.prepare("SELECT settings FROM indexes WHERE name = ?").get(name) as Row | undefined;
      if (r === undefined) throw new SearchError({ code: SearchErrorCode.INDEX_NOT_FOUND, index: name });
      ix = new IndexDB(
        name,
        this.path(name),
        JSON.parse(r.settings as string),
        this.options.facetRowsInMemory ?? MAX_FACET_ROWS,
      );
      this.open.set(name, ix);
    }
    return ix;
  }

  private info(r: Row): IndexInfo {
    return {
      name: r.name as string,
      settings: JSON.parse(r.settings as string),
      createdAt: r.created_at as string,
      updatedAt: r.updated_at as string,
    };
  }

  async listIndexes(): Promise<IndexInfo[]> {
    return (this.catalog.prepare("SELECT * FROM indexes ORDER BY name").all() as Row[]).map((r) => this.info(r));
  }

  async getIndex(name: string): Promise<IndexInfo | null> {
    const r = this.catalog.prepare("SELECT * FROM indexes WHERE name = ?").get(name) as Row | undefined;
    return r === undefined ? null : this.info(r);
  }

  async createIndex(name: string, settings: IndexSettings): Promise<void> {
    const now = new Date().toISOString();
    const r = this.catalog
      .prepare(
        "INSERT INTO indexes (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(name, JSON.stringify(settings), now, now);
    if (r.changes === 0) throw new SearchError({ code: SearchErrorCode.INDEX_EXISTS, index: name });
    this.dropFiles(name);
  }

  private dropFiles(name: string): void {
    this.open.get(name)?.db.close();
    this.open.delete(name);
    const p = this.path(name);
    for (const f of [p, `${p}-wal`, `${p}-shm`]) rmSync(f, { force: true });
    HNSW.remove(p.replace(/\.sqlite$/, ".hnsw"));
  }

  async updateSettings(name: string, settings: IndexSettings, reindex: PreparedDoc[] | null): Promise<void> {
    this.ix(name);
    if (reindex !== null) this.dropFiles(name);
    this.catalog
      .prepare("UPDATE indexes SET settings = ?, updated_at = ? WHERE name = ?")
      .run(JSON.stringify(settings), new Date().toISOString(), name);
    this.open.get(name)?.close();
    this.open.delete(name);
    if (reindex !== null) await this.upsert(name, reindex);
  }

  async deleteIndex(name: string): Promise<void> {
    this.ix(name);
    this.dropFiles(name);
    this.catalog.prepare("DELETE FROM indexes WHERE name = ?").run(name);
  }

  async upsert(name: string, docs: PreparedDoc[]): Promise<void> {
    const ix = this.ix(name);
    const db = ix.db;
    const n = ix.settings.searchableAttributes.length;
    const find = ix.stmt("SELECT rowid FROM docs WHERE id = ?");
    const insDoc = ix.stmt("INSERT INTO docs (id, doc) VALUES (?, ?)");
    const updDoc = ix.stmt("UPDATE docs SET doc = ? WHERE rowid = ?");
    const delFts = ix.stmt("DELETE FROM fts WHERE rowid = ?");
    const insFts = ix.stmt(
      `INSERT INTO fts (rowid, ${Array.from({ length: n }, (_, i) => `c${i}`).join(", ")}) VALUES (?${", ?".repeat(n)})`,
    );
    const delFacets = ix.stmt("DELETE FROM facets WHERE doc = ?");
    const insFacet = ix.stmt("INSERT INTO facets (doc, field, key, value, num) VALUES (?, ?, ?, ?, ?)");
    const putVec = ix.stmt("INSERT OR REPLACE INTO vectors (doc, vec) VALUES (?, ?)");
    const delVec = ix.stmt("DELETE FROM vectors WHERE doc = ?");
    const hnsw = ix.vectors();
    const vecChanges: [number, Float32Array | null][] = [];
    const rowids: number[] = [];
    db.transaction(() => {
      for (const d of docs) {
        const found = find.get(d.id) as Row | undefined;
        let rowid: number;
        if (found === undefined) {
          rowid = Number(insDoc.run(d.id, JSON.stringify(d.doc)).lastInsertRowid);
        } else {
          rowid = found.rowid as number;
          updDoc.run(JSON.stringify(d.doc), rowid);
          delFts.run(rowid);
          delFacets.run(rowid);
        }
        rowids.push(rowid);
        insFts.run(rowid, ...d.texts);
        for (const f of d.facets) insFacet.run(rowid, f.field, f.key, f.value, f.num);
        if (hnsw !== null) {
          if (d.vector !== null) putVec.run(rowid, vecBlob(d.vector));
          else delVec.run(rowid);
          vecChanges.push([rowid, d.vector]);
        }
      }
      if (vecChanges.length > 0) ix.bumpGeneration();
    })();
    if (hnsw !== null && vecChanges.length > 0) hnsw.putAll(vecChanges);
    docs.forEach((d, i) => {
      ix.noteTerms(d.texts);
      ix.facetColumns.update(rowids[i], d.facets);
    });
  }

  async delete(name: string, ids: string[]): Promise<number> {
    const ix = this.ix(name);
    const db = ix.db;
    const find = ix.stmt("SELECT rowid FROM docs WHERE id = ?");
    const removed: number[] = [];
    db.transaction(() => {
      for (const id of ids) {
        const r = find.get(id) as Row | undefined;
        if (r === undefined) continue;
        const rowid = r.rowid as number;
        ix.stmt("DELETE FROM docs WHERE rowid = ?").run(rowid);
        ix.stmt("DELETE FROM fts WHERE rowid = ?").run(rowid);
        ix.stmt("DELETE FROM facets WHERE doc = ?").run(rowid);
        if (ix.stmt("DELETE FROM vectors WHERE doc = ?").run(rowid).changes > 0) ix.bumpGeneration();
        removed.push(rowid);
      }
    })();
    const hnsw = ix.settings.embedder === null ? null : ix.vectors();
    for (const r of removed) {
      hnsw?.remove(r);
      ix.facetColumns.update(r, []);
    }
    return removed.length;
  }

  async get(name: string, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
    const st = this.ix(name).db.prepare("SELECT id, doc FROM docs WHERE id = ?");
    const out = new Map<string, Record<string, unknown>>();
    for (const id of ids) {
      const r = st.get(id) as Row | undefined;
      if (r !== undefined) out.set(id, JSON.parse(r.doc as string));
    }
    return out;
  }

  async scan(name: string, afterId: string | null, limit: number): Promise<Record<string, unknown>[]> {
    const rows = this.ix(name)
      .db.prepare("SELECT doc FROM docs WHERE id > ? ORDER BY id LIMIT ?")
      .all(afterId ?? "", limit) as Row[];
    return rows.map((r) => JSON.parse(r.doc as string));
  }

  async count(name: string): Promise<number> {
    return (this.ix(name).db.prepare("SELECT count(*) AS n FROM docs").get() as Row).n as number;
  }

  async vectorCount(name: string): Promise<number> {
    return (this.ix(name).db.prepare("SELECT count(*) AS n FROM vectors").get() as Row).n as number;
  }

  private orderBy(sort: SortKey[], doc: string, params: unknown[]): string[] {
    return sort.flatMap((s) => {
      params.push(s.field, s.field);
      const dir = s.dir === "asc" ? "ASC" : "DESC";
      const pick = s.dir === "asc" ? "min" : "max";
      return [
        `(SELECT ${pick}(num) FROM facets WHERE doc = ${doc} AND field = ?) ${dir} NULLS LAST`,
        `(SELECT ${pick}(key) FROM facets WHERE doc = ${doc} AND field = ?) ${dir} NULLS LAST`,
      ];
    });
  }

  /** A filter as an SQL condition on the document rowid expression `doc`, its parameters appended to `params`. */
  private where(filter: Filter | null, doc: string, params: unknown[], join: "WHERE" | "AND"): string {
    if (filter === null) return "";
    return ` ${join} ${compileFilter(filter, doc, "facets", (v) => {
      params.push(v);
      return "?";
    })}`;
  }

  /**
   * Ranked keyword search without a sort: typo tier by tier (fewer typos first), each tier's best by BM25 straight
   * from FTS5 with a LIMIT (SQLite keeps a top-N heap, so only the rows of the page leave the engine), documents
   * read for those rowids only. Later tiers run only when earlier ones did not fill the page; the total is one
   * count over every tier, skipped when the tiers were read to their end. A later tier is "its expression but not
   * the previous tier's"; when every earlier tier was read whole (the usual first page), the rowids already taken
   * are excluded instead, which spares FTS5 evaluating the previous expression again (half a typo tier's cost: the
   * previous expression holds the same prefix and typo alternatives).
   */
  private ranked(ix: IndexDB, plan: Plan, filter: Filter | null, limit: number, offset: number) {
    const fp: unknown[] = [];
    const fw = this.where(filter, "fts.rowid", fp, "AND");
    const exprs = tierExprs(plan, fts5Expr, (a, b) => `(${a}) NOT (${b})`);
    const plain = tierExprs(plan, fts5Expr, (a) => a);
    const select = `SELECT rowid, bm25(fts, ${ix.weights.join(", ")}) AS s FROM fts WHERE fts MATCH ?`;
    const page = ix.stmt(`${select}${fw} ORDER BY s, rowid LIMIT ? OFFSET ?`);
    const pageAfter = ix.stmt(
      `${select} AND fts.rowid NOT IN (SELECT value FROM json_each(?))${fw} ORDER BY s, rowid LIMIT ?`,
    );
    const count = ix.stmt(`SELECT count(*) FROM fts WHERE fts MATCH ?${fw}`);
    const got: [number, number][] = [];
    let skip = offset;
    let exhausted = true;
    // Every earlier tier's matches are in `got` (each read from its start and to its end).
    let earlierWhole = true;
    for (let t = 0; t < exprs.length; t++) {
      const want = limit - got.length;
      if (want <= 0) {
        exhausted = false;
        break;
      }
      if (skip > 0) {
        // Deep pages: skip whole tiers by their counts.
        const n = count.pluck().get(exprs[t], ...fp) as number;
        if (skip >= n) {
          skip -= n;
          earlierWhole = false;
          continue;
        }
      }
      let rows: [number, number][];
      if (t > 0 && earlierWhole && skip === 0) {
        rows = (
          got.length === 0
            ? page.raw().all(plain[t], ...fp, want, 0)
            : pageAfter.raw().all(plain[t], JSON.stringify(got.map((r) => r[0])), ...fp, want)
        ) as [number, number][];
      } else rows = page.raw().all(exprs[t], ...fp, want, skip) as [number, number][];
      if (skip > 0 || rows.length === want) earlierWhole = false;
      skip = 0;
      for (const r of rows) got.push(r);
      if (rows.length === want) exhausted = false;
    }
    const total = exhausted && offset === 0 ? got.length : (count.pluck().get(topExpr(plan), ...fp) as number);
    return { rowids: got.map((r) => r[0]), scores: got.map((r) => -r[1]), total };
  }

  /** The stored documents of `rowids`, in that order (rows deleted meanwhile left out). */
  private docsOf(ix: IndexDB, rowids: number[], scores: number[] | null): Hit[] {
    if (rowids.length === 0) return [];
    const rows = ix
      .stmt("SELECT rowid, id, doc FROM docs WHERE rowid IN (SELECT value FROM json_each(?))")
      .raw()
      .all(JSON.stringify(rowids)) as [number, string, string][];
    const byRowid = new Map(rows.map((r) => [r[0], r]));
    const out: Hit[] = [];
    rowids.forEach((rowid, i) => {
      const r = byRowid.get(rowid);
      if (r !== undefined) out.push({ id: r[1], doc: JSON.parse(r[2]), score: scores === null ? 0 : scores[i] });
    });
    return out;
  }

  async keyword(name: string, q: KeywordQuery): Promise<{ hits: Hit[]; total: number }> {
    const ix = this.ix(name);
    try {
      if (q.plan !== null && q.sort.length === 0) {
        const r = this.ranked(ix, q.plan, q.filter, q.limit, q.offset);
        return { hits: this.docsOf(ix, r.rowids, r.scores), total: r.total };
      }
      const params: unknown[] = [];
      const cp: unknown[] = [];
      let rows: [number, number][];
      let total: number;
      if (q.plan === null) {
        const where = this.where(q.filter, "d.rowid", params, "WHERE");
        const order = [...this.orderBy(q.sort, "d.rowid", params), "d.rowid ASC"].join(", ");
        rows = ix
          .stmt(`SELECT d.rowid, 0 FROM docs d${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
          .raw()
          .all(...params, q.limit, q.offset) as [number, number][];
        const cw = this.where(q.filter, "d.rowid", cp, "WHERE");
        total = ix
          .stmt(`SELECT count(*) FROM docs d${cw}`)
          .pluck()
          .get(...cp) as number;
      } else {
        // Sorted by attributes: every match is ordered (by the attributes, then tier and BM25), pages cut after.
        const w = ix.weights.join(", ");
        const exprs = tierExprs(q.plan, fts5Expr, (a, b) => `(${a}) NOT (${b})`);
        const tiers = exprs
          .map((_, t) => `SELECT rowid AS doc, bm25(fts, ${w}) AS score, ${t} AS tier FROM fts WHERE fts MATCH ?`)
          .join(" UNION ALL ");
        params.push(...exprs);
        const where = this.where(q.filter, "m.doc", params, "WHERE");
        const order = [...this.orderBy(q.sort, "m.doc", params), "m.tier", "m.score", "m.doc"].join(", ");
        rows = ix
          .stmt(`WITH m AS (${tiers}) SELECT m.doc, m.score FROM m${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
          .raw()
          .all(...params, q.limit, q.offset) as [number, number][];
        const cw = this.where(q.filter, "fts.rowid", cp, "AND");
        total = ix
          .stmt(`SELECT count(*) FROM fts WHERE fts MATCH ?${cw}`)
          .pluck()
          .get(topExpr(q.plan), ...cp) as number;
      }
      return {
        hits: this.docsOf(
          ix,
          rows.map((r) => r[0]),
          rows.map((r) => -r[1]),
        ),
        total,
      };
    } catch (e) {
      throw sqliteError(e);
    }
  }

  /**
   * Facet counts: the matching rowids (one FTS5 pass with the filter) counted in memory for fields that fit
   * (facetColumns.ts); other fields in SQL (`facetsSQL`).
   */
  async facets(
    name: string,
    plan: Plan | null,
    filter: Filter | null,
    fields: string[],
    maxValues: number,
  ): Promise<FacetResult> {
    const ix = this.ix(name);
    const out: FacetResult = { distribution: {}, stats: {} };
    for (const f of fields) out.distribution[f] = {};
    const inMemory = fields.filter((f) => ix.facetsInMemory(f));
    const inSql = fields.filter((f) => !inMemory.includes(f));
    try {
      if (inMemory.length > 0) {
        let rowids: number[] | null = null;
        if (plan !== null || filter !== null) {
          const params: unknown[] = [];
          let sql: string;
          if (plan === null) sql = `SELECT d.rowid FROM docs d${this.where(filter, "d.rowid", params, "WHERE")}`;
          else {
            params.push(topExpr(plan));
            sql = `SELECT fts.rowid FROM fts WHERE fts MATCH ?${this.where(filter, "fts.rowid", params, "AND")}`;
          }
          rowids = ix
            .stmt(sql)
            .pluck()
            .all(...params) as number[];
        }
        for (const f of inMemory) {
          const c = ix.facetColumns.count(f, rowids, maxValues);
          out.distribution[f] = c.distribution;
          if (c.stats !== null) out.stats[f] = c.stats;
        }
      }
      if (inSql.length > 0) this.facetsSQL(ix, plan, filter, inSql, maxValues, out);
      return out;
    } catch (e) {
      throw sqliteError(e);
    }
  }

  /**
   * Facet counts in SQL, every field in one pass: the matching rowids drive the join (CROSS JOIN keeps them outside),
   * each looks up its own facet rows by the (doc, field) key, and a window keeps each field's `maxValues` most
   * frequent values and its numeric range.
   */
  private facetsSQL(
    ix: IndexDB,
    plan: Plan | null,
    filter: Filter | null,
    fields: string[],
    maxValues: number,
    out: FacetResult,
  ): void {
    const params: unknown[] = [];
    let source: string;
    if (plan === null && filter === null) source = "facets f";
    else if (plan === null)
      source = `(SELECT d.rowid AS doc FROM docs d${this.where(filter, "d.rowid", params, "WHERE")}) m CROSS JOIN facets f`;
    else {
      params.push(topExpr(plan));
      source = `(SELECT fts.rowid AS doc FROM fts WHERE fts MATCH ?${this.where(filter, "fts.rowid", params, "AND")}) m CROSS JOIN facets f`;
    }
    const join = plan === null && filter === null ? "" : "f.doc = m.doc AND ";
    params.push(JSON.stringify(fields), maxValues);
    const rows = ix
      .stmt(
        `SELECT field, value, n, lo, hi FROM (
           SELECT f.field AS field, min(f.value) AS value, count(*) AS n,
             min(min(f.num)) OVER (PARTITION BY f.field) AS lo, max(max(f.num)) OVER (PARTITION BY f.field) AS hi,
             row_number() OVER (PARTITION BY f.field ORDER BY count(*) DESC, min(f.value)) AS r
           FROM ${source} WHERE ${join}f.field IN (SELECT value FROM json_each(?)) GROUP BY f.field, f.key
         ) WHERE r <= ? ORDER BY field, r`,
      )
      .raw()
      .all(...params) as [string, string, number, number | null, number | null][];
    for (const [field, value, n, lo, hi] of rows) {
      out.distribution[field][value] = n;
      if (lo !== null && hi !== null) out.stats[field] = { min: lo, max: hi };
    }
  }

  async vectors(name: string, vector: Float32Array, k: number, filter: Filter | null): Promise<Hit[]> {
    const ix = this.ix(name);
    const hnsw = ix.vectors();
    if (hnsw === null) return [];
    const fetchRows = (keys: number[]) => {
      if (keys.length === 0) return new Map<number, Row>();
      const params: unknown[] = [...keys];
      const ph = (v: unknown) => {
        params.push(v);
        return "?";
      };
      const where = filter === null ? "" : `AND ${compileFilter(filter, "d.rowid", "facets", ph)}`;
      const rows = ix.db
        .prepare(`SELECT d.rowid, d.id, d.doc FROM docs d WHERE d.rowid IN (${keys.map(() => "?").join(",")}) ${where}`)
        .all(...params) as Row[];
      return new Map(rows.map((r) => [r.rowid as number, r]));
    };
    // Over-fetch from the graph, then filter; when the filter leaves too few, scan the filtered set exactly.
    const wanted = filter === null ? k : Math.max(k * 8, 64);
    const near = hnsw.search(vector, wanted);
    const rows = fetchRows(near.map((n) => n.key));
    let hits = near
      .filter((n) => rows.has(n.key))
      .map((n) => ({
        id: rows.get(n.key)!.id as string,
        doc: JSON.parse(rows.get(n.key)!.doc as string),
        score: n.similarity,
      }));
    if (filter !== null && hits.length < k && near.length === wanted) {
      const params: unknown[] = [];
      const ph = (v: unknown) => {
        params.push(v);
        return "?";
      };
      const cand = ix.db
        .prepare(
          `SELECT v.doc, v.vec FROM vectors v WHERE ${compileFilter(filter, "v.doc", "facets", ph)} LIMIT 100000`,
        )
        .all(...params) as Row[];
      const scored = cand
        .map((r) => ({ key: r.doc as number, similarity: dot(vector, blobVec(r.vec as Buffer)) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, k);
      const rows2 = fetchRows(scored.map((s) => s.key));
      hits = scored
        .filter((s) => rows2.has(s.key))
        .map((s) => ({
          id: rows2.get(s.key)!.id as string,
          doc: JSON.parse(rows2.get(s.key)!.doc as string),
          score: s.similarity,
        }));
    }
    return hits.slice(0, k);
  }

  terms(name: string) {
    return {
      fuzzy: async (word: string, max: number) => this.ix(name).terms().fuzzy(word, max),
      complete: async (prefix: string, limit: number) => {
        const rows = this.ix(name)
          .db.prepare("SELECT term, doc FROM vocab WHERE term >= ? AND term < ? ORDER BY doc DESC, term LIMIT ?")
          .all(prefix, `${prefix}\u{10ffff}`, limit) as Row[];
        return rows.map((r) => ({ term: r.term as string, docs: r.doc as number }));
      },
    };
  }

  private task(r: Row): TaskRow {
    return {
      uid: r.uid as number,
      index: r.idx as string,
      type: r.type as string,
      status: r.status as TaskStatus,
      payload: r.payload === null ? null : JSON.parse(r.payload as string),
      details: JSON.parse(r.details as string),
      error: (r.error as string | null) ?? null,
      enqueuedAt: r.enqueued_at as string,
      startedAt: (r.started_at as string | null) ?? null,
      finishedAt: (r.finished_at as string | null) ?? null,
    };
  }

  async enqueueTask(index: string, type: string, payload: unknown, details: Record<string, unknown>): Promise<TaskRow> {
    const r = this.catalog
      .prepare(
        `INSERT INTO tasks (idx, type, status, payload, details, enqueued_at) VALUES (?, ?, 'enqueued', ?, ?, ?) RETURNING ${TASK_COLUMNS}`,
      )
      .get(index, type, JSON.stringify(payload), JSON.stringify(details), new Date().toISOString()) as Row;
    return this.task(r);
  }

  async getTask(uid: number): Promise<TaskRow | null> {
    const r = this.catalog.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE uid = ?`).get(uid) as Row | undefined;
    return r === undefined ? null : this.task(r);
  }

  async listTasks(opts: { index?: string; status?: TaskStatus; limit: number; from?: number }): Promise<TaskRow[]> {
    const rows = this.catalog
      .prepare(
        `SELECT ${TASK_COLUMNS} FROM tasks
         WHERE (? IS NULL OR idx = ?) AND (? IS NULL OR status = ?) AND (? IS NULL OR uid <= ?) ORDER BY uid DESC LIMIT ?`,
      )
      .all(
        opts.index ?? null,
        opts.index ?? null,
        opts.status ?? null,
        opts.status ?? null,
        opts.from ?? null,
        opts.from ?? null,
        opts.limit,
      ) as Row[];
    return rows.map((r) => this.task(r));
  }

  async nextTask(): Promise<TaskRow | null> {
    const r = this.catalog
      .prepare("SELECT * FROM tasks WHERE status IN ('enqueued', 'processing') ORDER BY uid LIMIT 1")
      .get() as Row | undefined;
    return r === undefined ? null : this.task(r);
  }

  async finishTask(
    uid: number,
    status: "processing" | "succeeded" | "failed",
    details: Record<string, unknown>,
    error?: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    if (status === "processing") {
      this.catalog
        .prepare("UPDATE tasks SET status = 'processing', started_at = coalesce(started_at, ?) WHERE uid = ?")
        .run(now, uid);
      return;
    }
    this.catalog
      .prepare("UPDATE tasks SET status = ?, details = ?, error = ?, payload = NULL, finished_at = ? WHERE uid = ?")
      .run(status, JSON.stringify(details), error ?? null, now, uid);
  }

  async getMeta(key: string): Promise<string | null> {
    const r = this.catalog.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
    return r === undefined ? null : (r.value as string);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.catalog.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  async sizeBytes(name?: string): Promise<number> {
    const names = name === undefined ? (await this.listIndexes()).map((i) => i.name) : [name];
    let total = 0;
    for (const n of names) {
      this.open.get(n)?.db.pragma("wal_checkpoint(TRUNCATE)");
      this.open.get(n)?.saveVectors(0);
      const p = this.path(n);
      for (const f of [p, `${p}-wal`, p.replace(/\.sqlite$/, ".hnsw")]) {
        try {
          total += statSync(f).size;
        } catch {
          // not created yet
        }
      }
    }
    return total;
  }

  async close(): Promise<void> {
    clearInterval(this.saveTimer);
    for (const ix of this.open.values()) ix.close();
    this.open.clear();
    this.catalog.close();
  }
}

/** Every tier of a plan at once (the typo-richest tier's expression matches all of them). */
function topExpr(plan: Plan): string {
  return fts5Expr(plan.groups);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** FTS5 refuses some expressions (e.g. a query that is only a NOT): a 400, never a 500. */
function sqliteError(e: unknown): unknown {
  if (e instanceof Error && /fts5|syntax error/i.test(e.message)) {
    return new SearchError({ code: SearchErrorCode.BAD_REQUEST, reason: `query: ${e.message}` });
  }
  return e;
}
