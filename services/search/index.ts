/** Azora Search: the public surface of `services/search/`. */
import type { PostgresOptions } from "./engine/postgres/pgStore.js";
import type { SQLiteOptions } from "./engine/sqlite/sqliteStore.js";
import type { SearchStore } from "./store.js";

export { EMBED_BATCH, type Embedder } from "./embedder.js";
export { fuseRRF, MAX_LIMIT, RRF_K, SearchEngine, type SearchParams, type SearchResponse } from "./engine.js";
export { SearchError, SearchErrorCode } from "./errors.js";
export { createMarketEmbedder, type EmbedMarket, type FallbackReason } from "./marketEmbedder.js";
export { type Filter, parseFilter } from "./query/filter.js";
export { type IndexSettings, IndexSettingsSchema, resolveSettings } from "./settings.js";
export type { Hit, IndexInfo, SearchStore, TaskRow } from "./store.js";
export { tokenize } from "./text/normalize.js";
export { typoBudget, typoDistance } from "./text/typo.js";

export type StoreConfig =
  | { backend: "sqlite"; dataDir: string; options?: SQLiteOptions }
  | { backend: "postgres"; postgres: PostgresOptions };

/** Opens the configured backend (PostgreSQL's client is loaded only when used). */
export async function openStore(cfg: StoreConfig): Promise<SearchStore> {
  if (cfg.backend === "sqlite") {
    const { SQLiteStore } = await import("./engine/sqlite/sqliteStore.js");
    return new SQLiteStore(cfg.dataDir, cfg.options);
  }
  const { PostgresStore } = await import("./engine/postgres/pgStore.js");
  return PostgresStore.open(cfg.postgres);
}
