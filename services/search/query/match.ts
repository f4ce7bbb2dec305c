import type { Alt, Plan } from "./plan.js";
import { tierGroups } from "./plan.js";

/** A plan's tier as an SQLite FTS5 MATCH expression: groups ANDed, alternatives ORed. */
export function fts5Expr(groups: Alt[][]): string {
  const alt = (a: Alt) => {
    const q = `"${a.text.replaceAll('"', '""')}"`;
    return a.kind === "prefix" ? `${q}*` : q;
  };
  return groups.map((g) => `(${g.map(alt).join(" OR ")})`).join(" AND ");
}

/** A plan's tier as a PostgreSQL tsquery (for `to_tsquery('simple', …)`): `&`, `|`, `<->` phrases, `:*` prefixes. */
export function tsqueryExpr(groups: Alt[][]): string {
  // Tokens are letters and digits only (normalize.ts), so they need no quoting in tsquery syntax.
  const alt = (a: Alt) => {
    if (a.kind === "prefix") return `${a.text}:*`;
    if (a.kind === "phrase") return `(${a.text.split(" ").join(" <-> ")})`;
    return a.text;
  };
  return groups.map((g) => `(${g.map(alt).join(" | ")})`).join(" & ");
}

/**
 * The match expression of each ranking tier (plan.ts `altLevel`), each excluding what an earlier tier matched, so a
 * document counts in exactly one tier: [t0, t1 ∧ ¬t0, t2 ∧ ¬t1, …]. `not` composes "a but not b" in the backend's
 * syntax.
 */
export function tierExprs(plan: Plan, expr: (g: Alt[][]) => string, not: (a: string, b: string) => string): string[] {
  const out: string[] = [];
  let prev: string | null = null;
  for (let t = 0; t < plan.levels.length; t++) {
    const e = expr(tierGroups(plan, t));
    out.push(prev === null ? e : not(e, prev));
    prev = e;
  }
  return out;
}
