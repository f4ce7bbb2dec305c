/**
 * JSON-RPC batching and answer decoding shared by the block fetcher and the genesis seed: batches kept under the
 * node's per-batch cost budget, a missing answer as a typed error, ABI-encoded strings and small integers.
 */
import { AbiCoder, decodeBytes32String } from "ethers";
import { type RPCClient, RPCError } from "../runtime/chain/rpcClient.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";

/** Calls per JSON-RPC batch, by what they cost the node (its default budget is 5,000 units and 1,000 calls). */
export const TRACE_BATCH = 40;
export const PLAIN_BATCH = 500;
export const CALL_BATCH = 300;

export const hexNum = (h: string | undefined) => (h === undefined ? 0 : Number(BigInt(h)));
export const hexDec = (h: string | undefined) => (h === undefined ? "0" : BigInt(h).toString());
/** A block number as a JSON-RPC quantity. */
export const quantity = (n: number) => `0x${n.toString(16)}`;

export async function batched<T>(
  rpc: RPCClient,
  calls: [string, unknown[]][],
  size: number,
): Promise<(T | RPCError)[]> {
  const out: (T | RPCError)[] = [];
  for (let i = 0; i < calls.length; i += size) out.push(...(await rpc.batch<T>(calls.slice(i, i + size))));
  return out;
}

export function must<T>(v: T | RPCError | null | undefined, block: number, what: string): T {
  if (v instanceof RPCError) throw v;
  if (v === null || v === undefined) throw new ExplorerError({ code: ExplorerErrorCode.BAD_NODE_DATA, block, what });
  return v;
}

const coder = AbiCoder.defaultAbiCoder();

export function decodeString(v: string | RPCError | undefined): string | null {
  if (typeof v !== "string" || v === "0x") return null;
  try {
    return coder.decode(["string"], v)[0] as string;
  } catch {
    try {
      return v.length === 66 ? decodeBytes32String(v) : null; // old tokens (MKR) answer bytes32
    } catch {
      return null;
    }
  }
}

export function decodeUint8(v: string | RPCError | undefined): number | null {
  const n = decodeUint(v);
  return n !== null && n <= 255n ? Number(n) : null;
}

/** A uint256 answer, or null when the call failed or answered something else. */
export function decodeUint(v: string | RPCError | undefined): bigint | null {
  if (typeof v !== "string" || v.length !== 66) return null;
  return BigInt(v);
}
