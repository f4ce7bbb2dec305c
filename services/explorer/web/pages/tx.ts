/** A transaction: status and revert reason, decoded input, token transfers, the internal-call tree, decoded logs. */
import { api, type InternalCall, type Token, type TxDetail } from "../api.js";
import { facts, h, table } from "../dom.js";
import { azr, formatUnits, short } from "../format.js";
import { addrLink, amountOf, blockLink, decodedView, statusBadge, tokenHref } from "../links.js";

/** The flat, depth-first call list as nested lists: each call under the last shallower one. */
function callTree(calls: InternalCall[]): HTMLElement {
  const root = h("ul", { class: "calls", role: "tree", "aria-label": "Internal calls" });
  const stack: HTMLElement[] = [root];
  for (const c of calls) {
    const item = h(
      "li",
      { role: "treeitem", "aria-level": String(c.depth + 1) },
      h(
        "div",
        { class: "call" },
        h("span", { class: "badge" }, c.type),
        " ",
        addrLink(c.from),
        " → ",
        addrLink(c.to),
        c.value !== "0" ? ` ${azr(c.value)}` : "",
        c.decoded ? [" ", h("code", {}, c.decoded.name)] : "",
        c.error ? [" ", h("span", { class: "badge fail" }, c.error)] : "",
      ),
    );
    stack.length = Math.min(stack.length, c.depth + 1);
    stack[stack.length - 1].append(item);
    const sub = h("ul", { role: "group" });
    item.append(sub);
    stack.push(sub);
  }
  for (const ul of root.querySelectorAll("ul")) if (ul.childElementCount === 0) ul.remove();
  return root;
}

export async function txPage(hash: string): Promise<HTMLElement> {
  const t = await api<TxDetail>(`/v1/txs/${hash}`);
  const tokens = new Map<string, Token | null>();
  await Promise.all(
    [...new Set(t.transfers.map((x) => x.token))].map(async (a) =>
      tokens.set(a, await api<Token>(`/v1/tokens/${a}`).catch(() => null)),
    ),
  );
  return h(
    "article",
    {},
    h("h1", {}, "Transaction"),
    t.status === 1
      ? null
      : h(
          "p",
          { class: "alert", role: "alert", id: "revert-reason" },
          h("strong", {}, "Reverted: "),
          t.error ?? "no reason given",
        ),
    facts([
      ["Hash", h("code", { class: "mono wrap" }, t.hash)],
      ["Status", statusBadge(t.status)],
      ["Block", blockLink(t.blockNumber)],
      ["Time", new Date(t.timestamp * 1000).toISOString()],
      ["From", addrLink(t.from)],
      [t.to === null ? "Created" : "To", addrLink(t.to ?? t.contractAddress)],
      ["Value", azr(t.value)],
      ["Gas used", `${BigInt(t.gasUsed).toLocaleString("en-US")} of ${BigInt(t.gasLimit).toLocaleString("en-US")}`],
      ["Gas price", `${formatUnits(t.gasPrice, 9)} gwei`],
      ["Nonce", String(t.nonce)],
    ]),
    h("section", { id: "input" }, h("h2", {}, "Input"), decodedView(t.decodedInput, t.input)),
    table(
      "Token transfers",
      ["Token", "From", "To", "Amount"],
      t.transfers.map((x) => {
        const info = tokens.get(x.token);
        return [
          h("a", { href: tokenHref(x.token, x.standard) }, info?.symbol ?? short(x.token, 6)),
          addrLink(x.from),
          addrLink(x.to),
          amountOf(x, info),
        ];
      }),
      "No token transfers",
    ),
    h(
      "section",
      { id: "internal-calls" },
      h("h2", {}, "Internal calls"),
      t.internalCalls.length === 0 ? h("p", { class: "muted" }, "None") : callTree(t.internalCalls),
    ),
    h(
      "section",
      { id: "logs" },
      h("h2", {}, `Logs (${t.logs.length})`),
      t.logs.length === 0
        ? h("p", { class: "muted" }, "None")
        : h(
            "ol",
            { class: "logs" },
            t.logs.map((l) =>
              h(
                "li",
                {},
                h("div", {}, "Emitted by ", addrLink(l.address)),
                l.decoded === null
                  ? h(
                      "ul",
                      { class: "args" },
                      [...l.topics, l.data].map((x) => h("li", {}, h("code", { class: "raw" }, x))),
                    )
                  : decodedView(l.decoded),
              ),
            ),
          ),
    ),
  );
}
