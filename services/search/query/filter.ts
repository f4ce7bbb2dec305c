import { badRequest } from "../errors.js";

/**
 * Filter expressions, Meilisearch's syntax: `kind = nft AND (price >= 10 OR owner IN [0xab…, 0xcd…])`,
 * `price 10 TO 20`, `collection EXISTS`, `NOT kind = job`, strings bare or quoted ('…' or "…"). Parsed into a
 * small tree that each backend compiles to SQL (`compileFilter`). Every refusal names what is wrong.
 */
export type Value = string | number;
export type Filter =
  | { op: "and" | "or"; args: Filter[] }
  | { op: "not"; arg: Filter }
  | { op: "cmp"; field: string; cmp: "=" | "!=" | ">" | ">=" | "<" | "<="; value: Value }
  | { op: "in"; field: string; values: Value[] }
  | { op: "range"; field: string; from: number; to: number }
  | { op: "exists"; field: string };

export const MAX_FILTER_CHARS = 4096;
const MAX_DEPTH = 32;

type Tok = { t: "word" | "str" | "op" | "(" | ")" | "[" | "]" | ","; v: string; at: number };

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\" && j + 1 < src.length) j++;
        s += src[j++];
      }
      if (j >= src.length) throw badRequest(`filter: unterminated string at ${i}`);
      out.push({ t: "str", v: s, at: i });
      i = j + 1;
    } else if ("()[],".includes(c)) {
      out.push({ t: c as Tok["t"], v: c, at: i });
      i++;
    } else if (c === "!" || c === "<" || c === ">" || c === "=") {
      const two = src.slice(i, i + 2);
      const op = two === "!=" || two === ">=" || two === "<=" ? two : c;
      if (op === "!") throw badRequest(`filter: unexpected "!" at ${i} (use != or NOT)`);
      out.push({ t: "op", v: op, at: i });
      i += op.length;
    } else {
      let j = i;
      while (j < src.length && !/[\s()[\],!<>="']/.test(src[j])) j++;
      out.push({ t: "word", v: src.slice(i, j), at: i });
      i = j;
    }
  }
  return out;
}

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "TO", "EXISTS"]);

