import { tokenSpans } from "./normalize.js";

/**
 * Highlighting and snippets, done here rather than by each backend so both answer alike: the query's matched
 * terms (exact, synonym, typo variants) and the last word's prefix mark tokens of the original text.
 */
export interface MatchTerms {
  /** Normalised terms that match exactly. */
  terms: ReadonlySet<string>;
  /** Normalised prefixes (prefix search on the query's last word). */
  prefixes: readonly string[];
}

export interface HighlightTags {
  pre: string;
  post: string;
}

export const DEFAULT_TAGS: HighlightTags = { pre: "<em>", post: "</em>" };

function isMatch(token: string, m: MatchTerms): boolean {
  if (m.terms.has(token)) return true;
  for (const p of m.prefixes) if (token.startsWith(p)) return true;
  return false;
}

/** `text` with each matching token wrapped in the tags; `matched` counts them. */
export function highlight(text: string, m: MatchTerms, tags: HighlightTags = DEFAULT_TAGS) {
  const spans = tokenSpans(text).filter((s) => isMatch(s.token, m));
  let out = "";
  let at = 0;
  let lastEnd = -1;
  for (const s of spans) {
    if (s.start < lastEnd) continue; // one original run split into several tokens
    out += text.slice(at, s.start) + tags.pre + text.slice(s.start, s.end) + tags.post;
    at = s.end;
    lastEnd = s.end;
  }
  return { text: out + text.slice(at), matched: spans.length };
}

/**
 * A window of about `words` words around the densest run of matches (the text's start when nothing matches),
 * highlighted, with "…" where text was cut.
 */
export function snippet(text: string, m: MatchTerms, words: number, tags: HighlightTags = DEFAULT_TAGS): string {
  const spans = tokenSpans(text);
  if (spans.length <= words) return highlight(text, m, tags).text;
  const hits = spans.map((s) => (isMatch(s.token, m) ? 1 : 0));
  let best = 0;
  let bestAt = 0;
  let sum = 0;
  for (let i = 0; i < spans.length; i++) {
    sum += hits[i];
    if (i >= words) sum -= hits[i - words];
    if (i >= words - 1 && sum > best) {
      best = sum;
      bestAt = i - words + 1;
    }
  }
  // Centre the window on its matches: start a little before the first one.
  if (best > 0) {
    const firstHit = hits.indexOf(1, bestAt);
    bestAt = Math.max(0, Math.min(firstHit - Math.floor(words / 4), spans.length - words));
  }
  const from = spans[bestAt].start;
  const to = spans[Math.min(bestAt + words, spans.length) - 1].end;
  const body = highlight(text.slice(from, to), m, tags).text;
  return `${bestAt > 0 ? "…" : ""}${body}${bestAt + words < spans.length ? "…" : ""}`;
}
