import type { Logger } from "../../runtime/lib/logger.js";
import { type InputHost, JobStatus, type MarketClient, type TokenName } from "../client/index.js";
import { EMBED_BATCH, type Embedder } from "./embedder.js";

/** The part of the market client bulk embedding uses (a fake in unit tests). */
export type EmbedMarket = Pick<MarketClient, "postMany" | "waitFor" | "result" | "acceptMany" | "cancel">;

/** Jobs per `postMany` / `acceptMany` transaction (the market's batch limit). */
export const JOBS_PER_TX = 64;

/** Why a batch was embedded locally instead of with the market's vectors. */
export type FallbackReason = "post" | "timeout" | "refunded" | "download" | "refused" | "invalid" | "mismatch";

export interface MarketEmbedderOptions {
  market: EmbedMarket;
  /** Serves job inputs (a batch of texts is far over the inline limit) at `url/blobs/<cid>`. */
  host: InputHost;
  /** Price per job (wei of `token`). */
  price: bigint;
  token?: TokenName;
  /** The `ai/embed` model's id (hex sha256), sent as `spec.model` so a worker serving another model refuses. */
  model: string;
  dims?: number;
  /** How long to wait for a worker's delivery per job (default 10 min). */
  timeoutMs?: number;
  /** The local model: embeds batches the market did not (fallback) and re-embeds one row per job (spot check). */
  local: () => Promise<Embedder>;
  /** Decodes an `ai/embed` result (AZT1) into its rows: ai-oracle's `decodeEmbeddings`. */
  decode: (bytes: Uint8Array) => Float32Array[];
  /** The kind's row comparison (ai-oracle's cosine >= COSINE_MIN and |diff| <= MAX_ABS_DIFF). */
  agree: (a: Float32Array, b: Float32Array) => boolean;
  logger?: Logger;
  /** Texts embedded per source, for metrics: "market" (bought and verified) or "local" (fallback). */
  onTexts?: (source: "market" | "local", n: number, reason?: FallbackReason) => void;
}

