/** What `azora search serve` loads on use (fastify, the store, the indexer): config and the service. */
export { loadSearchConfigFile, resolveSearchConfig, type SearchConfig, SearchConfigSchema } from "./config.js";
export { type SearchService, startSearchService } from "./server.js";
