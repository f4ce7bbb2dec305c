/** The HTML page a gateway shows for a UnixFS directory without index.html. */
import type { DirEntry } from "../backend.js";

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

function humanSize(n: bigint): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `basePath` is the URL path of the directory, ending in `/` (e.g. `/ipfs/<cid>/images/`). */
export function renderListing(
  basePath: string,
  dirCid: string,
  entries: readonly DirEntry[],
  truncated: boolean,
): string {
  const rows = entries
    .map((e) => {
      const href = `${basePath}${encodeURIComponent(e.name)}${e.type === "directory" ? "/" : ""}`;
      const size = e.type === "directory" ? "—" : humanSize(e.size);
      return `<tr><td><a href="${esc(href)}">${esc(e.name)}${e.type === "directory" ? "/" : ""}</a></td><td>${size}</td><td><code>${esc(e.cid.toString())}</code></td></tr>`;
    })
    .join("\n");
  const parent = basePath.split("/").filter(Boolean).length > 2 ? `<p><a href="../">..</a></p>` : "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(basePath)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td{padding:.2em 1em}code{font-size:.85em;color:#555}</style>
</head><body>
<h1>Index of ${esc(basePath)}</h1>
<p>Directory CID <code>${esc(dirCid)}</code></p>
${parent}
<table><thead><tr><th>Name</th><th>Size</th><th>CID</th></tr></thead><tbody>
${rows}
</tbody></table>
${truncated ? "<p>(listing truncated)</p>" : ""}
</body></html>
`;
}
