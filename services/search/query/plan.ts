import type { IndexSettings } from "../settings.js";
import type { MatchTerms } from "../text/highlight.js";
import { tokenize } from "../text/normalize.js";
import { typoBudget } from "../text/typo.js";

/**
 * What a text query means for an index, before any backend sees it: one group per query word (all groups must
 * match), each a list of alternatives — the word, its synonyms, indexed terms within its typo budget, and, for the
 * last word while the user is still typing, every term it starts. Backends compile a plan to FTS5 MATCH or a
 * tsquery, one tier per level (`altLevel`) so that exact words rank first, then completions, then typos.
 */
export interface Alt {
  kind: "term" | "prefix" | "phrase";
  /** Normalised text (a phrase's words joined by single spaces). */
  text: string;
  typos: number;
}

export interface Plan {
  groups: Alt[][];
  /** The levels (`altLevel`) the alternatives have, ascending, 0 always: one ranking tier each. */
  levels: number[];
  /** What highlighting marks. */
  match: MatchTerms;
  /** The words the plan was built from (after stop words). */
  words: string[];
}

/** The vocabulary lookups planning needs from a backend. */
export interface TermLookup {
  /** Indexed terms within `max` typos of `word` (`word` itself included when indexed). */
  fuzzy(word: string, max: number): Promise<{ term: string; typos: number }[]>;
}

/** Most query words planned; the rest are ignored (as Meilisearch does). */
export const MAX_QUERY_WORDS = 10;
export const MAX_QUERY_CHARS = 512;

export async function buildPlan(
  q: string,
  s: IndexSettings,
  lookup: TermLookup,
  opts: { prefix?: boolean } = {},
): Promise<Plan | null> {
  let words = tokenize(q);
  if (words.length === 0) return null;
  const endsTyping = opts.prefix !== false && /[\p{L}\p{N}]$/u.test(q);
  const stop = new Set(s.stopWords.map((w) => tokenize(w).join(" ")));
  const kept = words.filter((w) => !stop.has(w));
  if (kept.length > 0) words = kept;
  words = words.slice(0, MAX_QUERY_WORDS);
  const synonyms = new Map<string, string[]>();
  for (const [k, vs] of Object.entries(s.synonyms)) {
    const key = tokenize(k).join(" ");
    synonyms.set(key, [...(synonyms.get(key) ?? []), ...vs.map((v) => tokenize(v).join(" ")).filter((v) => v !== "")]);
  }
  const terms = new Set<string>();
  const prefixes: string[] = [];
  const groups: Alt[][] = [];
  const levels = new Set([0]);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const alts: Alt[] = [{ kind: "term", text: w, typos: 0 }];
    terms.add(w);
    for (const syn of synonyms.get(w) ?? []) {
      alts.push({ kind: syn.includes(" ") ? "phrase" : "term", text: syn, typos: 0 });
      for (const t of syn.split(" ")) terms.add(t);
    }
    const budget = typoBudget(w, s.typoTolerance);
    if (budget > 0) {
      for (const { term, typos } of await lookup.fuzzy(w, budget)) {
        if (term === w || typos === 0) continue;
        alts.push({ kind: "term", text: term, typos });
        terms.add(term);
      }
    }
    if (i === words.length - 1 && endsTyping) {
      alts.push({ kind: "prefix", text: w, typos: 0 });
      prefixes.push(w);
    }
    for (const a of alts) levels.add(altLevel(a));
    groups.push(alts);
  }
  return { groups, levels: [...levels].sort((a, b) => a - b), match: { terms, prefixes }, words };
}

/**
 * The ranking tier an alternative first counts in: the word itself and its synonyms 0, completions of the last
 * word 1 (exact words before the words they start: "library" before "libraryname"), then 1 + its typo count.
 */
export function altLevel(a: Alt): number {
  if (a.kind === "prefix") return 1;
  return a.typos === 0 ? 0 : 1 + a.typos;
}

/** The plan's alternatives allowed in its `tier`-th tier (every group keeps its word, level 0). */
export function tierGroups(plan: Plan, tier: number): Alt[][] {
  const level = plan.levels[tier];
  return plan.groups.map((g) => g.filter((a) => altLevel(a) <= level));
}
