/**
 * Token pages: `#/token/0x…` (ERC-20, the native LEARN and WAZR) with supply, holders by balance and transfers;
 * `#/collection/0x…` (ERC-721/1155 and the native collections) with items, their images and owners, and transfers.
 * Lists page with Previous/Next buttons without changing the route.
 */
import { api, ethCall, type HolderRow, type TokenDetail, type Transfer } from "../api.js";
import { type Child, facts, h, table } from "../dom.js";
import { formatUnits } from "../format.js";
import { addrLink, amountOf, blockLink, txLink } from "../links.js";
import { nftView } from "../nft.js";

const PAGE = 25;

/**
 * A table fetched page by page: `load(offset, limit)` gives rows; the pager replaces the table in place. One row
 * more than a page is asked for, so Next is offered only when there is a next page (not after a full last one).
 */
function paged<T>(
  id: string,
  caption: string,
  head: string[],
  load: (offset: number, limit: number) => Promise<T[]>,
  row: (t: T) => Child[],
  empty: string,
): HTMLElement {
  const box = h("section", { id, class: "paged" });
  let offset = 0;
  const show = async () => {
    const got = await load(offset, PAGE + 1);
    const more = got.length > PAGE;
    const rows = got.slice(0, PAGE);
    const prev = h("button", { type: "button", "data-page": "prev" }, "Previous");
    const next = h("button", { type: "button", "data-page": "next" }, "Next");
    prev.disabled = offset === 0;
    next.disabled = !more;
    prev.addEventListener("click", () => {
      offset = Math.max(0, offset - PAGE);
      void show();
    });
    next.addEventListener("click", () => {
      offset += PAGE;
      void show();
    });
    box.replaceChildren(table(caption, head, rows.map(row), empty));
    if (offset > 0 || more)
      box.append(
        h("nav", { class: "pager", "aria-label": `${caption} pages` }, prev, ` Page ${offset / PAGE + 1} `, next),
      );
  };
  void show().catch((e: unknown) => box.replaceChildren(h("p", { class: "alert" }, String(e))));
  box.append(h("p", { class: "muted" }, "Loading…"));
  return box;
}

async function totalSupply(address: string): Promise<string | null> {
  // totalSupply() — ERC-20 and the native collections answer it; others may revert.
  const r = await ethCall(address, "0x18160ddd").catch(() => null);
  return r?.result && r.result.length === 66 ? BigInt(r.result).toString() : null;
}

export async function tokenPage(address: string): Promise<HTMLElement> {
  const [t, supply] = await Promise.all([api<TokenDetail>(`/v1/tokens/${address}`), totalSupply(address)]);
  if (t.standard !== "erc20") return collectionPage(address);
  const decimals = t.decimals ?? 0;
  const amount = (v: string) => `${formatUnits(v, decimals)}${t.symbol ? ` ${t.symbol}` : ""}`;
  return h(
    "article",
    { class: "token" },
    h("h1", {}, `${t.name ?? "Token"}${t.symbol ? ` (${t.symbol})` : ""}`),
    facts([
      ["Address", h("a", { href: `#/address/${t.address}`, class: "mono wrap" }, t.address)],
      ["Standard", "ERC-20"],
      ["Name", t.name ?? "—"],
      ["Symbol", t.symbol ?? "—"],
      ["Decimals", t.decimals === null ? "—" : String(t.decimals)],
      ["Total supply", supply === null ? "—" : amount(supply)],
      ["Holders", String(t.holders)],
    ]),
    paged<HolderRow>(
      "holders",
      "Top holders",
      ["Rank", "Holder", "Balance"],
      (o, limit) =>
        api<HolderRow[]>(`/v1/tokens/${address}/top-holders?limit=${limit}&offset=${o}`).then((rows) =>
          rows.map((r, i) => ({ ...r, tokenId: String(o + i + 1) })),
        ),
      (r) => [r.tokenId, addrLink(r.holder), amount(r.balance)],
      "No holders",
    ),
    transfersTable(address, t),
  );
}

function transfersTable(address: string, t: TokenDetail): HTMLElement {
  return paged<Transfer>(
    "transfers",
    "Transfers",
    ["Transaction", "Block", "From", "To", t.standard === "erc20" ? "Amount" : "Token"],
    (o, limit) => api<Transfer[]>(`/v1/tokens/${address}/transfers?limit=${limit}&offset=${o}`),
    (x) => [txLink(x.txHash), blockLink(x.blockNumber), addrLink(x.from), addrLink(x.to), amountOf(x, t)],
    "No transfers",
  );
}

export async function collectionPage(address: string): Promise<HTMLElement> {
  const [t, supply] = await Promise.all([api<TokenDetail>(`/v1/tokens/${address}`), totalSupply(address)]);
  return h(
    "article",
    { class: "collection" },
    h("h1", {}, `${t.name ?? "Collection"}${t.symbol ? ` (${t.symbol})` : ""}`),
    facts([
      ["Address", h("a", { href: `#/address/${t.address}`, class: "mono wrap" }, t.address)],
      ["Standard", t.standard === "erc1155" ? "ERC-1155" : t.standard === "erc721" ? "ERC-721" : "ERC-20"],
      ["Items", supply ?? "—"],
      ["Owners", String(t.holders)],
    ]),
    paged<HolderRow>(
      "items",
      "Items",
      ["Item", "Token ID", "Owner", "Amount"],
      (o, limit) => api<HolderRow[]>(`/v1/tokens/${address}/items?limit=${limit}&offset=${o}`),
      (r) => [nftView(address, r.tokenId), `#${r.tokenId}`, addrLink(r.holder), r.balance],
      "No items",
    ),
    transfersTable(address, t),
  );
}
