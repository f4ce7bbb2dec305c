/**
 * The eth_call caches' key of a request: equal for requests that run the same call, different for any two that may
 * not. Written out field by field (each behind its own tag, `|`-separated; the values are lowercase hex, which holds
 * no `|`) rather than by `JSON.stringify` with a replacer, which called back into JS for every field and copied the
 * call data before hex-encoding it: the key is made on every eth_call, cache hit or not (issue 14, call14c).
 */
import type { CallRequest } from "../../rpc/types.js";
import { unprefixedHex } from "../../runtime/primitives/bytes.js";

const quantity = (tag: string, v: bigint | undefined): string => (v === undefined ? "" : `|${tag}${v.toString(16)}`);

/** The rare list fields, as JSON with bigints and bytes in hex (they come last, after every tagged field). */
function listJSON(tag: string, v: unknown[] | undefined): string {
  if (v === undefined) return "";
  return `|${tag}${JSON.stringify(v, (_k, x) =>
    typeof x === "bigint" ? `0x${x.toString(16)}` : x instanceof Uint8Array ? unprefixedHex(x) : x,
  )}`;
}

export function callKey(req: CallRequest): string {
  let key = req.from === undefined ? "" : `f${req.from}`;
  if (req.to !== undefined) key += req.to === null ? "|t-" : `|t${req.to}`;
  key +=
    quantity("g", req.gas) +
    quantity("p", req.gasPrice) +
    quantity("m", req.maxFeePerGas) +
    quantity("q", req.maxPriorityFeePerGas) +
    quantity("v", req.value) +
    quantity("n", req.nonce) +
    quantity("y", req.type) +
    quantity("c", req.chainId);
  if (req.data !== undefined) key += `|d${unprefixedHex(req.data)}`;
  return key + listJSON("A", req.accessList) + listJSON("Z", req.authorizationList);
}
