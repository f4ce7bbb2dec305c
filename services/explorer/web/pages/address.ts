/** An address: account, contract or native module, with its balance, token holdings, NFTs and transactions. */
import { type AddressDetail, api, type Tx } from "../api.js";
import { type Child, facts, h, table } from "../dom.js";
import { azr, formatUnits, short } from "../format.js";
import { addrLink, blockLink, statusBadge, txLink } from "../links.js";

export async function addressPage(address: string): Promise<HTMLElement> {
  const [a, txs] = await Promise.all([
    api<AddressDetail>(`/v1/addresses/${address}`),
    api<Tx[]>(`/v1/addresses/${address}/txs?limit=25`),
  ]);
  const kind = a.nativeModule ? `Native module: ${a.nativeModule}` : a.isContract ? "Contract" : "Account";
  return h(
    "article",
    {},
    h("h1", {}, kind),
    facts([
      ["Address", h("code", { class: "mono wrap" }, a.address)],
      ["Balance", azr(a.balance)],
      ["Transactions", String(a.txCount)],
      a.token
        ? ["Token", `${a.token.name ?? "?"} (${a.token.symbol ?? "?"}), ${a.token.standard.toUpperCase()}`]
        : null,
      a.contract ? ["Created by", [addrLink(a.contract.creator), " in ", txLink(a.contract.txHash)]] : null,
      a.isContract && !a.nativeModule
        ? [
            "Source",
            a.verification
              ? `verified (${a.verification.match} match), ${a.verification.contractName}`
              : "not verified",
          ]
        : null,
    ] satisfies ([string, Child] | null)[]),
    table(
      "Tokens",
      ["Token", "Balance"],
      a.tokens.map((t) => [
        h("a", { href: `#/address/${t.token}` }, t.tokenInfo?.name ?? short(t.token, 6)),
        `${formatUnits(t.balance, t.tokenInfo?.decimals ?? 0)}${t.tokenInfo?.symbol ? ` ${t.tokenInfo.symbol}` : ""}`,
      ]),
      "No tokens",
    ),
    table(
      "NFTs",
      ["Collection", "Token ID", "Amount"],
      a.nfts.map((t) => [
        h("a", { href: `#/address/${t.token}` }, t.tokenInfo?.name ?? short(t.token, 6)),
        `#${t.tokenId}`,
        t.balance,
      ]),
      "No NFTs",
    ),
    table(
      "Transactions",
      ["Hash", "Block", "From", "To", "Value", "Status"],
      txs.map((t) => [
        txLink(t.hash),
        blockLink(t.blockNumber),
        addrLink(t.from),
        addrLink(t.to ?? t.contractAddress),
        azr(t.value),
        statusBadge(t.status),
      ]),
      "No transactions",
    ),
  );
}
