import { AzoraError } from "../../runtime/lib/errors.js";

/**
 * Why a transaction was refused by decoding or pool admission. Each message below is geth's exact
 * text, because wallets and SDKs (ethers, viem, MetaMask) match on those strings to decide whether
 * to bump the fee, wait or give up.
 */
export enum MempoolErrorCode {
  /** Raw bytes are not a decodable transaction; the message carries the reason. */
  INVALID_TX = "MEMPOOL_INVALID_TX",
  OVERSIZED_DATA = "MEMPOOL_OVERSIZED_DATA",
  /** Type 3 (blob: Azora carries no blobs) and unknown types. */
  TX_TYPE_NOT_SUPPORTED = "MEMPOOL_TX_TYPE_NOT_SUPPORTED",
  /** Legacy transaction signed without EIP-155 chain id. */
  UNPROTECTED_TX = "MEMPOOL_UNPROTECTED_TX",
  INVALID_CHAIN_ID = "MEMPOOL_INVALID_CHAIN_ID",
  INVALID_SENDER = "MEMPOOL_INVALID_SENDER",
  INTRINSIC_GAS_TOO_LOW = "MEMPOOL_INTRINSIC_GAS_TOO_LOW",
  /** EIP-7623 (Prague): gas limit below the calldata floor cost. */
  FLOOR_DATA_GAS_TOO_LOW = "MEMPOOL_FLOOR_DATA_GAS_TOO_LOW",
  TIP_ABOVE_FEE_CAP = "MEMPOOL_TIP_ABOVE_FEE_CAP",
  ALREADY_KNOWN = "MEMPOOL_ALREADY_KNOWN",
  GAS_LIMIT_EXCEEDED = "MEMPOOL_GAS_LIMIT_EXCEEDED",
  UNDERPRICED = "MEMPOOL_UNDERPRICED",
  NONCE_TOO_LOW = "MEMPOOL_NONCE_TOO_LOW",
  /** Nonce beyond what the sender's slots could ever hold (state nonce + accountSlots + accountQueue). */
  NONCE_TOO_HIGH = "MEMPOOL_NONCE_TOO_HIGH",
  INSUFFICIENT_FUNDS = "MEMPOOL_INSUFFICIENT_FUNDS",
  REPLACEMENT_UNDERPRICED = "MEMPOOL_REPLACEMENT_UNDERPRICED",
  POOL_FULL = "MEMPOOL_POOL_FULL",
}

/** Which bound a `POOL_FULL` hit, for metrics labels and logs. */
export type PoolLimit = "accountQueue" | "globalSlots" | "globalQueue";

export type MempoolErrorType =
  | { code: MempoolErrorCode.INVALID_TX; reason: string }
  | { code: MempoolErrorCode.OVERSIZED_DATA; size: number; maxSize: number }
  | { code: MempoolErrorCode.TX_TYPE_NOT_SUPPORTED; txType: number }
  | { code: MempoolErrorCode.UNPROTECTED_TX }
  | { code: MempoolErrorCode.INVALID_CHAIN_ID; chainId: bigint | null; expected: bigint }
  | { code: MempoolErrorCode.INVALID_SENDER }
  | { code: MempoolErrorCode.INTRINSIC_GAS_TOO_LOW; gasLimit: bigint; intrinsicGas: bigint }
  | { code: MempoolErrorCode.FLOOR_DATA_GAS_TOO_LOW; gasLimit: bigint; floorGas: bigint }
  | { code: MempoolErrorCode.TIP_ABOVE_FEE_CAP; maxPriorityFeePerGas: bigint; maxFeePerGas: bigint }
  | { code: MempoolErrorCode.ALREADY_KNOWN; hash: string }
  | { code: MempoolErrorCode.GAS_LIMIT_EXCEEDED; gasLimit: bigint; blockGasLimit: bigint }
  | { code: MempoolErrorCode.UNDERPRICED; maxFeePerGas: bigint; minBaseFeePerGas: bigint }
  | { code: MempoolErrorCode.NONCE_TOO_LOW; nonce: bigint; stateNonce: bigint }
  | { code: MempoolErrorCode.NONCE_TOO_HIGH; nonce: bigint; maxNonce: bigint }
  | { code: MempoolErrorCode.INSUFFICIENT_FUNDS; balance: bigint; need: bigint }
  | { code: MempoolErrorCode.REPLACEMENT_UNDERPRICED; hash: string }
  | { code: MempoolErrorCode.POOL_FULL; limit: PoolLimit };

const MESSAGES: Record<Exclude<MempoolErrorCode, MempoolErrorCode.INVALID_TX>, string> = {
  [MempoolErrorCode.OVERSIZED_DATA]: "oversized data",
  [MempoolErrorCode.TX_TYPE_NOT_SUPPORTED]: "transaction type not supported",
  [MempoolErrorCode.UNPROTECTED_TX]: "only replay-protected (EIP-155) transactions allowed over RPC",
  [MempoolErrorCode.INVALID_CHAIN_ID]: "invalid chain id",
  [MempoolErrorCode.INVALID_SENDER]: "invalid sender",
  [MempoolErrorCode.INTRINSIC_GAS_TOO_LOW]: "intrinsic gas too low",
  [MempoolErrorCode.FLOOR_DATA_GAS_TOO_LOW]: "insufficient gas for floor data gas cost",
  [MempoolErrorCode.TIP_ABOVE_FEE_CAP]: "max priority fee per gas higher than max fee per gas",
  [MempoolErrorCode.ALREADY_KNOWN]: "already known",
  [MempoolErrorCode.GAS_LIMIT_EXCEEDED]: "exceeds block gas limit",
  [MempoolErrorCode.UNDERPRICED]: "transaction underpriced",
  [MempoolErrorCode.NONCE_TOO_LOW]: "nonce too low",
  [MempoolErrorCode.NONCE_TOO_HIGH]: "nonce too high",
  [MempoolErrorCode.INSUFFICIENT_FUNDS]: "insufficient funds for gas * price + value",
  [MempoolErrorCode.REPLACEMENT_UNDERPRICED]: "replacement transaction underpriced",
  [MempoolErrorCode.POOL_FULL]: "txpool is full",
};

/** `message` is exactly geth's text; structured details stay in `type` so the message never varies. */
export class MempoolError extends AzoraError<MempoolErrorType> {
  constructor(type: MempoolErrorType) {
    super(type, type.code === MempoolErrorCode.INVALID_TX ? type.reason : MESSAGES[type.code]);
  }
}

export function isMempoolError(err: unknown): err is MempoolError {
  return err instanceof MempoolError;
}
