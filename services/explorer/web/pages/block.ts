/** A block: its header facts and its transactions. */
import { api, type Block, type Tx } from "../api.js";
import { facts, h, table } from "../dom.js";
import { azr, formatUnits } from "../format.js";
import { addrLink, statusBadge, txLink } from "../links.js";

export async function blockPage(ref: string): Promise<HTMLElement> {
  const { block: b, txs } = await api<{ block: Block; txs: Tx[] }>(`/v1/blocks/${ref}`);
  return h(
    "article",
    {},
    h("h1", {}, `Block ${b.number}`),
    facts([
      ["Hash", h("code", { class: "mono wrap" }, b.hash)],
      ["Parent", b.number === 0 ? "—" : h("a", { href: `#/block/${b.number - 1}`, class: "mono wrap" }, b.parentHash)],
      ["Time", new Date(b.timestamp * 1000).toISOString()],
      ["Proposer", addrLink(b.miner)],
      ["Gas used", `${BigInt(b.gasUsed).toLocaleString("en-US")} of ${BigInt(b.gasLimit).toLocaleString("en-US")}`],
      ["Base fee", b.baseFeePerGas === null ? "—" : `${formatUnits(b.baseFeePerGas, 9)} gwei`],
      ["Transactions", String(b.txCount)],
    ]),
    table(
      "Transactions",
      ["Hash", "From", "To", "Value", "Status"],
      txs.map((t) => [
        txLink(t.hash),
        addrLink(t.from),
        addrLink(t.to ?? t.contractAddress),
        azr(t.value),
        statusBadge(t.status),
      ]),
      "No transactions in this block",
    ),
  );
}
