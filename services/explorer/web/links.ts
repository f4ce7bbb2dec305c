/** Small views shared by the pages: links to blocks, transactions and addresses, status badges, decoded calls. */
import type { Decoded, Token } from "./api.js";
import { type Child, h } from "./dom.js";
import { argText, formatUnits, short } from "./format.js";

export const blockLink = (n: number) => h("a", { href: `#/block/${n}` }, String(n));
export const txLink = (hash: string) => h("a", { href: `#/tx/${hash}`, class: "mono", title: hash }, short(hash));
export const addrLink = (a: string | null) =>
  a === null
    ? h("span", { class: "muted" }, "—")
    : h("a", { href: `#/address/${a}`, class: "mono", title: a }, short(a, 6));
export const statusBadge = (status: number) =>
  status === 1 ? h("span", { class: "badge ok" }, "Success") : h("span", { class: "badge fail" }, "Failed");

/** A decoded argument: addresses link to their page, everything else is code text. */
export const argView = (v: unknown): Child =>
  typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)
    ? h("a", { href: `#/address/${v.toLowerCase()}`, class: "mono wrap" }, v)
    : h("code", {}, argText(v));

export function decodedView(d: Decoded | null, raw?: string): Child {
  if (d === null)
    return raw === undefined || raw === "0x" ? h("span", { class: "muted" }, "—") : h("code", { class: "raw" }, raw);
  return h(
    "div",
    { class: "decoded" },
    h("code", {}, d.signature),
    h(
      "ul",
      { class: "args" },
      Object.entries(d.args).map(([k, v]) => h("li", {}, h("span", { class: "arg-name" }, k), " ", argView(v))),
    ),
  );
}

export function amountOf(t: { amount: string; tokenId: string | null; standard: string }, info?: Token | null): string {
  if (t.standard === "erc721") return `#${t.tokenId}`;
  const units = formatUnits(t.amount, info?.decimals ?? 0);
  return t.standard === "erc1155" ? `${units} × #${t.tokenId}` : `${units}${info?.symbol ? ` ${info.symbol}` : ""}`;
}

/** A token's page: `#/token/…` for ERC-20 (and LEARN, WAZR), `#/collection/…` for ERC-721/1155 collections. */
export const tokenHref = (address: string, standard: string | undefined) =>
  `#/${standard === "erc20" || standard === undefined ? "token" : "collection"}/${address}`;
