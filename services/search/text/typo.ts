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

interface TrieNode {
  children: Map<string, TrieNode>;
  /** The whole term ends here. */
  term: string | null;
}

/**
 * The terms of an index in a trie, searched with a Levenshtein row walk (each node extends the DP row of its
 * parent; a branch whose row minimum exceeds the budget is cut), so a fuzzy lookup touches a small part of a
 * vocabulary of 10^5 terms. Swaps are checked exactly on the candidates (a swap costs 2 in the walk, so the walk
 * runs with budget + 1 and `typoDistance` decides).
 */
export class TermTrie {
  private readonly root: TrieNode = { children: new Map(), term: null };
  size = 0;

  add(term: string): void {
    let node = this.root;
    for (const ch of term) {
      let next = node.children.get(ch);
      if (next === undefined) {
        next = { children: new Map(), term: null };
        node.children.set(ch, next);
      }
      node = next;
    }
    if (node.term === null) {
      node.term = term;
      this.size++;
    }
  }

  has(term: string): boolean {
    let node: TrieNode | undefined = this.root;
    for (const ch of term) {
      node = node.children.get(ch);
      if (node === undefined) return false;
    }
    return node.term !== null;
  }

  /** Terms within `max` typos of `word` (the word itself included when present), with their distance. */
  fuzzy(word: string, max: number, limit = 64): { term: string; typos: number }[] {
    const chars = [...word];
    const out: { term: string; typos: number }[] = [];
    const walkMax = max + 1;
    const first = Array.from({ length: chars.length + 1 }, (_, j) => j);
    const visit = (node: TrieNode, ch: string, prevRow: number[]) => {
      const row = [prevRow[0] + 1];
      let min = row[0];
      for (let j = 1; j <= chars.length; j++) {
        const v = Math.min(row[j - 1] + 1, prevRow[j] + 1, prevRow[j - 1] + (chars[j - 1] === ch ? 0 : 1));
        row.push(v);
        if (v < min) min = v;
      }
      if (node.term !== null && row[chars.length] <= walkMax) {
        const d = typoDistance(word, node.term, max);
        if (d <= max) out.push({ term: node.term, typos: d });
      }
      if (min > walkMax) return;
      for (const [c, child] of node.children) visit(child, c, row);
    };
    for (const [c, child] of this.root.children) visit(child, c, first);
    out.sort((a, b) => a.typos - b.typos || a.term.localeCompare(b.term));
    return out.slice(0, limit);
  }

  /** Up to `limit` terms starting with `prefix`, shortest first. */
  withPrefix(prefix: string, limit: number): string[] {
    let node: TrieNode | undefined = this.root;
    for (const ch of prefix) {
      node = node.children.get(ch);
      if (node === undefined) return [];
    }
    const out: string[] = [];
    const queue: TrieNode[] = [node];
    while (queue.length > 0 && out.length < limit) {
      const n = queue.shift()!;
      if (n.term !== null) out.push(n.term);
      for (const child of n.children.values()) queue.push(child);
    }
    return out;
  }
}
