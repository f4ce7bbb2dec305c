/**
 * What the indexer writes for one block and what the API reads back. Addresses and hashes are lowercase 0x hex;
 * amounts (wei, token units) are decimal strings, since they exceed 2^53 and SQLite has no 256-bit integers.
 */
export interface BlockRow {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
  miner: string;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas: string | null;
  txCount: number;
}

export interface TxRow {
  hash: string;
  blockNumber: number;
  txIndex: number;
  from: string;
  /** null for a contract creation. */
  to: string | null;
  value: string;
  input: string;
  nonce: number;
  gasLimit: string;
  gasPrice: string;
  gasUsed: string;
  /** 1 success, 0 reverted. */
  status: number;
  contractAddress: string | null;
  /** First four bytes of the input (0x + 8 hex), null for plain transfers and creations. */
  methodId: string | null;
  /** Revert reason from the trace (Error(string) decoded, else the raw error), null on success. */
  error: string | null;
  timestamp: number;
}

export interface LogRow {
  txHash: string;
  blockNumber: number;
  logIndex: number;
  address: string;
  topics: string[];
  data: string;
  /** Event name when the ABI is known at index time (standard tokens, native modules). */
  event: string | null;
}

export type TokenStandard = "erc20" | "erc721" | "erc1155";

export interface TransferRow {
  txHash: string;
  blockNumber: number;
  logIndex: number;
  /** Index within an ERC-1155 TransferBatch (0 otherwise). */
  batchIndex: number;
  token: string;
  standard: TokenStandard;
  from: string;
  to: string;
  /** null for ERC-20. */
  tokenId: string | null;
  amount: string;
  timestamp: number;
}

export interface InternalCallRow {
  txHash: string;
  blockNumber: number;
  /** Pre-order position in the call tree; 0 is the transaction's own call. */
  callIndex: number;
  depth: number;
  type: string;
  from: string;
  to: string | null;
  value: string;
  gasUsed: string;
  input: string;
  output: string | null;
  error: string | null;
}

export interface ContractRow {
  address: string;
  creator: string;
  txHash: string;
  blockNumber: number;
  /** The creation input (init code + constructor arguments) of the call that created it. */
  creationInput: string;
}

export interface TokenRow {
  address: string;
  standard: TokenStandard;
  name: string | null;
  symbol: string | null;
  decimals: number | null;
}

export interface BalanceRow {
  address: string;
  /** Native balance in wei at `blockNumber`. */
  balance: string;
  blockNumber: number;
}

/** One block with everything derived from it: the unit of indexing, written in one transaction with the cursor. */
export interface IndexedBlock {
  block: BlockRow;
  txs: TxRow[];
  logs: LogRow[];
  transfers: TransferRow[];
  internalCalls: InternalCallRow[];
  contracts: ContractRow[];
  /** Tokens first seen in this block. */
  tokens: TokenRow[];
  /** Native balances of every address this block touched, read at this block. */
  balances: BalanceRow[];
}

export interface HoldingRow {
  token: string;
  holder: string;
  /** "" for fungible (ERC-20) holdings. */
  tokenId: string;
  balance: string;
}

export type VerificationMatch = "full" | "partial";

export interface VerificationRow {
  address: string;
  match: VerificationMatch;
  contractName: string;
  compilerVersion: string;
  abi: unknown[];
  /** Standard JSON input as submitted (sources + settings). */
  input: unknown;
  constructorArgs: string;
  verifiedAt: number;
}

// ---- the platform pages (native modules read through their views; history from indexed events) ----

/** One decoded module event, with where it happened. */
export interface ModuleEvent {
  txHash: string;
  blockNumber: number;
  logIndex: number;
  timestamp: number | null;
  event: string;
  args: Record<string, unknown>;
}

export interface Validator {
  operator: string;
  moniker: string;
  consensusAddress: string;
  consensusPubKey: string;
  commissionBps: number;
  tokens: string;
  selfStake: string;
  delegated: string;
  unbonding: string;
  power: number;
  active: boolean;
  jailed: boolean;
  tombstoned: boolean;
  jailedUntil: number;
  missedBlocks: number;
}

export interface Proposal {
  id: number;
  proposer: string;
  status: string;
  actions: { kind: string; key: string; value: string; target: string; info: string }[];
  descriptionURI: string;
  submitTime: number;
  depositEnd: number;
  votingStart: number;
  votingEnd: number;
  executableAt: number;
  totalDeposit: string;
  tally: { yes: string; no: string; noWithVeto: string; abstain: string };
}

export interface Escrow {
  id: number;
  payer: string;
  payee: string;
  arbiter: string;
  token: string;
  amount: string;
  deadline: number;
  terms: string;
  status: string;
}

export interface Job {
  id: number;
  requester: string;
  status: string;
  kind: string;
  specURI: string;
  token: string;
  price: string;
  redundancy: number;
  verification: string;
  arbiter: string;
  postedAt: number;
  claimWindow: number;
  deliverWindow: number;
  challengeWindow: number;
  challengeEnds: number;
  fee: string;
  slots: {
    worker: string;
    status: string;
    claimedAt: number;
    deliverBy: number;
    resultHash: string;
    resultURI: string;
  }[];
  challenger: string;
}
