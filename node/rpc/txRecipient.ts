/**
 * The recipient (`to`) of a signed transaction, read from its encoding without decoding it. A
 * receipt answer needs this one field of the transaction, and building the ethereumjs transaction
 * for it (`createTxFromRLP`: every field, bigints, the Common, checks) was ~45 % of formatting a
 * receipt in a V8 profile of the dev node under the bench — once per mined transaction that a
 * client asks the receipt of, which is every transaction a wallet or load generator waits for.
 * `test/unit/rpc/txRecipient.test.ts` checks it against `createTxFromRLP(raw).to` on random
 * transactions of every type.
 */

import { rlpHeader } from "../../runtime/primitives/rlpHeader.js";

/**
 * Index of `to` in the RLP list of each transaction type (legacy: no type byte). Blob transactions
 * (type 3) are left to the decode: the chain's Common has no KZG, so none is tested here.
 */
const TO_FIELD_BY_TYPE: Readonly<Record<number, number>> = {
  1: 4, // EIP-2930: chainId, nonce, gasPrice, gasLimit, to, …
  2: 5, // EIP-1559: chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, …
  4: 5, // EIP-7702: as EIP-1559
};
const LEGACY_TO_FIELD = 3; // nonce, gasPrice, gasLimit, to, …
const ADDRESS_BYTES = 20;

/**
 * The 20-byte `to` of a signed transaction's encoding (typed: type byte + RLP list; legacy: RLP
 * list), null for a contract creation, or undefined when the encoding is not one this reader knows
 * or does not hold a well-formed `to` — the caller then decodes the transaction as before.
 */
export function rawTxRecipient(raw: Uint8Array): Uint8Array | null | undefined {
  if (raw.length === 0) return undefined;
  let pos = 0;
  let field = LEGACY_TO_FIELD;
  if (raw[0] < 0xc0) {
    const typed = TO_FIELD_BY_TYPE[raw[0]];
    if (typed === undefined) return undefined;
    field = typed;
    pos = 1;
  }
  const outer = rlpHeader(raw, pos, raw.length);
  if (outer === undefined || !outer.list) return undefined;
  let item = rlpHeader(raw, outer.start, outer.end);
  for (let i = 0; i < field && item !== undefined; i++) item = rlpHeader(raw, item.end, outer.end);
  if (item === undefined || item.list) return undefined;
  const length = item.end - item.start;
  if (length === 0) return null;
  return length === ADDRESS_BYTES ? raw.slice(item.start, item.end) : undefined;
}
