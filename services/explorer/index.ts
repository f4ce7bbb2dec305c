/** Azora Explorer: the public surface of `services/explorer/`. */
export { type ExplorerConfig, ExplorerConfigSchema, resolveExplorerConfig } from "./config.js";
export { ExplorerError, ExplorerErrorCode } from "./errors.js";
export { Indexer } from "./indexer.js";
export { type ExplorerService, openDriver, startExplorer } from "./server.js";
export { ExplorerStore } from "./store.js";
