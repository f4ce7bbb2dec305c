import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeEmbeddings, embeddingRowsAgree, encodeEmbeddings } from "../../ai-oracle/kinds/embed.js";
import { JobStatus, type JobView, type PostJobOptions } from "../../services/client/index.js";
import { createFileBlobStore } from "../../services/runtime/content/blobStore.js";
import {
  createMarketEmbedder,
  type Embedder,
  type EmbedMarket,
  type FallbackReason,
} from "../../services/search/index.js";
import { tempDir } from "../utils/devnode.js";

/**
 * The market embedder's logic against a fake market port (the real market, worker and model are in
 * test/e2e/search.e2e.test.ts): batching into jobs and transactions, the checks every result passes before its
 * vectors are used, acceptance of the good jobs only, and the local fallback of every failed one.
 */

const DIMS = 8;

/** A deterministic unit vector per text: stands in for the model, locally and at the "worker". */
function vectorOf(text: string): Float32Array {
  const h = createHash("sha256").update(text).digest();
  const v = Float32Array.from({ length: DIMS }, (_, i) => h[i] - 128);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function fakeLocal(): Embedder & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    model: "m",
    dims: DIMS,
    async embed(texts) {
      calls.push(texts);
      return texts.map(vectorOf);
    },
    async close() {},
  };
}

type Behaviour = "ok" | "refunded" | "timeout" | "wrong" | "short" | "refused";

function fakeMarket(behaviour: (job: number) => Behaviour, opts: { postFails?: boolean } = {}) {
  const posted: PostJobOptions[] = [];
  const postCalls: number[] = [];
  const accepted: bigint[][] = [];
  const cancelled: bigint[] = [];
  const textsOf = (id: bigint) => JSON.parse(new TextDecoder().decode(posted[Number(id)].input as Uint8Array)).texts;
  const market: EmbedMarket = {
    async postMany(os) {
      if (opts.postFails) throw new Error("insufficient funds");
      postCalls.push(os.length);
      return os.map((o) => {
        posted.push(o);
        return { id: BigInt(posted.length - 1) } as Awaited<ReturnType<EmbedMarket["postMany"]>>[number];
      });
    },
    async waitFor(id) {
      const b = behaviour(Number(id));
      if (b === "timeout") throw new Error("TIMEOUT");
      return { status: b === "refunded" ? JobStatus.Refunded : JobStatus.Submitted } as JobView;
    },
    async result(id) {
      const b = behaviour(Number(id));
      const texts: string[] = textsOf(id);
      if (b === "refused") return { bytes: new Uint8Array(), errorCode: "INPUT_NOT_TEXT" } as never;
      let rows = texts.map(vectorOf);
      if (b === "wrong") rows = texts.map((t) => vectorOf(`${t}!`));
      if (b === "short") rows = rows.slice(1);
      return { bytes: encodeEmbeddings(rows, DIMS) } as never;
    },
    async cancel(id) {
      cancelled.push(id);
      return {} as never;
    },
    async acceptMany(ids) {
      accepted.push(ids);
      return { accepted: ids, skipped: [] } as never;
    },
  };
  return { market, posted, postCalls, accepted, cancelled, textsOf };
}

function setup(market: EmbedMarket) {
  const local = fakeLocal();
  const counted: { source: string; n: number; reason?: FallbackReason }[] = [];
  const embedder = createMarketEmbedder({
    market,
    host: { store: createFileBlobStore(tempDir("market-embed")), url: "http://127.0.0.1:1" },
    price: 5n,
    model: "ab".repeat(32),
    dims: DIMS,
    local: async () => local,
    decode: decodeEmbeddings,
    agree: embeddingRowsAgree,
    onTexts: (source, n, reason) => counted.push({ source, n, reason }),
  });
  return { embedder, local, counted };
}

const texts = (n: number) => Array.from({ length: n }, (_, i) => `document number ${i}`);

describe("market embedder", () => {
  it("buys 300 texts as three ai/embed jobs in one transaction, checks and accepts them", async () => {
    const m = fakeMarket(() => "ok");
    const { embedder, local, counted } = setup(m.market);
    const input = texts(300);
    const out = await embedder.embed(input);
    expect(out.map((v) => Array.from(v))).toEqual(input.map((t) => Array.from(vectorOf(t))));
    expect(m.postCalls).toEqual([3]);
    expect(m.posted.map((p) => [p.kind, p.price, p.token, p.params?.model])).toEqual(
      Array(3).fill(["ai/embed", 5n, "AZR", `0x${"ab".repeat(32)}`]),
    );
    expect([0n, 1n, 2n].map((id) => m.textsOf(id).length)).toEqual([128, 128, 44]);
    expect(m.posted.every((p) => p.host?.url === "http://127.0.0.1:1")).toBe(true);
    expect(m.accepted).toEqual([[0n, 1n, 2n]]);
    // Locally: one spot-checked row per job, nothing else.
    expect(local.calls.map((c) => c.length)).toEqual([1, 1, 1]);
    expect(counted).toEqual([
      { source: "market", n: 128, reason: undefined },
      { source: "market", n: 128, reason: undefined },
      { source: "market", n: 44, reason: undefined },
    ]);
  });

  it("embeds each failed, refunded or unverifiable job's texts locally and accepts only the good ones", async () => {
    const plan: Behaviour[] = ["ok", "refunded", "timeout", "wrong", "short", "refused"];
    const m = fakeMarket((id) => plan[id]);
    const { embedder, local, counted } = setup(m.market);
    const input = texts(128 * plan.length);
    const out = await embedder.embed(input);
    // Every vector is right whichever way it came.
    expect(out.map((v) => Array.from(v))).toEqual(input.map((t) => Array.from(vectorOf(t))));
    expect(m.accepted).toEqual([[0n]]);
    expect(m.cancelled).toEqual([2n]);
    expect(counted.map((c) => [c.source, c.reason ?? ""])).toEqual([
      ["market", ""],
      ["local", "refunded"],
      ["local", "timeout"],
      ["local", "mismatch"],
      ["local", "invalid"],
      ["local", "refused"],
    ]);
    expect(local.calls.filter((c) => c.length === 128)).toHaveLength(5);
  });

  it("falls back to local embedding when the post itself fails", async () => {
    const m = fakeMarket(() => "ok", { postFails: true });
    const { embedder, counted } = setup(m.market);
    const out = await embedder.embed(texts(10));
    expect(out).toHaveLength(10);
    expect(counted).toEqual([{ source: "local", n: 10, reason: "post" }]);
    expect(m.accepted).toEqual([]);
  });

  it("posts at most 64 jobs per transaction", async () => {
    const m = fakeMarket(() => "ok");
    const { embedder } = setup(m.market);
    await embedder.embed(texts(128 * 64 + 1));
    expect(m.postCalls).toEqual([64, 1]);
    expect(m.accepted.map((a) => a.length)).toEqual([64, 1]);
  });
});
