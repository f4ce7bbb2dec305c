/**
 * The web UI, served by the explorer itself: `/` is the HTML shell and `/assets/app.js` and `/assets/style.css` the bundle esbuild
 * wrote at build time (`npm run build` → `dist/explorer-web/`, sources in `web/`). No CDN, nothing fetched from
 * elsewhere: the page talks only to this server's `/v1` API, which the Content-Security-Policy enforces.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

const ASSETS: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

/** Where the bundle is: beside the compiled server (`dist/services/explorer/` → `dist/explorer-web/`), or the
 * build output seen from the TypeScript sources (tests run those). */
export function findAssetsDir(): string | null {
  for (const rel of ["../../explorer-web/", "../../dist/explorer-web/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}app.js`)) return dir;
  }
  return null;
}

/** The page's policy; NFT images may also come from the configured IPFS gateway's origin (and only from there). */
export function contentSecurityPolicy(ipfsGateway?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data:${ipfsGateway === undefined ? "" : ` ${new URL(ipfsGateway).origin}`}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Azora Explorer</title>
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="#/">Azora Explorer</a>
  <form class="search" role="search" id="search">
    <label for="q" class="visually-hidden">Search by block number, transaction hash or address, or by name</label>
    <input id="q" name="q" type="search" autocomplete="off" spellcheck="false"
      placeholder="Block, tx hash, address, token, validator, proposal">
    <button type="submit">Search</button>
  </form>
  <nav class="platform-nav" aria-label="Platform">
    <a href="#/validators">Validators</a> <a href="#/governance">Governance</a> <a href="#/escrows">Escrows</a>
    <a href="#/jobs">Jobs</a>
  </nav>
</header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<footer class="bottom"><a href="/openapi.json">API</a> · <a href="/health">health</a></footer>
</body>
</html>
`;

export function registerUI(
  app: FastifyInstance,
  assetsDir: string | null = findAssetsDir(),
  ipfsGateway?: string,
): void {
  const csp = contentSecurityPolicy(ipfsGateway);
  const files = new Map<string, Buffer>();
  if (assetsDir !== null) for (const name of Object.keys(ASSETS)) files.set(name, readFileSync(`${assetsDir}${name}`));

  app.get("/", { schema: { hide: true } }, async (_req, reply) => {
    if (files.size === 0) {
      return reply.code(503).type("text/plain; charset=utf-8").send("web UI not built: run `npm run build`\n");
    }
    return reply.type("text/html; charset=utf-8").header("content-security-policy", csp).send(SHELL);
  });
  app.get("/assets/:file", { schema: { hide: true } }, async (req, reply) => {
    const { file } = req.params as { file: string };
    const body = files.get(file);
    if (body === undefined) return reply.code(404).type("text/plain; charset=utf-8").send("not found\n");
    // Names are not content-hashed: revalidate each load (the files are small and served from memory).
    return reply.type(ASSETS[file]).header("cache-control", "no-cache").send(body);
  });
}
