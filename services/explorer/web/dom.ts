/** DOM building without innerHTML: every string from the chain (token names, decoded args, revert reasons) is text. */
export type Child = Node | string | number | null | undefined | false | Child[];

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** A definition list of label → value rows (the detail pages' summary); null rows are left out. */
export function facts(rows: ([string, Child] | null)[]): HTMLDListElement {
  return h(
    "dl",
    { class: "facts" },
    rows.flatMap((r) => (r === null ? [] : [r])).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
  );
}

/** A table with a caption (screen readers announce it) and column headers. */
export function table(caption: string, head: string[], rows: Child[][], empty = "None"): HTMLElement {
  if (rows.length === 0) return h("section", {}, h("h2", {}, caption), h("p", { class: "muted" }, empty));
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head.map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            {},
            r.map((c, i) => h("td", { "data-label": head[i] }, c)),
          ),
        ),
      ),
    ),
  );
}

/** The page's `<main>`, where routes render. */
export const main = () => document.getElementById("main") as HTMLElement;
