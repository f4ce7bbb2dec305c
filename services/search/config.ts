/**
 * Search service configuration: one TypeBox schema is the type, the defaults, the validation and the documentation
 * of every key (the README table is this schema). Precedence: defaults < config file (JSON) < flags.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { readConfigFile, resolveTypedConfig } from "../runtime/typedConfig.js";

export const SearchConfigSchema = Type.Object(
  {
    dataDir: Type.String({ default: "./data/search", description: "embedded indexes, tasks, payments journal" }),
    backend: Type.Union([Type.Literal("sqlite"), Type.Literal("postgres")], {
      default: "sqlite",
      description: "sqlite: embedded (FTS5 + usearch HNSW); postgres: a PostgreSQL server (postgres.url)",
    }),
    postgres: Type.Object(
      {
        url: Type.String({ default: "postgres://postgres@127.0.0.1:5432/postgres" }),
        schema: Type.String({ default: "azora_search", description: "schema holding the tables (created)" }),
        poolSize: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
      },
      { default: {}, additionalProperties: false },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 7700, description: "0 = any free port" }),
        bodyLimitBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
      },
      { default: {}, additionalProperties: false },
    ),
    apiKey: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          "if set, index and document changes need `Authorization: Bearer <key>`, and its holder queries paid indexes free",
      }),
    ),
    modelsDir: Type.Optional(
      Type.String({ description: "ai/embed model files (default $AZORA_MODELS_DIR or data/models)" }),
    ),
    rpc: Type.String({ default: "http://127.0.0.1:8545", description: "the node's JSON-RPC (indexer, payments)" }),
    ws: Type.Optional(Type.String({ description: "the node's WebSocket (default: rpc as ws://)" })),
    indexer: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: "follow the chain and index its content" }),
        index: Type.String({ default: "chain", description: "the index chain documents go to (created)" }),
        gateway: Type.String({
          default: "http://127.0.0.1:8080",
          description: "storage gateway for ipfs:// metadata (GET /ipfs/<cid>)",
        }),
        marketplaces: Type.Array(Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" }), {
          default: [],
          description: "CourseMarketplace contracts whose listings are indexed",
        }),
        fromBlock: Type.Integer({ minimum: 0, default: 0, description: "first block on a fresh start" }),
        batchBlocks: Type.Integer({ minimum: 1, maximum: 10_000, default: 500, description: "blocks per getLogs" }),
        semantic: Type.Boolean({ default: true, description: "embed chain documents (ai/embed) for semantic search" }),
      },
      { default: {}, additionalProperties: false },
    ),
    embeddings: Type.Object(
      {
        bulk: Type.Union([Type.Literal("local"), Type.Literal("market")], {
          default: "local",
          description:
            "who embeds large document batches: local (this process) or market (ai/embed jobs, verified; queries stay local)",
        }),
        bulkMin: Type.Integer({
          minimum: 1,
          default: 64,
          description: "documents needing vectors in one task from which the bulk embedder is used",
        }),
        market: Type.Object(
          {
            price: Type.String({
              pattern: "^[0-9]+$",
              default: "10000000000000000",
              description: "wei per job (≤128 texts)",
            }),
            token: Type.Union([Type.Literal("AZR"), Type.Literal("LEARN")], { default: "AZR" }),
            keyFile: Type.Optional(Type.String({ description: "the requester's key (0x hex or JSON keystore)" })),
            devAccount: Type.Optional(
              Type.Integer({ minimum: 0, maximum: 9, description: "devnet key n as requester" }),
            ),
            timeoutMs: Type.Integer({ minimum: 1000, default: 600_000, description: "wait for a delivery per job" }),
            publicUrl: Type.Optional(
              Type.String({ description: "URL workers fetch job inputs from (default: the service's URL)" }),
            ),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    payments: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description: "charge for queries on indexes with pricePerQuery > 0 (receipts, vouchers redeemed on chain)",
        }),
        keyFile: Type.Optional(Type.String({ description: "the payee's key (0x hex or JSON keystore)" })),
        devAccount: Type.Optional(Type.Integer({ minimum: 0, maximum: 9, description: "devnet key n as payee" })),
        voucherEvery: Type.Integer({ minimum: 1, default: 10, description: "receipts between voucher requests" }),
        redeemEveryMs: Type.Integer({ minimum: 1000, default: 60_000, description: "redemption interval" }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.String({ default: "info" }),
        format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("pretty")])),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type SearchConfig = Static<typeof SearchConfigSchema>;
export type SearchConfigInput = Partial<Record<keyof SearchConfig, unknown>>;

/**
 * Defaults, then the file's keys, then flags (services/runtime/typedConfig.ts); a relative dataDir given by the
 * file is relative to the file's directory. Throws ConfigInvalidError naming the first bad key (`http.port`).
 */
export function resolveSearchConfig(file: unknown, flags: SearchConfigInput = {}, baseDir?: string): SearchConfig {
  const input = file as SearchConfigInput | undefined;
  const cfg = resolveTypedConfig(SearchConfigSchema, input, flags);
  if (baseDir !== undefined && typeof input?.dataDir === "string" && !isAbsolute(cfg.dataDir)) {
    cfg.dataDir = resolve(baseDir, cfg.dataDir);
  }
  return cfg;
}

/** The config file's keys (a JSON object, else ConfigInvalidError) and the directory its relative paths start at. */
export function loadSearchConfigFile(path: string): { input: Record<string, unknown>; baseDir: string } {
  return { input: readConfigFile(path), baseDir: dirname(resolve(path)) };
}
