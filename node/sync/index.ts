export {
  BlockSync,
  type BlockSyncModules,
  type BlockSyncOptions,
  DEFAULT_BLOCK_SYNC_OPTIONS,
  type SyncChain,
  type SyncMetrics,
  type SyncNetwork,
} from "./blockSync.js";
export { decodeSyncItem, encodeSyncItem, encodeSyncItemRaw } from "./codec.js";
export { type CommitChecks, decodedTransactions, type VerifiedSignature, verifiedSignatures } from "./commitChecks.js";
export { CommitPrecheck } from "./commitPrecheck.js";
export { SyncError, SyncErrorCode, type SyncErrorType } from "./errors.js";
export { createSyncMetrics } from "./metrics.js";
export { SyncServer } from "./server.js";
export { DEFAULT_SYNC_PEERS_OPTIONS, SyncFailure, SyncPeers, type SyncPeersOptions } from "./syncPeers.js";
export { type SyncVerifyContext, type VerifiedBlock, verifyStatusProof, verifySyncItems } from "./verify.js";
