/**
 * `azora explorer`: run Azora Explorer (indexer + API) against a node. Only wiring lives here — flags to config,
 * logger, output, signals; the work is in `services/explorer/`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { readConfigFile } from "../services/runtime/typedConfig.js";
import { printBanner } from "./banner.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";
import { VERSION } from "./version.js";

const lib = () => import("../services/explorer/index.js");

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};

interface ExplorerFlags {
  config?: string;
  rpc?: string;
  ws?: string;
  db?: string;
  pgSchema?: string;
  host?: string;
  port?: number;
  index?: boolean;
  fromBlock?: number;
  batchBlocks?: number;
  ipfsGateway?: string;
  searchUrl?: string;
  searchIndex?: string;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
}

export function registerExplorerCommands(program: Command): void {
  program
    .command("explorer")
    .description("Run Azora Explorer: index the chain from a node and serve its REST and Etherscan-compatible API")
    .option("-c, --config <file>", "explorer config JSON (keys in services/explorer/README.md; flags override it)")
    .option("--rpc <url>", "node JSON-RPC (default http://127.0.0.1:8545)")
    .option("--ws <url>", "node WebSocket for newHeads (default: --rpc as ws://)")
    .option("--db <file|url>", "SQLite file (default ./data/explorer/explorer.sqlite) or postgres://user@host/db")
    .option("--pg-schema <name>", "PostgreSQL schema for the tables (default azora_explorer)")
    .option("--host <host>", "HTTP listen address (default 127.0.0.1)")
    .option("--port <port>", "HTTP port (default 4000; 0 = any free)", int("--port"))
    .option("--no-index", "serve what is stored without following the chain")
    .option("--from-block <n>", "first block on an empty database (default 0)", int("--from-block"))
    .option("--batch-blocks <n>", "blocks fetched and stored per transaction (default 50)", int("--batch-blocks"))
    .option("--ipfs-gateway <url>", "IPFS gateway origin for NFT metadata and images (default: none, no images)")
    .option(
      "--search-url <url>",
      "Azora Search HTTP API for full-text search (key: search.apiKey or AZORA_SEARCH_API_KEY)",
    )
    .option("--search-index <name>", "the Azora Search index the explorer fills (default azora-explorer)")
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "json or pretty (default: pretty on a terminal)").choices(["json", "pretty"]),
    )
    .action(async (f: ExplorerFlags) => {
      const { resolveExplorerConfig, startExplorer } = await lib();
      const cfg = resolveExplorerConfig(f.config === undefined ? undefined : readConfigFile(f.config), {
        rpc: f.rpc,
        ws: f.ws,
        db: f.db,
        pgSchema: f.pgSchema,
        ipfsGateway: f.ipfsGateway,
        http: { host: f.host, port: f.port },
        indexer: {
          enabled: f.index === false ? false : undefined,
          fromBlock: f.fromBlock,
          batchBlocks: f.batchBlocks,
        },
        search: { url: f.searchUrl, index: f.searchIndex, apiKey: process.env.AZORA_SEARCH_API_KEY },
        log: { level: f.logLevel, format: f.logFormat },
      });
      const { logger, flush } = createLogger({ level: cfg.log.level as LogLevel, format: cfg.log.format });
      const svc = await startExplorer(cfg, { log: logger.child({ module: "explorer" }), version: VERSION });
      const db = /^postgres(ql)?:/.test(cfg.db) ? `${cfg.db.replace(/\/\/[^@/]*@/, "//…@")} (${cfg.pgSchema})` : cfg.db;
      printBanner(`Azora Explorer v${VERSION}`, [
        ["Web UI", `${svc.url}/`],
        ["API", `${svc.url}/v1   (OpenAPI ${svc.url}/openapi.json)`],
        ["Etherscan", `${svc.url}/api   (Hardhat/Foundry verify: apiURL ${svc.url}/api)`],
        ["Health", `${svc.url}/health`],
        ["Metrics", `${svc.url}/metrics`],
        ["Chain", cfg.indexer.enabled ? cfg.rpc : "(not followed: --no-index)"],
        ["Database", db],
        [
          "Search",
          cfg.search.url === undefined
            ? "structured matches only (no --search-url)"
            : `${cfg.search.url} index ${cfg.search.index}`,
        ],
      ]);
      stopOnSignals({ close: () => svc.close(), logger, flush });
    });
}
