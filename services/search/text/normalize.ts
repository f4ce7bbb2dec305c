/**
 * The one tokenizer every backend shares, so matching, typo candidates and highlights agree whatever stores the
 * index: Unicode NFKD, combining marks dropped ("café" → "cafe"), lower case, tokens = runs of letters and digits.
 * SQLite FTS5 (`unicode61`) and PostgreSQL (`simple`) are handed text already normalised this way, so their own
 * tokenizers split it exactly here.
 */
const TOKEN = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;

/** Longest token kept (longer runs — hashes, base64 — are cut; they still match by their first 64 characters). */
export const MAX_TOKEN_CHARS = 64;

export function normalizeWord(s: string): string {
  return s.normalize("NFKD").replace(MARKS, "").toLowerCase();
}

/** ASCII is its own NFKD form without marks, and its letters and digits are [A-Za-z0-9]: a faster path alike. */
const ASCII = /^\p{ASCII}*$/u;
const ASCII_TOKEN = /[a-z0-9]+/g;

/** Normalised tokens of `text`, in order. */
export function tokenize(text: string): string[] {
  if (ASCII.test(text)) {
    const found = text.toLowerCase().match(ASCII_TOKEN);
    if (found === null) return [];
    for (let i = 0; i < found.length; i++) {
      if (found[i].length > MAX_TOKEN_CHARS) found[i] = found[i].slice(0, MAX_TOKEN_CHARS);
    }
    return found;
  }
  const out: string[] = [];
  for (const m of normalizeWord(text).matchAll(TOKEN)) out.push(m[0].slice(0, MAX_TOKEN_CHARS));
  return out;
}

const ASCII_SEPARATORS = /[^a-z0-9]+/g;
const ASCII_LONG_TOKEN = new RegExp(`[a-z0-9]{${MAX_TOKEN_CHARS + 1}}`);

/** `text` as the backends index it: its tokens joined by single spaces. */
export function indexText(text: string): string {
  if (ASCII.test(text)) {
    // One string built, no token array: the common case of indexing.
    const lower = text.toLowerCase();
    if (!ASCII_LONG_TOKEN.test(lower)) return lower.replace(ASCII_SEPARATORS, " ").trim();
  }
  return tokenize(text).join(" ");
}

export interface TokenSpan {
  /** Normalised token. */
  token: string;
  /** Start and end (exclusive) in the original string, in UTF-16 units. */
  start: number;
  end: number;
}

/**
 * Tokens with their place in the original text (for highlighting). Normalisation can change a token's length
 * ("ﬁ" → "fi"), so each original run is normalised on its own.
 */
export function tokenSpans(text: string): TokenSpan[] {
  const out: TokenSpan[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const start = m.index ?? 0;
    const parts = tokenize(m[0]);
    // A run that normalises into several tokens (rare: compatibility forms) is highlighted as a whole.
    for (const token of parts) out.push({ token, start, end: start + m[0].length });
  }
  return out;
}
