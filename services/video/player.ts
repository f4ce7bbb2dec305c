/**
 * The player page: `GET /video/<cid>` plays the HLS directory `<cid>` (a `video/hls` result's `hls`) from the
 * gateway on the same port, with hls.js served from this package's own copy (`/video/assets/hls.min.js`, no
 * CDN). It shows the rendition ladder, the level playing and buttons to force one; `window.azoraPlayer`
 * exposes the same to scripts (the browser test).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { CID } from "multiformats/cid";

const require = createRequire(import.meta.url);

let hlsScript: Buffer | undefined;
function hlsJS(): Buffer {
  hlsScript ??= readFileSync(require.resolve("hls.js/dist/hls.min.js"));
  return hlsScript;
}

export function registerPlayerRoutes(app: FastifyInstance): void {
  app.get(
    "/video/assets/hls.min.js",
    { schema: { summary: "hls.js (bundled with the worker)", tags: ["video"], hide: true } },
    async (_req, reply) =>
      reply
        .header("content-type", "text/javascript; charset=utf-8")
        .header("cache-control", "public, max-age=86400")
        .send(hlsJS()),
  );
  app.get(
    "/video/:cid",
    {
      schema: {
        summary: "Player page for an HLS directory (hls.js): rendition ladder, current level, playback",
        tags: ["video"],
        params: Type.Object({
          cid: Type.String({ description: "CID of the HLS directory (a video/hls result's hls)" }),
        }),
        response: {
          200: { description: "HTML page", type: "string" },
          400: Type.Object({ error: Type.String() }),
        },
      },
    },
    async (req, reply) => {
      let cid: string;
      try {
        cid = CID.parse((req.params as { cid: string }).cid).toString();
      } catch {
        return reply.code(400).send({ error: "VIDEO_INVALID_CID" });
      }
      return reply
        .header("content-type", "text/html; charset=utf-8")
        .header(
          "content-security-policy",
          "default-src 'self'; style-src 'unsafe-inline'; script-src 'self' 'unsafe-inline'; media-src 'self' blob:; worker-src blob:",
        )
        .send(playerPage(cid));
    },
  );
}

/** The page; `cid` is a parsed CID's canonical string (base32 letters and digits only). */
export function playerPage(cid: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Azora Video · ${cid.slice(0, 16)}…</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1115; color: #e6e6e6; }
  main { max-width: 1000px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 18px; margin: 0 0 12px; } code { color: #9ecbff; word-break: break-all; }
  video { width: 100%; background: #000; border-radius: 6px; aspect-ratio: 16 / 9; }
  table { border-collapse: collapse; margin-top: 12px; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #2a2d35; }
  tr.playing td { color: #7ee787; font-weight: 600; }
  button { background: #21262d; color: #e6e6e6; border: 1px solid #30363d; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
  #status { margin-top: 8px; color: #8b949e; }
</style>
</head>
<body>
<main>
  <h1>Azora Video <code>${cid}</code></h1>
  <video id="video" controls muted playsinline poster="/ipfs/${cid}/poster.jpg"></video>
  <div id="status">loading…</div>
  <table>
    <thead><tr><th>level</th><th>resolution</th><th>bandwidth</th><th>codecs</th><th></th></tr></thead>
    <tbody id="ladder"></tbody>
  </table>
  <p><button id="auto">auto (ABR)</button></p>
</main>
<script src="/video/assets/hls.min.js"></script>
<script>
(() => {
  const src = "/ipfs/${cid}/master.m3u8";
  const video = document.getElementById("video");
  const status = document.getElementById("status");
  const ladder = document.getElementById("ladder");
  const state = { levels: [], currentLevel: -1, switched: [], error: null, hls: null };
  window.azoraPlayer = state;
  if (!window.Hls || !Hls.isSupported()) {
    if (video.canPlayType("application/vnd.apple.mpegurl")) { video.src = src; status.textContent = "native HLS"; }
    else { status.textContent = "this browser cannot play HLS"; state.error = "unsupported"; }
    return;
  }
  const hls = new Hls({ enableWorker: true });
  state.hls = hls;
  const render = () => {
    ladder.textContent = "";
    hls.levels.forEach((l, i) => {
      const tr = document.createElement("tr");
      if (i === hls.currentLevel) tr.className = "playing";
      for (const t of [String(i), l.width + "×" + l.height, Math.round(l.bitrate / 1000) + " kb/s", l.codecSet || (l.attrs && l.attrs.CODECS) || ""]) {
        const td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      }
      const td = document.createElement("td");
      const b = document.createElement("button"); b.textContent = "play this"; b.onclick = () => { hls.currentLevel = i; };
      td.appendChild(b); tr.appendChild(td); ladder.appendChild(tr);
    });
    const cur = hls.levels[hls.currentLevel];
    status.textContent = cur ? "playing level " + hls.currentLevel + " (" + cur.height + "p)" + (hls.autoLevelEnabled ? ", auto" : ", forced") : "loading…";
  };
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    state.levels = hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate }));
    render();
    video.play().catch((e) => { state.error = String(e); });
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => { state.currentLevel = d.level; state.switched.push(d.level); render(); });
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { state.error = d.type + ": " + d.details; status.textContent = "error: " + state.error; } });
  document.getElementById("auto").onclick = () => { hls.currentLevel = -1; render(); };
  hls.loadSource(src);
  hls.attachMedia(video);
})();
</script>
</body>
</html>
`;
}
