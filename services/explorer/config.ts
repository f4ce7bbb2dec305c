/**
 * Explorer configuration: one TypeBox schema is the type, the defaults, the validation and the documentation of
 * every key (services/explorer/README.md lists it). Precedence: defaults < config file (JSON) < flags.
 */
import { type Static, Type } from "@sinclair/typebox";
import { resolveTypedConfig } from "../runtime/typedConfig.js";

export const ExplorerConfigSchema = Type.Object(
  {
    rpc: Type.String({ default: "http://127.0.0.1:8545", description: "the node's JSON-RPC (HTTP)" }),
    ws: Type.Optional(Type.String({ description: "the node's WebSocket for newHeads (default: rpc as ws://)" })),
    db: Type.String({
      default: "./data/explorer/explorer.sqlite",
      description: "a SQLite file, or a postgres:// URL",
    }),
    pgSchema: Type.String({ default: "azora_explorer", description: "PostgreSQL schema holding the tables" }),
    ipfsGateway: Type.Optional(
      Type.String({
        // an origin only: it goes into the CSP's img-src, so no spaces, semicolons or paths
        pattern: "^https?://[A-Za-z0-9.\\-]+(:[0-9]{1,5})?/?$",
        description:
          "an IPFS gateway origin (e.g. Azora storage's, http://127.0.0.1:8080) for NFT metadata and images; " +
          "unset: NFTs show their token URI without an image",
      }),
    ),
    http: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 4000, description: "0 = any free port" }),
      },
      { default: {}, additionalProperties: false },
    ),
    indexer: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "follow the chain (false: serve what is stored)" }),
        fromBlock: Type.Integer({ minimum: 0, default: 0, description: "first block on an empty database" }),
        batchBlocks: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 50,
          description: "blocks fetched and stored per transaction",
        }),
        pollMs: Type.Integer({ minimum: 50, default: 2000, description: "head polling when the WebSocket is down" }),
      },
      { default: {}, additionalProperties: false },
    ),
    search: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            description: "Azora Search's HTTP API; unset = the search page shows structured matches only",
          }),
        ),
        apiKey: Type.Optional(
          Type.String({ description: "Azora Search's API key (config file or AZORA_SEARCH_API_KEY)" }),
        ),
        index: Type.String({ default: "azora-explorer", description: "the Azora Search index the explorer fills" }),
        syncMs: Type.Integer({
          minimum: 100,
          default: 5000,
          description: "push new verified contracts, tokens and proposals at least this often",
        }),
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

export type ExplorerConfig = Static<typeof ExplorerConfigSchema>;

export function resolveExplorerConfig(file: object | undefined, flags: object): ExplorerConfig {
  return resolveTypedConfig(ExplorerConfigSchema, file, flags);
}

/** The WebSocket URL the node serves on its RPC port. */
export function wsOf(cfg: ExplorerConfig): string {
  return cfg.ws ?? cfg.rpc.replace(/^http/, "ws");
}
