import type { Logger } from "../../runtime/lib/logger.js";
import type { InputHost, MarketClient } from "../client/index.js";

/**
 * Where vectors come from. The search worker runs the `ai/embed` model itself (USE-lite, 512-d) for queries and
 * small batches (ai-oracle's `createTextEmbedder`, wired in by `node/searchCommands.ts`); bulk indexing can buy embeddings as `ai/embed` jobs on the market
 * (`createMarketEmbedder`), checked against their on-chain hash like any job result. Both give unit vectors.
 */
export interface Embedder {
  /** The model's id (registry 0x…0A08), so an index never mixes vectors of two models. */
  readonly model: string;
  readonly dims: number;
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Texts per `ai/embed` call (the kind's limit). */
export const EMBED_BATCH = 128;

export interface MarketEmbedderOptions {
  client: MarketClient;
  /** Hosts batches too large to travel inline. */
  host: InputHost;
  /** Price per job (wei of `token`). */
  price: bigint;
  token?: "AZR" | "LEARN";
  model: string;
  dims?: number;
  /** How long to wait for a worker per batch (default 10 min). */
  timeoutMs?: number;
  logger?: Logger;
  /** Decodes an `ai/embed` result (AZT1) into its rows: ai-oracle's `decodeEmbeddings`, wired by the caller. */
  decode: (bytes: Uint8Array) => Float32Array[];
}

/**
 * Bulk embeddings bought on the market: one `ai/embed` job per batch of up to 128 texts, posted, waited for,
 * downloaded and checked against the on-chain result hash, then accepted (so the worker is paid at once).
 */
export function createMarketEmbedder(o: MarketEmbedderOptions): Embedder {
  return {
    model: o.model,
    dims: o.dims ?? 512,
    async embed(texts, opts = {}) {
      const { JobStatus } = await import("../client/index.js");
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH) {
        const batch = texts.slice(i, i + EMBED_BATCH).map((t) => (t === "" ? " " : t));
        const job = await o.client.post({
          kind: "ai/embed",
          input: new TextEncoder().encode(JSON.stringify({ texts: batch })),
          contentType: "application/json",
          price: o.price,
          token: o.token ?? "AZR",
          host: o.host,
        });
        o.logger?.info("embedding batch posted to the market", { job: job.id.toString(), texts: batch.length });
        await o.client.waitFor(job.id, (j) => j.status === JobStatus.Submitted || j.status >= JobStatus.Finalized, {
          timeoutMs: o.timeoutMs ?? 600_000,
          signal: opts.signal,
        });
        const r = await o.client.result(job.id);
        if (r.errorCode !== undefined) throw new Error(`ai/embed job ${job.id} refused its input: ${r.errorCode}`);
        const vectors = o.decode(r.bytes);
        if (vectors.length !== batch.length) throw new Error(`ai/embed job ${job.id}: ${vectors.length} vectors`);
        await o.client.accept(job.id);
        out.push(...vectors);
      }
      return out;
    },
    async close() {},
  };
}
