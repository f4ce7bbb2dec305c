import type { TypedTransaction } from "@ethereumjs/tx";

/** A decoded, signature-checked transaction as the pool stores it. Fee fields are normalised across types. */
export interface PooledTx {
  readonly tx: TypedTransaction;
  /** The exact bytes received (EIP-2718 envelope for typed txs); gossip and block bodies reuse them. */
  readonly raw: Uint8Array;
  /** 0x-prefixed lowercase keccak256 of `raw`. */
  readonly hash: string;
  /** 0x-prefixed lowercase recovered sender. */
  readonly sender: string;
  readonly nonce: bigint;
  readonly gasLimit: bigint;
  /** For legacy and EIP-2930 txs both fee fields equal `gasPrice`. */
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  readonly value: bigint;
  /** Worst-case debit: gasLimit * maxFeePerGas + value. */
  readonly cost: bigint;
  /** `raw.length` in bytes. */
  readonly size: number;
  /** EIP-2718 type: 0, 1, 2 or 4. */
  readonly type: number;
  /** When the tx entered this pool, in ms from the injected clock. */
  readonly receivedAt: number;
}

/** Read access to the committed head state. Owned here because the mempool is its consumer. */
export interface MempoolStateReader {
  /** The account's nonce and balance, from one read (admission and a head's re-check need both). */
  getAccount(address: string): Promise<AccountState>;
}

export interface AccountState {
  nonce: bigint;
  balance: bigint;
}

export type AddStatus = "pending" | "queued" | "replaced";

export interface AddResult {
  hash: string;
  status: AddStatus;
}

export interface MempoolStats {
  pending: number;
  queued: number;
}

/** Snapshot for `txpool_content`: per sender, txs in nonce order. */
export interface MempoolContent {
  pending: Map<string, PooledTx[]>;
  queued: Map<string, PooledTx[]>;
}

export interface SelectForBlockOpts {
  baseFeePerGas: bigint;
  gasLimit: bigint;
  maxTxs?: number;
}
