import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SearchEngine, SearchError, SearchErrorCode } from "../../services/search/index.js";
import type { SearchStore } from "../../services/search/store.js";
import { BACKENDS } from "./backends.js";
import { DOCS, OWNER_A, OWNER_B, SETTINGS } from "./corpus.js";

/**
 * The engine's behaviour, the same cases against every backend (the embedded store always, PostgreSQL when
 * AZORA_TEST_PG_URL is set — `.ci/run` sets it): typo tolerance, prefix search and completion, facets, filters,
 * highlighting, pagination, sorting, synonyms and stop words, updates and deletions, restart persistence and the
 * refusal of malformed input.
 */
describe.each(BACKENDS)("search engine on $name", (backend) => {
  let store: SearchStore;
  let engine: SearchEngine;
  let reopen: () => Promise<SearchStore>;
  let cleanup: () => Promise<void>;

  const ids = async (q: string, extra: Record<string, unknown> = {}) =>
    (await engine.search("catalog", { q, limit: 50, ...extra })).hits.map((h) => h.id as string);
  const done = async (p: Promise<{ uid: number }>) => {
    const t = await engine.waitForTask((await p).uid);
    expect(t.status, `task ${t.uid}: ${t.error}`).toBe("succeeded");
    return t;
  };

  beforeAll(async () => {
    const b = await backend.create();
    store = b.store;
    reopen = b.reopen;
    cleanup = b.cleanup;
    engine = new SearchEngine(store);
    engine.start();
    await engine.createIndex("catalog", SETTINGS);
    await done(engine.addDocuments("catalog", DOCS));
  });
  afterAll(async () => {
    await engine.stop();
    await store.close();
    await cleanup();
  });

  describe("typo tolerance", () => {
    it("one typo from 5 letters: substitution, deletion, insertion, swap", async () => {
      expect(await ids("financw")).toContain("c1"); // finance (7)
      expect(await ids("persnal", { prefix: false })).toContain("c1"); // personal
      expect(await ids("guitarr", { prefix: false })).toContain("c3");
      expect(await ids("fianance", { prefix: false })).toContain("c1"); // insertion
      expect(await ids("fiannce", { prefix: false })).toContain("c1"); // swap
    });

    it("no typo below 5 letters", async () => {
      expect(await ids("bamk", { prefix: false })).toEqual([]); // bank (4): no typo allowed
      expect(await ids("bank", { prefix: false })).toEqual(["c2"]);
    });

    it("two typos from 9 letters, one below", async () => {
      expect(await ids("blokchian", { prefix: false })).toEqual(expect.arrayContaining(["c2", "c5"])); // 9, 2 typos
      expect(await ids("cryptgrapy", { prefix: false })).toContain("c7"); // 10 letters, 2 deletions
      expect(await ids("compund", { prefix: false })).toEqual(expect.arrayContaining(["j1", "c6"])); // 7, 1 typo
      expect(await ids("copund", { prefix: false })).toEqual([]); // 6 letters, 2 typos: too many
      expect(await ids("diversifcaton", { prefix: false })).toEqual(expect.arrayContaining(["j1", "c6"]));
    });

    it("exact matches rank before typo matches", async () => {
      const r = await ids("guitar", { prefix: false });
      expect(r[0]).toBe("c3");
      expect(r).toContain("n3"); // "Guiter": one typo away
      expect(r.indexOf("c3")).toBeLessThan(r.indexOf("n3"));
    });

    it("can be switched off per index", async () => {
      await engine.createIndex("strict", { ...SETTINGS, typoTolerance: { enabled: false } });
      await done(engine.addDocuments("strict", DOCS));
      expect((await engine.search("strict", { q: "financw" })).hits).toEqual([]);
      await engine.deleteIndex("strict");
    });
  });

  describe("prefix search and completion", () => {
    it("the last word matches as a prefix while typing", async () => {
      expect(await ids("blockch")).toEqual(expect.arrayContaining(["c2", "c5"]));
      expect(await ids("personal fin")).toEqual(expect.arrayContaining(["c1", "n1"]));
      expect(await ids("blockch ")).toEqual([]); // a trailing space ends the word
    });

    it("ranks a word itself before the words it starts, whatever their BM25", async () => {
      await engine.createIndex("tiers", SETTINGS);
      await done(
        engine.addDocuments("tiers", [
          {
            id: "exact",
            title: "Notes",
            description: `A long text that mentions one block once ${"and more ".repeat(30)}`,
          },
          { id: "longer", title: "Blocks", description: "Blocks blocks blocker blocks." },
        ]),
      );
      expect((await engine.search("tiers", { q: "block" })).hits.map((h) => h.id)).toEqual(["exact", "longer"]);
      expect((await engine.search("tiers", { q: "block", limit: 1 })).estimatedTotalHits).toBe(2);
      await engine.deleteIndex("tiers");
    });

    it("suggests completions of the last word, most frequent first", async () => {
      const s = await engine.suggest("catalog", "introduction to blo");
      // "blockchain" is in two documents, "blocks" in one.
      expect(s.suggestions).toEqual([
        { text: "introduction to blockchain", term: "blockchain", documents: 2 },
        { text: "introduction to blocks", term: "blocks", documents: 1 },
      ]);
    });
  });

  describe("facets and filters", () => {
    it("counts values over the matches", async () => {
      const r = await engine.search("catalog", { q: "", facets: ["kind", "collection"], limit: 0 });
      expect(r.estimatedTotalHits).toBe(DOCS.length);
      expect(r.facetDistribution?.kind).toEqual({ course: 7, nft: 3, job: 2 });
      expect(r.facetDistribution?.collection).toMatchObject({ learn: 5, art: 2, dev: 2, ai: 2, certificates: 1 });
      const f = await engine.search("catalog", { q: "finance", facets: ["kind", "price"] });
      expect(f.facetDistribution?.kind).toEqual({ course: 2, nft: 1 });
      expect(f.facetStats?.price).toEqual({ min: 0, max: 40 });
    });

    it("counts array values once per document", async () => {
      const r = await engine.search("catalog", { q: "", facets: ["tags"], filter: "kind = nft" });
      expect(r.facetDistribution?.tags).toMatchObject({ art: 2, photo: 1, music: 1, finance: 1, certificate: 1 });
    });

    it("filters by kind, collection, price ranges and owner, with AND, OR, NOT and parentheses", async () => {
      expect(await ids("", { filter: "kind = nft" })).toEqual(["n1", "n2", "n3"]);
      expect(await ids("", { filter: "price 20 TO 40" })).toEqual(["c1", "c2", "c6"]);
      expect(await ids("", { filter: "price >= 100" })).toEqual(["n2", "n3"]);
      expect(await ids("", { filter: "price < 2" })).toEqual(["n1", "j2"]);
      expect(await ids("", { filter: `owner = ${OWNER_B.toLowerCase()} AND kind = course` })).toEqual([
        "c3",
        "c4",
        "c6",
      ]);
      expect(await ids("", { filter: `owner IN ["${OWNER_A}"] AND (collection = dev OR price > 39)` })).toEqual([
        "c1",
        "c5",
        "c7",
      ]);
      expect(await ids("", { filter: "NOT kind = course AND collection != ai" })).toEqual(["n1", "n2", "n3"]);
      expect(await ids("blockchain", { filter: "collection = 'dev'" })).toEqual(["c5"]);
      const faceted = await engine.search("catalog", { q: "", filter: `owner = ${OWNER_B}`, facets: ["kind"] });
      expect(faceted.facetDistribution?.kind).toEqual({ course: 3, nft: 2, job: 1 });
    });
  });

  describe("highlighting, pagination, sorting", () => {
    it("wraps matched words (typo and prefix matches too) and crops around them", async () => {
      const r = await engine.search("catalog", {
        q: "personal financ",
        attributesToCrop: ["description"],
        cropLength: 4,
      });
      const c1 = r.hits.find((h) => h.id === "c1")!;
      expect((c1._formatted as Record<string, string>).title).toBe("<em>Personal</em> <em>Finance</em> Basics");
      const n1 = r.hits.find((h) => h.id === "n1")!;
      expect((n1._formatted as Record<string, string>).description).toMatch(/<em>personal<\/em> <em>finance<\/em>/);
      expect((n1._formatted as Record<string, string>).description).toMatch(/^…|…$/);
      const t = await engine.search("catalog", {
        q: "guitr",
        prefix: false,
        highlightPreTag: "[",
        highlightPostTag: "]",
      });
      expect(t.hits.map((h) => (h._formatted as Record<string, string>).title)).toContain("[Guitar] for Beginners");
    });

    it("pages through results without gaps or repeats", async () => {
      const all = await ids("", { limit: 100 });
      const pages: string[] = [];
      for (let offset = 0; offset < all.length; offset += 5) pages.push(...(await ids("", { limit: 5, offset })));
      expect(pages).toEqual(all);
      const r = await engine.search("catalog", { q: "course", limit: 1 });
      expect(r.estimatedTotalHits).toBeGreaterThan(1);
      expect(r.hits).toHaveLength(1);
    });

    it("pages through ranked matches across typo tiers, the total counting every tier", async () => {
      for (const q of ["guitar", "finance", "blokchian"]) {
        const full = await engine.search("catalog", { q, prefix: false, limit: 50 });
        expect(full.hits.length, q).toBeGreaterThan(1);
        expect(full.estimatedTotalHits, q).toBe(full.hits.length);
        const pages: string[] = [];
        for (let offset = 0; offset < full.hits.length + 2; offset++) {
          const p = await engine.search("catalog", { q, prefix: false, limit: 1, offset });
          expect(p.estimatedTotalHits, `${q} at ${offset}`).toBe(full.hits.length);
          pages.push(...p.hits.map((h) => h.id as string));
        }
        expect(pages, q).toEqual(full.hits.map((h) => h.id));
      }
    });

    it("sorts by a sortable field, ascending and descending", async () => {
      expect(await ids("", { sort: ["price:asc"], filter: "kind = nft" })).toEqual(["n1", "n2", "n3"]);
      expect(await ids("", { sort: ["price:desc"], limit: 3 })).toEqual(["n3", "n2", "c5"]);
      expect(await ids("finance", { sort: ["title:asc"] })).toEqual(["n1", "c6", "c1"]); // Certificate, Investing, Personal
    });
  });

  describe("synonyms and stop words", () => {
    it("a synonym matches what its word would", async () => {
      expect(await ids("money", { prefix: false })).toEqual(expect.arrayContaining(["c1", "n1", "c6"]));
      expect(await ids("nft", { prefix: false })).toEqual([]); // "token" appears in no document
    });

    it("stop words are ignored unless the query has nothing else", async () => {
      expect(await ids("the blockchain", { prefix: false })).toEqual(await ids("blockchain", { prefix: false }));
      expect(await ids("the", { prefix: false })).toContain("n3"); // "the title is misspelled"
    });

    it("settings changes apply to later queries", async () => {
      await done(engine.updateSettings("catalog", { synonyms: { ...SETTINGS.synonyms, lagoon: ["sea"] } }));
      expect(await ids("sea", { prefix: false })).toEqual([]);
      await done(engine.updateSettings("catalog", { synonyms: { ...SETTINGS.synonyms, sea: ["lagoon"] } }));
      expect(await ids("sea", { prefix: false })).toEqual(["n2"]);
    });
  });

  describe("updates and deletions", () => {
    it("adds, replaces, partially updates and deletes by id; a repeated batch changes nothing", async () => {
      await engine.createIndex("docs", SETTINGS);
      await done(engine.addDocuments("docs", DOCS));
      const again = await done(engine.addDocuments("docs", DOCS));
      expect(again.details).toMatchObject({ receivedDocuments: DOCS.length, indexedDocuments: DOCS.length });
      expect(await store.count("docs")).toBe(DOCS.length);
      // Facets counted before the changes (an embedded store then holds them in memory) follow each change.
      const facets = async () =>
        (await engine.search("docs", { q: "", facets: ["kind", "price"], limit: 0 })).facetDistribution!;
      expect((await facets()).kind.course).toBe(7);
      expect((await facets()).price["7"]).toBeUndefined();

      await done(engine.addDocuments("docs", [{ id: "c3", kind: "course", title: "Ukulele in a Weekend", price: 5 }]));
      const s1 = await engine.search("docs", { q: "guitar", prefix: false });
      expect(s1.hits.map((h) => h.id)).toEqual(["n3"]);
      expect(await engine.getDocument("docs", "c3")).toEqual({
        id: "c3",
        kind: "course",
        title: "Ukulele in a Weekend",
        price: 5,
      });

      await done(engine.addDocuments("docs", [{ id: "c3", price: 7, description: "Four strings" }], "update"));
      expect(await engine.getDocument("docs", "c3")).toMatchObject({ title: "Ukulele in a Weekend", price: 7 });
      expect((await engine.search("docs", { q: "strings", prefix: false })).hits.map((h) => h.id)).toEqual(["c3"]);
      expect((await engine.search("docs", { q: "", filter: "price = 7" })).hits.map((h) => h.id)).toEqual(["c3"]);
      expect((await facets()).price["7"]).toBe(1);

      const del = await done(engine.deleteDocuments("docs", ["c3", "nope"]));
      expect(del.details).toMatchObject({ providedIds: 2, deletedDocuments: 1 });
      expect((await engine.search("docs", { q: "ukulele" })).hits).toEqual([]);
      expect((await engine.search("docs", { q: "", facets: ["kind"] })).facetDistribution?.kind.course).toBe(6);
      expect((await facets()).price["7"]).toBeUndefined();
      // A deleted document's words no longer match, and later versions of an id in one batch win.
      await done(
        engine.addDocuments("docs", [
          { id: "x", title: "first" },
          { id: "x", title: "second" },
        ]),
      );
      expect((await engine.search("docs", { q: "first", prefix: false })).hits).toEqual([]);
      expect((await engine.search("docs", { q: "second", prefix: false })).hits.map((h) => h.id)).toEqual(["x"]);
    });
  });

  describe("malformed input", () => {
    const bad = async (f: () => Promise<unknown>, re: RegExp) => {
      const e = await f().then(
        () => null,
        (x) => x,
      );
      expect(e, String(re)).toBeInstanceOf(SearchError);
      expect((e as SearchError).code).toBe(SearchErrorCode.BAD_REQUEST);
      expect((e as SearchError).message).toMatch(re);
    };

    it("refuses bad queries with the reason", async () => {
      await bad(() => engine.search("catalog", { q: "x", filter: "nope = 1" }), /"nope" is not filterable/);
      await bad(() => engine.search("catalog", { q: "x", filter: "kind = " }), /expected a value/);
      await bad(() => engine.search("catalog", { q: "x", filter: "(kind = nft" }), /expected "\)"/);
      await bad(() => engine.search("catalog", { q: "x", filter: "price > cheap" }), /not a number/);
      await bad(() => engine.search("catalog", { q: "x", filter: "kind = 'nft" }), /unterminated/);
      await bad(() => engine.search("catalog", { q: "x", facets: ["title"] }), /not filterable/);
      await bad(() => engine.search("catalog", { q: "x", sort: ["owner:asc"] }), /not sortable/);
      await bad(() => engine.search("catalog", { q: "x", sort: ["price:up"] }), /attribute:asc/);
      await bad(() => engine.search("catalog", { q: "x", limit: 5000 }), /limit/);
      await bad(() => engine.search("catalog", { q: "x", hybrid: 0.5 }), /no embedder/);
      await bad(() => engine.search("catalog", { q: "x".repeat(600) }), /at most 512/);
    });

    it("refuses bad documents and settings before any task", async () => {
      await bad(() => engine.addDocuments("catalog", { id: 1 }), /JSON array/);
      await bad(() => engine.addDocuments("catalog", [{ title: "no id" }]), /document 0: "id"/);
      await bad(() => engine.addDocuments("catalog", [{ id: "a b" }]), /document 0/);
      await bad(() => engine.addDocuments("catalog", [{ id: "v", _vectors: [1, 2] }]), /no embedder/);
      await bad(() => engine.updateSettings("catalog", { searchableAttributes: [] }), /searchableAttributes/);
      await bad(() => engine.updateSettings("catalog", { unknownKey: 1 }), /settings/);
      await bad(() => engine.createIndex("bad name!", {}), /index name/);
      await expect(engine.search("missing", { q: "x" })).rejects.toMatchObject({
        code: SearchErrorCode.INDEX_NOT_FOUND,
      });
    });

    it("odd query text is searched, never an error", async () => {
      for (const q of [
        '"',
        "*",
        "AND OR NOT",
        "(",
        "-x",
        "NEAR(a b)",
        "a:*",
        "ü ö ä",
        "🙂",
        "\\",
        "'; DROP TABLE docs; --",
      ]) {
        const r = await engine.search("catalog", { q, facets: ["kind"] });
        expect(Array.isArray(r.hits), q).toBe(true);
      }
    });
  });

  it("keeps indexes, settings, documents and tasks across a restart", async () => {
    const before = await engine.search("catalog", { q: "financw", facets: ["kind"], filter: "price < 100" });
    const uid = (await store.listTasks({ limit: 1 }))[0].uid;
    await engine.stop();
    await store.close();
    store = await reopen();
    engine = new SearchEngine(store);
    engine.start();
    const after = await engine.search("catalog", { q: "financw", facets: ["kind"], filter: "price < 100" });
    expect({ ...after, processingTimeMs: 0 }).toEqual({ ...before, processingTimeMs: 0 });
    expect((await engine.task(uid)).status).toBe("succeeded");
    expect((await store.getIndex("catalog"))?.settings.synonyms).toHaveProperty("sea");
  });
});