class Fallback extends Error {
  constructor(
    readonly reason: FallbackReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Bulk embeddings bought on the market: texts in `ai/embed` jobs of up to 128, posted up to 64 per transaction
 * (`postMany`), each waited for, downloaded and checked against its on-chain result hash (the client does that),
 * then checked again here — one row per text, `dims` finite numbers of unit length, and one row (chosen by the job
 * id, so a worker cannot guess it) re-embedded locally and compared under the kind's rule — and only then
 * accepted (`acceptMany`, so workers are paid at once) and used. A batch whose post, job or result fails any of
 * that is embedded locally instead, with a warning and `onTexts("local", n, reason)`; a result that fails the
 * checks is not accepted (its requester may challenge it: `azora job challenge <id>`).
 */
export function createMarketEmbedder(o: MarketEmbedderOptions): Embedder {
  const dims = o.dims ?? 512;
  const log = o.logger;

  const fallback = async (texts: string[], reason: FallbackReason, message: string, job?: bigint) => {
    log?.warn("market embedding failed; embedding locally", {
      reason,
      error: message,
      texts: texts.length,
      ...(job === undefined ? {} : { job: job.toString() }),
    });
    o.onTexts?.("local", texts.length, reason);
    return (await o.local()).embed(texts);
  };

  /** Waits for one job's delivery and returns its checked rows (throws Fallback otherwise). */
  const collect = async (id: bigint, texts: string[], signal?: AbortSignal): Promise<Float32Array[]> => {
    let status: JobStatus;
    try {
      status = (
        await o.market.waitFor(id, (j) => j.status === JobStatus.Submitted || j.status >= JobStatus.Finalized, {
          timeoutMs: o.timeoutMs ?? 600_000,
          signal,
        })
      ).status;
    } catch (e) {
      // Unclaimed: cancel it, so the escrow comes back. Claimed: the worker may still deliver; the market
      // refunds it once its delivery window passes (`azora job reclaim <id>`).
      await o.market.cancel(id).catch(() => log?.warn("embedding job not cancelled", { job: id.toString() }));
      throw new Fallback("timeout", e instanceof Error ? e.message : String(e));
    }
    if (status !== JobStatus.Submitted) throw new Fallback("refunded", `job is ${JobStatus[status]}`);
    let r: Awaited<ReturnType<EmbedMarket["result"]>>;
    try {
      r = await o.market.result(id);
    } catch (e) {
      throw new Fallback("download", e instanceof Error ? e.message : String(e));
    }
    if (r.errorCode !== undefined) throw new Fallback("refused", `the worker refused the input: ${r.errorCode}`);
    let rows: Float32Array[];
    try {
      rows = o.decode(r.bytes);
    } catch (e) {
      throw new Fallback("invalid", e instanceof Error ? e.message : String(e));
    }
    if (rows.length !== texts.length) throw new Fallback("invalid", `${rows.length} vectors for ${texts.length} texts`);
    for (const v of rows) {
      if (v.length !== dims) throw new Fallback("invalid", `a ${v.length}-d vector, want ${dims}`);
      let n = 0;
      for (const x of v) n += x * x;
      if (!Number.isFinite(n) || Math.abs(Math.sqrt(n) - 1) > 1e-3) throw new Fallback("invalid", "not unit vectors");
    }
    const k = Number(id % BigInt(texts.length));
    const [mine] = await (await o.local()).embed([texts[k]]);
    if (!o.agree(mine, rows[k])) throw new Fallback("mismatch", `row ${k} disagrees with the local model`);
    return rows;
  };

  return {
    model: o.model,
    dims,
    async embed(texts, opts = {}) {
      const batches: string[][] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH) {
        batches.push(texts.slice(i, i + EMBED_BATCH).map((t) => (t === "" ? " " : t)));
      }
      const out: Float32Array[][] = new Array(batches.length);
      for (let g = 0; g < batches.length; g += JOBS_PER_TX) {
        const group = batches.slice(g, g + JOBS_PER_TX);
        let ids: bigint[];
        try {
          const posted = await o.market.postMany(
            group.map((batch) => ({
              kind: "ai/embed",
              input: new TextEncoder().encode(JSON.stringify({ texts: batch })),
              contentType: "application/json",
              params: { model: o.model.startsWith("0x") ? o.model : `0x${o.model}` },
              price: o.price,
              token: o.token ?? "AZR",
              host: o.host,
            })),
          );
          ids = posted.map((p) => p.id);
        } catch (e) {
          for (const [j, batch] of group.entries()) {
            out[g + j] = await fallback(batch, "post", e instanceof Error ? e.message : String(e));
          }
          continue;
        }
        log?.info("embedding jobs posted to the market", {
          jobs: ids.map(String),
          texts: group.reduce((a, b) => a + b.length, 0),
        });
        const settled = await Promise.allSettled(ids.map((id, j) => collect(id, group[j], opts.signal)));
        const good = ids.filter((_, j) => settled[j].status === "fulfilled");
        let accepted = new Set<bigint>();
        if (good.length > 0) {
          try {
            const r = await o.market.acceptMany(good);
            accepted = new Set(r.accepted);
            for (const s of r.skipped)
              log?.warn("embedding job not accepted", { job: s.id.toString(), error: s.error });
          } catch (e) {
            log?.warn("acceptMany failed", { error: e instanceof Error ? e.message : String(e) });
          }
        }
        for (const [j, s] of settled.entries()) {
          const id = ids[j];
          if (s.status === "fulfilled") {
            // Verified vectors are used even if accepting failed: the job then finalizes after its challenge window.
            if (!accepted.has(id)) log?.warn("embedding job delivered but not accepted", { job: id.toString() });
            out[g + j] = s.value;
            o.onTexts?.("market", group[j].length);
          } else {
            const f = s.reason instanceof Fallback ? s.reason : new Fallback("invalid", String(s.reason));
            out[g + j] = await fallback(group[j], f.reason, f.message, id);
          }
        }
      }
      return out.flat();
    },
    async close() {},
  };
}
