export type {
  BackendKind,
  CatOptions,
  DirEntry,
  EntryStat,
  EntryType,
  ImportEntry,
  ReadOptions,
  StorageBackend,
} from "./backend.js";
export { IMPORT_PARAMS } from "./backend.js";
export {
  loadStorageConfigFile,
  resolveStorageConfig,
  type StorageConfig,
  StorageConfigError,
  StorageConfigErrorCode,
  type StorageConfigInput,
  StorageConfigSchema,
} from "./config.js";
export { isStorageError, StorageError, StorageErrorCode, type StorageErrorType } from "./errors.js";
export { sniffType, typeFromName } from "./gateway/contentType.js";
export { ipfsURIToPath, parseCID, parsePathSegments } from "./gateway/paths.js";
export { type GatewayOptions, IMMUTABLE, storageGateway } from "./gateway/plugin.js";
export { decideRange, type RangeDecision } from "./gateway/range.js";
export { storageUploads, type UploadOptions, type UploadResult } from "./gateway/uploads.js";
export { createHeliaBackend, type HeliaBackendOptions } from "./helia/heliaBackend.js";
export { createKuboBackend, type KuboBackendOptions } from "./kubo/kuboBackend.js";
export { createStorageMetrics, type StorageMetrics } from "./metrics.js";
export {
  type BlockSource,
  backendSource,
  type DownloadProgress,
  type DownloadResult,
  downloadVerified,
  gatewaySource,
  MAX_BLOCK_BYTES,
  readVerified,
  verifyBlock,
} from "./retrieve.js";
export {
  createStorageBackend,
  registerStorageRoutes,
  type StorageService,
  startStorageService,
} from "./server.js";
export { type UploadClientOptions, uploadFile } from "./uploadClient.js";
