export { type DecodeContext, decodeRawTransaction } from "./decode.js";
export { isMempoolError, MempoolError, MempoolErrorCode, type MempoolErrorType, type PoolLimit } from "./errors.js";
export { Mempool, type MempoolModules, type OnNewHeadOpts } from "./mempool.js";
export { DEFAULT_MAX_TX_BYTES, DEFAULT_MEMPOOL_OPTIONS, type MempoolOptions } from "./options.js";
export { ParallelDecoder } from "./parallelDecoder.js";
export { effectiveTip } from "./selection.js";
export type {
  AccountState,
  AddResult,
  AddStatus,
  MempoolContent,
  MempoolStateReader,
  MempoolStats,
  PooledTx,
  SelectForBlockOpts,
} from "./types.js";
