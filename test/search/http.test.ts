import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveSearchConfig, type SearchService, startSearchService } from "../../services/search/service.js";
import { DOCS, SETTINGS } from "./corpus.js";

/**
 * The HTTP API over real HTTP (fastify on 127.0.0.1): index and document routes with tasks, search by query string
 * and JSON body, suggestions, the API key, `/health`, `/metrics`, `/openapi.json`, and malformed requests — random
 * query strings included — answered 400 with a reason, never 500.
 */
let svc: SearchService;
let dir: string;
const KEY = "k".repeat(24);
const call = async (method: string, path: string, body?: unknown, auth = true) => {
  const r = await fetch(`${svc.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(auth ? { authorization: `Bearer ${KEY}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "azora-search-http-"));
  svc = await startSearchService(resolveSearchConfig({}, { dataDir: dir, http: { port: 0 }, apiKey: KEY }), {
    log: nullLogger,
    version: "test",
    embedder: null,
  });
});
afterAll(async () => {
  await svc?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("search HTTP API", () => {
  it("creates an index, indexes documents as a task, searches by query string and body", async () => {
    expect((await call("POST", "/indexes", { name: "catalog", settings: SETTINGS }, false)).status).toBe(401);
    expect((await call("POST", "/indexes", { name: "catalog", settings: SETTINGS })).status).toBe(201);
    expect((await call("POST", "/indexes", { name: "catalog" })).status).toBe(409);
    const add = await call("POST", "/indexes/catalog/documents", DOCS);
    expect(add.status).toBe(202);
    expect(add.body).toMatchObject({ indexUid: "catalog", type: "documentAddition", status: "enqueued" });
    let task = add.body;
    while (task.status === "enqueued" || task.status === "processing")
      task = (await call("GET", `/tasks/${add.body.taskUid}`)).body;
    expect(task).toMatchObject({
      status: "succeeded",
      details: { receivedDocuments: DOCS.length, indexedDocuments: DOCS.length },
    });

    const r = await call(
      "GET",
      "/indexes/catalog/search?q=finanse&facets=kind&filter=price%20%3C%20100&attributesToHighlight=title",
    );
    expect(r.status).toBe(200);
    expect(r.body.hits.map((h: { id: string }) => h.id)).toEqual(expect.arrayContaining(["c1", "n1"]));
    expect(r.body.facetDistribution.kind).toEqual({ course: 2, nft: 1 });
    const b = await call("POST", "/indexes/catalog/search", {
      q: "",
      filter: "kind = nft",
      sort: ["price:desc"],
      limit: 2,
    });
    expect(b.body.hits.map((h: { id: string }) => h.id)).toEqual(["n3", "n2"]);
    const p = await call("GET", "/indexes/catalog/search?q=&page=2&hitsPerPage=5");
    expect(p.body).toMatchObject({ offset: 5, limit: 5 });
    const s = await call("GET", "/indexes/catalog/suggest?q=introduction%20to%20blo");
    expect(s.body.suggestions[0].text).toBe("introduction to blockchain");
    expect((await call("GET", "/indexes/catalog/documents/c2")).body.title).toBe("Introduction to Blockchain");
    const info = await call("GET", "/indexes/catalog");
    expect(info.body.stats).toMatchObject({ numberOfDocuments: DOCS.length });
  });

  it("answers bad requests with 400 and the reason", async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ["GET", "/indexes/catalog/search?q=x&filter=title%20%3D%20a", undefined, /not filterable/],
      ["GET", "/indexes/catalog/search?q=x&limit=100000", undefined, /limit/],
      ["GET", "/indexes/catalog/search?q=x&limit=ten", undefined, /limit: expected an integer/],
      ["GET", "/indexes/catalog/search?q=x&sort=price", undefined, /attribute:asc/],
      ["GET", "/indexes/catalog/search?q=x&hybrid=lots", undefined, /hybrid/],
      ["GET", "/indexes/catalog/search?q=x&colour=red", undefined, /unknown parameter "colour"/],
      ["GET", "/indexes/catalog/search?q=a&q=b", undefined, /more than once/],
      ["POST", "/indexes/catalog/documents", "{not json", /JSON/i],
      ["POST", "/indexes/catalog/documents", [{ name: "no id" }], /"id"/],
      ["PATCH", "/indexes/catalog/settings", { typoTolerance: { oneTypo: "five" } }, /typoTolerance/],
      ["POST", "/indexes", { name: "../etc" }, /index name/],
    ];
    for (const [method, path, body, re] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.message, `${method} ${path}`).toMatch(re);
    }
    expect((await call("GET", "/indexes/nope/search?q=x")).status).toBe(404);
    expect((await call("GET", "/tasks/999999")).status).toBe(404);
  });

  it("never answers a query string with a 500", async () => {
    const keys = [
      "q",
      "filter",
      "facets",
      "sort",
      "limit",
      "offset",
      "hybrid",
      "cropLength",
      "matchingStrategy",
      "page",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 40 })), { maxLength: 5 }),
        async (pairs) => {
          const qs = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
          const r = await call("GET", `/indexes/catalog/search?${qs}`);
          expect([200, 400], qs).toContain(r.status);
        },
      ),
      { numRuns: 300, seed: 20261206 },
    );
  });

  it("serves /health, /metrics and its OpenAPI description", async () => {
    expect((await call("GET", "/health")).body).toMatchObject({ status: "ok", backend: "sqlite" });
    const m = await call("GET", "/metrics");
    expect(m.body).toMatch(/azora_search_query_duration_seconds_bucket/);
    expect(m.body).toMatch(/azora_search_tasks_total\{type="documentAddition",status="succeeded"\}/);
    const o = await call("GET", "/openapi.json");
    expect(Object.keys(o.body.paths)).toEqual(
      expect.arrayContaining([
        "/indexes",
        "/indexes/{name}/search",
        "/indexes/{name}/documents",
        "/tasks/{uid}",
        "/payments/vouchers",
      ]),
    );
  });
});
