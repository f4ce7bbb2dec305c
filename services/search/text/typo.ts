/**
 * Typo tolerance: how many typos a query word may carry and which indexed terms are within them. Distance is
 * optimal string alignment (Damerau–Levenshtein without repeated edits of one substring): an insertion, deletion,
 * substitution or swap of two neighbours counts as one typo, as users make them.
 */
export interface TypoRules {
  enabled: boolean;
  /** Shortest word allowed one typo (default 5). */
  oneTypo: number;
  /** Shortest word allowed two typos (default 9). */
  twoTypos: number;
}

export const DEFAULT_TYPO_RULES: TypoRules = { enabled: true, oneTypo: 5, twoTypos: 9 };

export function typoBudget(word: string, rules: TypoRules): number {
  if (!rules.enabled) return 0;
  const n = [...word].length;
  if (n >= rules.twoTypos) return 2;
  if (n >= rules.oneTypo) return 1;
  return 0;
}

/** OSA distance of `a` and `b`, or `max + 1` as soon as it must exceed `max`. */
export function typoDistance(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        v = Math.min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m];
}

/** Longest term the trie walks (tokens are cut at 64 characters, normalize.ts). */
const MAX_DEPTH = 64;
/** Lookups remembered per trie. */
const RECENT_LOOKUPS = 4096;

interface TrieNode {
  /** Children's first UTF-16 units and the children, in insertion order (a few per node: a scan beats a Map). */
  codes: number[];
  kids: TrieNode[];
  /** The whole term ends here. */
  term: string | null;
  /** Length of the longest term at or below this node (a branch of short terms is skipped for a long word). */
  longest: number;
}

const node = (): TrieNode => ({ codes: [], kids: [], term: null, longest: 0 });

/**
 * The terms of an index in a trie over UTF-16 units, searched with an optimal-string-alignment row walk: each node
 * extends its parent's DP row (and uses the grandparent's for swaps), a branch whose row minimum exceeds the budget
 * is cut, so a fuzzy lookup touches a small part of a vocabulary of 10^5 terms. The rows live in one preallocated
 * buffer per lookup, so the walk allocates nothing per node.
 */
export class TermTrie {
  private readonly root: TrieNode = node();
  size = 0;
  /**
   * Recent lookups (queries repeat words, and typing repeats them letter by letter), dropped whenever a term is
   * added — so a cached answer is always the walk's answer.
   */
  private readonly recent = new Map<string, { term: string; typos: number }[]>();

  add(term: string): void {
    if (term.length > MAX_DEPTH) return;
    let n = this.root;
    if (n.longest < term.length) n.longest = term.length;
    for (let i = 0; i < term.length; i++) {
      const c = term.charCodeAt(i);
      const at = n.codes.indexOf(c);
      if (at >= 0) n = n.kids[at];
      else {
        const next = node();
        n.codes.push(c);
        n.kids.push(next);
        n = next;
      }
      if (n.longest < term.length) n.longest = term.length;
    }
    if (n.term === null) {
      n.term = term;
      this.size++;
      this.recent.clear();
    }
  }

  private find(s: string): TrieNode | undefined {
    let n: TrieNode | undefined = this.root;
    for (let i = 0; i < s.length && n !== undefined; i++) {
      const at: number = n.codes.indexOf(s.charCodeAt(i));
      n = at < 0 ? undefined : n.kids[at];
    }
    return n;
  }

  has(term: string): boolean {
    return this.find(term)?.term === term;
  }

  /** Terms within `max` typos of `word` (the word itself included when present), with their distance. */
  fuzzy(word: string, max: number, limit = 64): { term: string; typos: number }[] {
    const key = `${max}:${limit}:${word}`;
    let found = this.recent.get(key);
    if (found === undefined) {
      found = this.walk(word, max, limit);
      if (this.recent.size >= RECENT_LOOKUPS) this.recent.clear();
      this.recent.set(key, found);
    }
    return found.slice();
  }

  private walk(word: string, max: number, limit: number): { term: string; typos: number }[] {
    const m = word.length;
    if (m > MAX_DEPTH) return this.has(word) ? [{ term: word, typos: 0 }] : [];
    const w = new Int32Array(m);
    for (let j = 0; j < m; j++) w[j] = word.charCodeAt(j);
    const width = m + 1;
    // rows[d] is the DP row after d trie characters; path[d] the d-th character of the current branch.
    const rows = new Int32Array(width * (MAX_DEPTH + 1));
    const path = new Int32Array(MAX_DEPTH + 1);
    for (let j = 0; j <= m; j++) rows[j] = j;
    const out: { term: string; typos: number }[] = [];
    // Only cells within `max` of the diagonal can stay within budget: each row computes that band, its edges
    // pinned to max + 1 (every value above max is alike here), so a row costs 2·max + 1 cells, not m + 1.
    const big = max + 1;
    const visit = (n: TrieNode, d: number): void => {
      const lo = d - max > 1 ? d - max : 1;
      const hi = d + max < m ? d + max : m;
      if (lo > hi) return; // d − max > m: nothing below is within budget
      const cur = d * width;
      const prev = cur - width;
      const prev2 = prev - width;
      const ch = path[d];
      rows[cur] = d;
      if (lo > 1) rows[cur + lo - 1] = big;
      let min = d <= max ? d : big;
      for (let j = lo; j <= hi; j++) {
        const cost = w[j - 1] === ch ? 0 : 1;
        let v = rows[prev + j - 1] + cost;
        const del = rows[prev + j] + 1;
        if (del < v) v = del;
        const ins = rows[cur + j - 1] + 1;
        if (ins < v) v = ins;
        if (d > 1 && j > 1 && w[j - 1] === path[d - 1] && w[j - 2] === ch) {
          const swap = rows[prev2 + j - 2] + 1;
          if (swap < v) v = swap;
        }
        if (v > big) v = big;
        rows[cur + j] = v;
        if (v < min) min = v;
      }
      if (hi < m) rows[cur + hi + 1] = big;
      if (n.term !== null && hi === m && rows[cur + m] <= max) out.push({ term: n.term, typos: rows[cur + m] });
      // Deeper rows never go below this row's minimum (a swap there costs no less than the matching cell here).
      if (min > max || d >= MAX_DEPTH) return;
      for (let i = 0; i < n.kids.length; i++) {
        const k = n.kids[i];
        if (k.longest + max < m) continue; // every term below is too short to be within budget
        path[d + 1] = n.codes[i];
        visit(k, d + 1);
      }
    };
    for (let i = 0; i < this.root.kids.length; i++) {
      if (this.root.kids[i].longest + max < m) continue;
      path[1] = this.root.codes[i];
      visit(this.root.kids[i], 1);
    }
    out.sort((a, b) => a.typos - b.typos || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
    return out.slice(0, limit);
  }

  /** Up to `limit` terms starting with `prefix`, shortest first. */
  withPrefix(prefix: string, limit: number): string[] {
    const start = this.find(prefix);
    if (start === undefined) return [];
    const out: string[] = [];
    let level: TrieNode[] = [start];
    while (level.length > 0 && out.length < limit) {
      const next: TrieNode[] = [];
      for (const n of level) {
        if (n.term !== null && out.length < limit) out.push(n.term);
        for (const k of n.kids) next.push(k);
      }
      level = next;
    }
    return out;
  }
}
