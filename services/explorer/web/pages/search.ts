/**
 * Search results (`#/search/<q>`): tokens and collections by name or symbol, validators by moniker, a proposal by
 * number, and — when the explorer is connected to Azora Search — ranked full-text hits over verified contracts,
 * token names and proposals.
 */
import { api } from "../api.js";
import { type Child, h, table } from "../dom.js";
import { short } from "../format.js";
import type { SearchResult } from "../platformApi.js";

const hitHref = (kind: string, ref: string) => (kind === "proposal" ? `#/proposal/${ref}` : `#/address/${ref}`);

export async function searchPage(arg: string): Promise<HTMLElement> {
  const q = decodeURIComponent(arg);
  const r = await api<SearchResult>(`/v1/search?q=${encodeURIComponent(q)}`);
  const structured = r.tokens.length + r.validators.length + r.proposals.length;
  let fullText: Child;
  if (r.fullText === null) {
    fullText = h(
      "p",
      { class: "muted", id: "full-text" },
      r.fullTextError === null
        ? "Full-text search is off: this explorer is not connected to Azora Search."
        : `Azora Search did not answer: ${r.fullTextError}`,
    );
  } else {
    fullText = h(
      "section",
      { id: "full-text", "aria-labelledby": "full-text-title" },
      h("h2", { id: "full-text-title" }, "Full text (Azora Search)"),
      r.fullText.length === 0
        ? h("p", { class: "muted" }, "No full-text matches")
        : h(
            "ol",
            { class: "hits" },
            r.fullText.map((hit) =>
              h(
                "li",
                { "data-kind": hit.kind },
                h("a", { href: hitHref(hit.kind, hit.ref) }, hit.title),
                " ",
                h("span", { class: "badge" }, hit.kind),
                hit.snippet.length === 0
                  ? null
                  : h(
                      "p",
                      { class: "snippet" },
                      hit.snippet.map((run) => (run.match ? h("mark", {}, run.text) : run.text)),
                    ),
              ),
            ),
          ),
    );
  }
  return h(
    "article",
    {},
    h("h1", {}, `Search: ${q}`),
    structured === 0 ? h("p", { class: "muted" }, "No token, collection, validator or proposal by that name.") : null,
    r.tokens.length === 0
      ? null
      : table(
          "Tokens and collections",
          ["Name", "Symbol", "Standard", "Address"],
          r.tokens.map((t) => [
            h("a", { href: `#/address/${t.address}` }, t.name ?? short(t.address, 6)),
            t.symbol ?? "—",
            t.standard.toUpperCase(),
            h("code", { class: "mono" }, short(t.address, 6)),
          ]),
        ),
    r.validators.length === 0
      ? null
      : table(
          "Validators",
          ["Moniker", "Operator"],
          r.validators.map((v) => [
            h("a", { href: `#/validator/${v.operator}` }, v.moniker),
            h("code", { class: "mono" }, short(v.operator, 6)),
          ]),
        ),
    r.proposals.length === 0
      ? null
      : table(
          "Proposals",
          ["Proposal", "Status"],
          r.proposals.map((p) => [h("a", { href: `#/proposal/${p.id}` }, `Proposal ${p.id}`), p.status]),
        ),
    fullText,
  );
}