export function parseFilter(src: string, filterable: ReadonlySet<string>): Filter | null {
  if (src.length > MAX_FILTER_CHARS) throw badRequest(`filter: longer than ${MAX_FILTER_CHARS} characters`);
  const toks = lex(src);
  if (toks.length === 0) return null;
  let p = 0;
  const peek = () => toks[p];
  const kw = (k: string) => peek()?.t === "word" && peek().v.toUpperCase() === k;
  const where = () => (p < toks.length ? `at ${toks[p].at} ("${toks[p].v}")` : "at the end");

  const field = (): string => {
    const t = toks[p];
    if (t === undefined || (t.t !== "word" && t.t !== "str") || (t.t === "word" && KEYWORDS.has(t.v.toUpperCase()))) {
      throw badRequest(`filter: expected an attribute ${where()}`);
    }
    p++;
    if (!filterable.has(t.v)) {
      const list = [...filterable].join(", ") || "none";
      throw badRequest(`filter: attribute "${t.v}" is not filterable (filterable: ${list})`);
    }
    return t.v;
  };
  const value = (): Value => {
    const t = toks[p];
    if (t === undefined || (t.t !== "word" && t.t !== "str")) throw badRequest(`filter: expected a value ${where()}`);
    p++;
    if (t.t === "word" && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t.v)) return Number(t.v);
    return t.v;
  };
  const num = (): number => {
    const v = value();
    if (typeof v !== "number") throw badRequest(`filter: "${v}" is not a number`);
    return v;
  };

  const primary = (depth: number): Filter => {
    if (depth > MAX_DEPTH) throw badRequest("filter: nested too deeply");
    if (peek()?.t === "(") {
      p++;
      const e = or(depth + 1);
      if (peek()?.t !== ")") throw badRequest(`filter: expected ")" ${where()}`);
      p++;
      return e;
    }
    const f = field();
    const t = peek();
    if (t?.t === "op") {
      p++;
      const cmp = t.v as "=" | "!=" | ">" | ">=" | "<" | "<=";
      const v = cmp === "=" || cmp === "!=" ? value() : num();
      return { op: "cmp", field: f, cmp, value: v };
    }
    if (kw("IN")) {
      p++;
      if (peek()?.t !== "[") throw badRequest(`filter: expected "[" after IN ${where()}`);
      p++;
      const values: Value[] = [];
      while (peek()?.t !== "]") {
        values.push(value());
        if (peek()?.t === ",") p++;
        else if (peek()?.t !== "]") throw badRequest(`filter: expected "," or "]" ${where()}`);
      }
      p++;
      if (values.length === 0) throw badRequest("filter: IN [] needs at least one value");
      return { op: "in", field: f, values };
    }
    if (kw("EXISTS")) {
      p++;
      return { op: "exists", field: f };
    }
    if (kw("NOT") && toks[p + 1]?.t === "word" && toks[p + 1].v.toUpperCase() === "EXISTS") {
      p += 2;
      return { op: "not", arg: { op: "exists", field: f } };
    }
    if (t?.t === "word" || t?.t === "str") {
      const from = num();
      if (!kw("TO")) throw badRequest(`filter: expected TO ${where()}`);
      p++;
      const to = num();
      return { op: "range", field: f, from, to };
    }
    throw badRequest(`filter: expected an operator after "${f}" ${where()}`);
  };
  const not = (depth: number): Filter => {
    if (kw("NOT")) {
      p++;
      return { op: "not", arg: not(depth + 1) };
    }
    return primary(depth);
  };
  const and = (depth: number): Filter => {
    const args = [not(depth)];
    while (kw("AND")) {
      p++;
      args.push(not(depth));
    }
    return args.length === 1 ? args[0] : { op: "and", args };
  };
  function or(depth: number): Filter {
    const args = [and(depth)];
    while (kw("OR")) {
      p++;
      args.push(and(depth));
    }
    return args.length === 1 ? args[0] : { op: "or", args };
  }
  const out = or(0);
  if (p < toks.length) throw badRequest(`filter: unexpected ${where()}`);
  return out;
}

/** The key a facet value is matched and counted by: strings compare case-insensitively, numbers canonically. */
export function facetKey(v: Value | boolean): string {
  return typeof v === "string" ? v.toLowerCase() : String(v);
}

/**
 * Compiles a filter to a SQL condition on the document id expression `doc`, over a facet table of rows
 * (doc, field, key, num); `ph` adds a parameter and returns its placeholder (`?` or `$n`).
 */
export function compileFilter(f: Filter, doc: string, facets: string, ph: (v: unknown) => string): string {
  // Placeholders are made in the order they appear in the text (`?` parameters are positional).
  const has = (field: string, cond: () => string) => {
    const head = `EXISTS (SELECT 1 FROM ${facets} f WHERE f.doc = ${doc} AND f.field = ${ph(field)} AND `;
    return `${head}${cond()})`;
  };
  switch (f.op) {
    case "and":
    case "or":
      return `(${f.args.map((a) => compileFilter(a, doc, facets, ph)).join(f.op === "and" ? " AND " : " OR ")})`;
    case "not":
      return `NOT ${compileFilter(f.arg, doc, facets, ph)}`;
    case "exists":
      return `EXISTS (SELECT 1 FROM ${facets} f WHERE f.doc = ${doc} AND f.field = ${ph(f.field)})`;
    case "in":
      return has(f.field, () => `f.key IN (${f.values.map((v) => ph(facetKey(v))).join(", ")})`);
    case "range":
      return has(f.field, () => `f.num >= ${ph(f.from)} AND f.num <= ${ph(f.to)}`);
    case "cmp":
      if (f.cmp === "=") return has(f.field, () => `f.key = ${ph(facetKey(f.value))}`);
      if (f.cmp === "!=") return `NOT ${has(f.field, () => `f.key = ${ph(facetKey(f.value))}`)}`;
      return has(f.field, () => `f.num ${f.cmp} ${ph(f.value)}`);
  }
}
