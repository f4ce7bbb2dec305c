/** The worker runtime shared by every Azora worker (AI inference, and later video, search, mail). */

export { createTestHashHandler, TEST_HASH_KIND } from "./builtin/testHash.js";
export { createHeadWatcher, type Head, type HeadWatcher } from "./chain/heads.js";
export {
  AZR_TOKEN,
  claimBondFor,
  commitmentOf,
  escrowFor,
  JobStatus,
  type JobView,
  kindFromBytes32,
  kindToBytes32,
  LEARN_ADDRESS,
  MARKET_ADDRESS,
  type MarketParams,
  MarketReader,
  SlotStatus,
  Verification,
  type WorkerInfo,
} from "./chain/market.js";
export { createRPCClient, type RPCClient, RPCError } from "./chain/rpcClient.js";
export { type TxIntent, TxManager, type TxOutcome } from "./chain/txManager.js";
export {
  loadConfigFile,
  loadWallet,
  resolveWorkerConfig,
  tokenUnits,
  type WorkerConfig,
  WorkerConfigSchema,
  wsURLOf,
} from "./config.js";
export { type BlobServer, createBlobServer, registerBlobRoutes } from "./content/blobRoutes.js";
export { type BlobStore, createFileBlobStore } from "./content/blobStore.js";
export { cidFromSha256, cidInURI, cidOf, parseCID, sha256Hex } from "./content/cid.js";
export { fetchURI, fetchVerified } from "./content/fetcher.js";
export {
  ContentError,
  ContentErrorCode,
  SpecError,
  SpecErrorCode,
  TxError,
  TxErrorCode,
  WorkerConfigError,
} from "./errors.js";
export type { CheckContext, CheckResult, JobContext, JobHandler, JobInput, JobOutput } from "./handler.js";
export { JobInputError } from "./handler.js";
export { Journal } from "./journal.js";
export { ERROR_RESULT_CONTENT_TYPE, errorCodeOf, errorResult } from "./result.js";
export { type RunningWorker, startWorkerService } from "./service.js";
export { type JobSpecDocument, loadSpec, paramsOf, specFor } from "./spec.js";
