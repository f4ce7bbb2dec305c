import { AzoraError } from "../lib/errors.js";
import { keccak256 } from "../primitives/hash.js";

/**
 * The small, strict ABI codec native modules speak: the static types they use, plus `string` and
 * `bytes`. Strict means calldata that Solidity itself would refuse (dirty address bits, bool other
 * than 0/1, out-of-range uintN, offsets or lengths outside the data) is refused here too, and every
 * dynamic length is capped, so hostile calldata can neither allocate nor loop without bound.
 */
export type AbiType =
  | "address"
  | "uint256"
  | "uint96"
  | "uint64"
  | "uint8"
  | "bool"
  | "bytes32"
  | "bytes4"
  | "string"
  | "bytes";
export type AbiValue = Uint8Array | bigint | boolean | string;

export enum AbiErrorCode {
  MALFORMED = "ABI_ERROR_MALFORMED",
}

export class AbiError extends AzoraError<{ code: AbiErrorCode.MALFORMED; reason: string }> {
  constructor(reason: string) {
    super({ code: AbiErrorCode.MALFORMED, reason }, `malformed calldata: ${reason}`);
  }
}

/** Longest `string`/`bytes` argument a module accepts (token names, URIs, terms). */
export const MAX_DYNAMIC_BYTES = 4096;

const UINT_BITS: Partial<Record<AbiType, bigint>> = { uint256: 256n, uint96: 96n, uint64: 64n, uint8: 8n };

export function selector(signature: string): Uint8Array {
  return keccak256(new TextEncoder().encode(signature)).subarray(0, 4);
}

export function selectorKey(data: Uint8Array): number {
  return data.length < 4 ? -1 : ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0;
}

export function selectorNumber(signature: string): number {
  return selectorKey(selector(signature));
}

function readWord(data: Uint8Array, offset: number): Uint8Array {
  if (offset < 0 || offset + 32 > data.length) throw new AbiError("data too short");
  return data.subarray(offset, offset + 32);
}

function wordToBigInt(w: Uint8Array): bigint {
  let n = 0n;
  for (const b of w) n = (n << 8n) | BigInt(b);
  return n;
}

function readUint(data: Uint8Array, offset: number, bits: bigint): bigint {
  const v = wordToBigInt(readWord(data, offset));
  if (v >> bits !== 0n) throw new AbiError(`uint${bits} out of range`);
  return v;
}

/** Decodes `types` from `data` (the calldata after the selector). */
export function decodeArgs(types: readonly AbiType[], data: Uint8Array): AbiValue[] {
  return types.map((t, i) => {
    const head = i * 32;
    switch (t) {
      case "address": {
        const w = readWord(data, head);
        for (let j = 0; j < 12; j++) if (w[j] !== 0) throw new AbiError("dirty address bits");
        return w.slice(12);
      }
      case "bool": {
        const v = readUint(data, head, 8n);
        if (v > 1n) throw new AbiError("bool must be 0 or 1");
        return v === 1n;
      }
      case "bytes32":
        return readWord(data, head).slice();
      case "bytes4": {
        const w = readWord(data, head);
        for (let j = 4; j < 32; j++) if (w[j] !== 0) throw new AbiError("dirty bytes4 bits");
        return w.slice(0, 4);
      }
      case "string":
      case "bytes": {
        const offset = readUint(data, head, 32n);
        if (offset > BigInt(data.length)) throw new AbiError("offset out of range");
        const len = readUint(data, Number(offset), 32n);
        if (len > BigInt(MAX_DYNAMIC_BYTES)) throw new AbiError(`${t} longer than ${MAX_DYNAMIC_BYTES} bytes`);
        const start = Number(offset) + 32;
        if (start + Number(len) > data.length) throw new AbiError(`${t} runs past the data`);
        const bytes = data.slice(start, start + Number(len));
        if (t === "bytes") return bytes;
        try {
          return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
          throw new AbiError("string is not valid UTF-8");
        }
      }
      default:
        return readUint(data, head, UINT_BITS[t] as bigint);
    }
  });
}

function uintWord(v: bigint): Uint8Array {
  const w = new Uint8Array(32);
  let n = v;
  for (let i = 31; i >= 0 && n > 0n; i--) {
    w[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return w;
}

function padRight(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
  out.set(bytes);
  return out;
}

/** ABI-encodes `values` as a tuple of `types` (function results, event data, error arguments). */
export function encodeArgs(types: readonly AbiType[], values: readonly AbiValue[]): Uint8Array {
  const heads: Uint8Array[] = [];
  const tails: Uint8Array[] = [];
  let tailOffset = types.length * 32;
  types.forEach((t, i) => {
    const v = values[i];
    switch (t) {
      case "address": {
        const w = new Uint8Array(32);
        w.set(v as Uint8Array, 12);
        heads.push(w);
        break;
      }
      case "bool":
        heads.push(uintWord(v ? 1n : 0n));
        break;
      case "bytes32":
        heads.push((v as Uint8Array).slice());
        break;
      case "bytes4": {
        const w = new Uint8Array(32);
        w.set(v as Uint8Array);
        heads.push(w);
        break;
      }
      case "string":
      case "bytes": {
        const bytes = t === "string" ? new TextEncoder().encode(v as string) : (v as Uint8Array);
        heads.push(uintWord(BigInt(tailOffset)));
        const tail = new Uint8Array(32 + Math.ceil(bytes.length / 32) * 32);
        tail.set(uintWord(BigInt(bytes.length)));
        tail.set(padRight(bytes), 32);
        tails.push(tail);
        tailOffset += tail.length;
        break;
      }
      default:
        heads.push(uintWord(v as bigint));
    }
  });
  const out = new Uint8Array(tailOffset);
  let o = 0;
  for (const h of heads) {
    out.set(h, o);
    o += 32;
  }
  for (const t of tails) {
    out.set(t, o);
    o += t.length;
  }
  return out;
}

/** `Error(string)`: what `require(cond, "reason")` reverts with; ethers and viem decode it. */
export function encodeErrorString(reason: string): Uint8Array {
  return concat(selector("Error(string)"), encodeArgs(["string"], [reason]));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export { uintWord, wordToBigInt };
