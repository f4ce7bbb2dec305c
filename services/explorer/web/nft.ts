/**
 * An NFT's picture and name, filled in from `/v1/nfts/:token/:id` once it answers: the image only when the server
 * gives an `imageUrl` (on the IPFS gateway's origin, which the page's CSP allows), else the token URI as text.
 */
import { api, type NftMetadata } from "./api.js";
import { h } from "./dom.js";

export function nftView(token: string, tokenId: string): HTMLElement {
  const box = h(
    "figure",
    { class: "nft", "data-nft": `${token}:${tokenId}` },
    h("span", { class: "nft-ph muted" }, `#${tokenId}`),
  );
  void api<NftMetadata>(`/v1/nfts/${token}/${tokenId}`).then(
    (m) => {
      const label = m.name ?? `#${tokenId}`;
      box.replaceChildren(
        m.imageUrl !== null
          ? h("img", {
              src: m.imageUrl,
              alt: label,
              loading: "lazy",
              width: "96",
              height: "96",
              referrerpolicy: "no-referrer",
            })
          : h("span", { class: "nft-ph muted" }, `#${tokenId}`),
        h(
          "figcaption",
          {},
          h("span", {}, label),
          m.imageUrl === null && (m.image ?? m.tokenUri) !== null
            ? h("code", { class: "wrap small", title: m.problem ?? "" }, m.image ?? m.tokenUri ?? "")
            : null,
        ),
      );
    },
    () => box.setAttribute("data-failed", "true"),
  );
  return box;
}
