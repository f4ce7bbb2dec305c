/** An address: account, contract or native module, with its balance, token holdings, NFTs and transactions. */
import { type AddressDetail, api, type Tx } from "../api.js";
import { type Child, facts, h, table } from "../dom.js";
import { azr, formatUnits, short } from "../format.js";
import { addrLink, blockLink, statusBadge, tokenHref, txLink } from "../links.js";
import { nftView } from "../nft.js";
import { contractTab } from "./contract.js";

export async function addressPage(address: string): Promise<HTMLElement> {
  const [a, txs, contract] = await Promise.all([
    api<AddressDetail>(`/v1/addresses/${address}`),
    api<Tx[]>(`/v1/addresses/${address}/txs?limit=25`),
    contractTab(address),
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
        ? [
            "Token",
            h(
              "a",
              { href: tokenHref(a.address, a.token.standard) },
              `${a.token.name ?? "?"} (${a.token.symbol ?? "?"}), ${a.token.standard.toUpperCase()}`,
            ),
          ]
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
        h("a", { href: tokenHref(t.token, t.tokenInfo?.standard) }, t.tokenInfo?.name ?? short(t.token, 6)),
        `${formatUnits(t.balance, t.tokenInfo?.decimals ?? 0)}${t.tokenInfo?.symbol ? ` ${t.tokenInfo.symbol}` : ""}`,
      ]),
      "No tokens",
    ),
    table(
      "NFTs",
      ["Item", "Collection", "Token ID", "Amount"],
      a.nfts.map((t) => [
        nftView(t.token, t.tokenId),
        h("a", { href: tokenHref(t.token, t.tokenInfo?.standard ?? "erc721") }, t.tokenInfo?.name ?? short(t.token, 6)),
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
    contract,
  );
}
