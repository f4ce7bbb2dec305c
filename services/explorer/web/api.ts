/**
 * The explorer's `/v1` REST API as the web UI sees it: the JSON shapes (the row types are the server's own, from
 * `../types.ts`; the rest are what `views.ts` assembles) and one fetch helper.
 */
import type { BlockRow, TokenRow, TransferRow, TxRow } from "../types.js";

export type Block = BlockRow;
export type Tx = TxRow;
export type Token = TokenRow;
export type Transfer = TransferRow;

export interface Decoded {
  name: string;
  signature: string;
  args: Record<string, unknown>;
}
export interface InternalCall {
  depth: number;
  type: string;
  from: string;
  to: string | null;
  value: string;
  gasUsed: string;
  error: string | null;
  decoded: Decoded | null;
}
export interface TxDetail extends Tx {
  decodedInput: Decoded | null;
  logs: { logIndex: number; address: string; topics: string[]; data: string; decoded: Decoded | null }[];
  internalCalls: InternalCall[];
  transfers: Transfer[];
}
export interface Holding {
  token: string;
  tokenId: string;
  balance: string;
  tokenInfo: Token | null;
}
export interface AddressDetail {
  address: string;
  balance: string;
  txCount: number;
  isContract: boolean;
  nativeModule: string | null;
  contract: { creator: string; txHash: string; blockNumber: number } | null;
  verification: { match: string; contractName: string; compilerVersion: string } | null;
  token: Token | null;
  tokens: Holding[];
  nfts: Holding[];
}

export class NotFound extends Error {}

export async function api<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: "application/json" } });
  if (r.status === 404) throw new NotFound(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** `/v1/tokens/:address`: a token or collection with its holder count. */
export interface TokenDetail extends Token {
  holders: number;
}
/** `/v1/tokens/:address/holders`: one row per holder (and token id for a collection). */
export interface HolderRow {
  holder: string;
  tokenId: string;
  balance: string;
}
/** `/v1/nfts/:token/:id`: sanitised metadata; `imageUrl` is on the IPFS gateway's origin or null. */
export interface NftMetadata {
  tokenUri: string | null;
  name: string | null;
  description: string | null;
  image: string | null;
  imageUrl: string | null;
  problem: string | null;
}
/** `/v1/stats/blocks`: one point per block, oldest first. */
export interface BlockStat {
  number: number;
  timestamp: number;
  txCount: number;
  gasUsed: string;
  gasLimit: string;
  intervalS: number | null;
  lagMs: number | null;
}
/** `/v1/contracts/:address/abi`: a verified contract's ABI, else a native module's. */
export interface ContractAbi {
  source: "verified" | "native";
  name: string;
  abi: unknown[];
}
export interface CallAnswer {
  result: string | null;
  error: { message: string; data: string | null } | null;
}

/** A read-only call through the explorer's `eth_call` proxy. */
export async function ethCall(to: string, data: string): Promise<CallAnswer> {
  const r = await fetch("/v1/call", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ to, data }),
  });
  if (!r.ok) throw new Error(`/v1/call: HTTP ${r.status}`);
  return (await r.json()) as CallAnswer;
}
