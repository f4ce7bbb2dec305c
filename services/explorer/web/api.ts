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
