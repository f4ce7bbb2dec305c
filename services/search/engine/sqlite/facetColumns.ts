import type { FacetRow } from "../../documents.js";

/**
 * Facet values per document in memory, for counting: a query's facet distribution is then one pass over its
 * matching rowids in JavaScript (a lookup and an increment each) instead of a B-tree descent per document and field
 * plus a sorted GROUP BY in SQLite — about 10× less work for a common word. A field is loaded from the facet rows on
 * its first count and kept in step with every write after; the store falls back to SQL for fields too large to hold
 * (`MAX_ROWS`).
 */
export interface FacetCounts {
  /** Shown value → documents, the `maxValues` most frequent (ties by value). */
  distribution: Record<string, number>;
  /** Numeric range over the counted documents' values, when any is numeric. */
  stats: { min: number; max: number } | null;
}

/** Facet rows per field held in memory at most (beyond, counting stays in SQL). */
export const MAX_ROWS = 2_000_000;

/**
 * One field: each distinct (key, spelling) pair has an id; a document maps to the ids of its values. A key shows as
 * its smallest spelling still in use (as SQL's min(value) would).
 */
class Column {
  private readonly ids = new Map<string, number>();
  private readonly keyIds = new Map<string, number>();
  /** Per spelling id: its key id, its text, how many documents use it. */
  private readonly keyOf: number[] = [];
  private readonly spelling: string[] = [];
  private readonly uses: number[] = [];
  /** Per key id: its spelling ids and its number. */
  private readonly spellingsOf: number[][] = [];
  private readonly nums: (number | null)[] = [];
  /** rowid → spelling id (one value) or ids (several). */
  private readonly docs = new Map<number, number | number[]>();

  add(doc: number, key: string, value: string, num: number | null): void {
    const sk = `${key}\u0000${value}`;
    let id = this.ids.get(sk);
    if (id === undefined) {
      let k = this.keyIds.get(key);
      if (k === undefined) {
        k = this.nums.length;
        this.keyIds.set(key, k);
        this.nums.push(num);
        this.spellingsOf.push([]);
      }
      id = this.keyOf.length;
      this.ids.set(sk, id);
      this.keyOf.push(k);
      this.spelling.push(value);
      this.uses.push(0);
      this.spellingsOf[k].push(id);
    }
    this.uses[id]++;
    const had = this.docs.get(doc);
    if (had === undefined) this.docs.set(doc, id);
    else if (typeof had === "number") this.docs.set(doc, [had, id]);
    else had.push(id);
  }

  remove(doc: number): void {
    const had = this.docs.get(doc);
    if (had === undefined) return;
    this.docs.delete(doc);
    if (typeof had === "number") this.uses[had]--;
    else for (const id of had) this.uses[id]--;
  }

  count(rowids: Iterable<number> | null, maxValues: number): FacetCounts {
    const counts = new Int32Array(this.nums.length);
    const keyOf = this.keyOf;
    const bump = (ids: number | number[]) => {
      if (typeof ids === "number") counts[keyOf[ids]]++;
      else for (const id of ids) counts[keyOf[id]]++;
    };
    if (rowids === null) for (const ids of this.docs.values()) bump(ids);
    else
      for (const r of rowids) {
        const ids = this.docs.get(r);
        if (ids !== undefined) bump(ids);
      }
    const found: { n: number; value: string }[] = [];
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < counts.length; k++) {
      if (counts[k] === 0) continue;
      let shown: string | null = null;
      for (const id of this.spellingsOf[k]) {
        if (this.uses[id] > 0 && (shown === null || this.spelling[id] < shown)) shown = this.spelling[id];
      }
      found.push({ n: counts[k], value: shown! });
      const num = this.nums[k];
      if (num !== null) {
        if (num < lo) lo = num;
        if (num > hi) hi = num;
      }
    }
    found.sort((a, b) => b.n - a.n || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const distribution: Record<string, number> = {};
    for (const f of found.slice(0, maxValues)) distribution[f.value] = f.n;
    return { distribution, stats: lo <= hi ? { min: lo, max: hi } : null };
  }
}

export class FacetColumns {
  private readonly columns = new Map<string, Column>();

  /** `rows(field)`: the stored facet rows of a field, for its first load. */
  constructor(private readonly rows: (field: string) => Iterable<FacetRow & { doc: number }>) {}

  private column(field: string): Column {
    let c = this.columns.get(field);
    if (c === undefined) {
      c = new Column();
      for (const r of this.rows(field)) c.add(r.doc, r.key, r.value, r.num);
      this.columns.set(field, c);
    }
    return c;
  }

  /** Counts over `rowids` (null: every document). */
  count(field: string, rowids: Iterable<number> | null, maxValues: number): FacetCounts {
    return this.column(field).count(rowids, maxValues);
  }

  /** A document's facet rows replaced by `next` (a deletion: none), in every loaded field. */
  update(doc: number, next: FacetRow[]): void {
    for (const [field, c] of this.columns) {
      c.remove(doc);
      for (const r of next) if (r.field === field) c.add(doc, r.key, r.value, r.num);
    }
  }
}
