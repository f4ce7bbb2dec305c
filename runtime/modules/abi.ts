import { AzoraError } from "../lib/errors.js";
import { keccak256 } from "../primitives/hash.js";
// Per-byte BigInt loops were a mint hot spot (words.ts); the names stay the modules' own.
import { uintToWord as uintWord, bytesToUint as wordToBigInt } from "./words.js";

/**
 * The small, strict ABI codec native modules speak: the static types they use, `string` and `bytes`,
 * dynamic arrays (`T[]`) and tuples (Solidity structs). Strict means calldata that Solidity itself
 * would refuse (dirty address bits, bool other than 0/1, out-of-range uintN, offsets or lengths
 * outside the data) is refused here too, and every dynamic length is capped, so hostile calldata can
 * neither allocate nor loop without bound:
 * - each `string`/`bytes` is at most `MAX_DYNAMIC_BYTES`, each array at most `MAX_ARRAY_LENGTH` long;
 * - an array's element heads must fit in the data before anything is allocated;
 * - the values decoded (32 bytes per word-sized value and array length, the bytes of each
 *   string/bytes) may not add up to more than the data's own size. A canonical encoding always fits
 *   (every value takes at least that much room in it); offsets that point many heads at the same
 *   tail, which would multiply the work with each level of nesting, are refused.
 */
export type AbiScalar =
  | "address"
  | "uint256"
  | "uint128"
  | "uint96"
  | "uint64"
  | "uint16"
  | "uint8"
  | "bool"
  | "bytes32"
  | "bytes4"
  | "string"
  | "bytes";
/** `T[]` (a dynamic array). */
export interface AbiArray {
  readonly array: AbiType;
}
/** `(T1,T2,…)`: a Solidity struct. */
export interface AbiTuple {
  readonly tuple: readonly AbiType[];
}
export type AbiType = AbiScalar | AbiArray | AbiTuple;
/** Scalars as `Uint8Array` (address, bytesN, bytes), `bigint`, `boolean`, `string`; arrays and tuples as arrays. */
export type AbiValue = Uint8Array | bigint | boolean | string | AbiValue[];

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
/** Most elements of one array argument (module-level limits are usually far lower). */
export const MAX_ARRAY_LENGTH = 256;

const UINT_BITS: Partial<Record<AbiScalar, bigint>> = {
  uint256: 256n,
  uint128: 128n,
  uint96: 96n,
  uint64: 64n,
  uint16: 16n,
  uint8: 8n,
};

export const arrayOf = (t: AbiType): AbiArray => ({ array: t });
export const tupleOf = (...components: AbiType[]): AbiTuple => ({ tuple: components });

/** Dynamic types are encoded out of line (behind an offset): string, bytes, arrays, tuples holding one. */
export function isDynamic(t: AbiType): boolean {
  if (typeof t === "string") return t === "string" || t === "bytes";
  if ("array" in t) return true;
  return t.tuple.some(isDynamic);
}

/** Bytes a type takes in its enclosing head: 32, or the sum of a static tuple's components. */
function headSize(t: AbiType): number {
  if (typeof t !== "string" && "tuple" in t && !isDynamic(t)) return t.tuple.reduce((n, c) => n + headSize(c), 0);
  return 32;
}

/** The canonical type string, as in Solidity signatures: `(bytes32,string)[]`. */
export function typeString(t: AbiType): string {
  if (typeof t === "string") return t;
  if ("array" in t) return `${typeString(t.array)}[]`;
  return `(${t.tuple.map(typeString).join(",")})`;
}

export function selector(signature: string): Uint8Array {
  return keccak256(new TextEncoder().encode(signature)).subarray(0, 4);
}

export function selectorKey(data: Uint8Array): number {
  return data.length < 4 ? -1 : ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0;
}

export function selectorNumber(signature: string): number {
  return selectorKey(selector(signature));
}

/** One decoding pass: the data and what is left of its budget (see the module comment). */
class Decoder {
  private budget: number;
  constructor(readonly data: Uint8Array) {
    this.budget = data.length;
  }

  spend(bytes: number): void {
    this.budget -= bytes;
    if (this.budget < 0) throw new AbiError("encoding decodes to more than its own size");
  }

  word(offset: number): Uint8Array {
    if (offset < 0 || offset + 32 > this.data.length) throw new AbiError("data too short");
    return this.data.subarray(offset, offset + 32);
  }

  uint(offset: number, bits: bigint): bigint {
    const v = wordToBigInt(this.word(offset));
    if (v >> bits !== 0n) throw new AbiError(`uint${bits} out of range`);
    return v;
  }

  /** Where the value behind the offset at `head` starts; offsets are relative to the enclosing tuple. */
  offset(head: number, base: number): number {
    const rel = this.uint(head, 32n);
    const at = base + Number(rel);
    if (at > this.data.length) throw new AbiError("offset out of range");
    return at;
  }

  /** A tuple whose head starts at `base` (the whole argument list is one). */
  tuple(types: readonly AbiType[], base: number): AbiValue[] {
    const out: AbiValue[] = [];
    let head = base;
    for (const t of types) {
      out.push(isDynamic(t) ? this.dynamic(t, this.offset(head, base)) : this.static(t, head));
      head += headSize(t);
    }
    return out;
  }

  static(t: AbiType, at: number): AbiValue {
    if (typeof t !== "string") return this.tuple((t as AbiTuple).tuple, at); // a static tuple, inline
    this.spend(32);
    switch (t) {
      case "address": {
        const w = this.word(at);
        for (let j = 0; j < 12; j++) if (w[j] !== 0) throw new AbiError("dirty address bits");
        return w.slice(12);
      }
      case "bool": {
        const v = this.uint(at, 8n);
        if (v > 1n) throw new AbiError("bool must be 0 or 1");
        return v === 1n;
      }
      case "bytes32":
        return this.word(at).slice();
      case "bytes4": {
        const w = this.word(at);
        for (let j = 4; j < 32; j++) if (w[j] !== 0) throw new AbiError("dirty bytes4 bits");
        return w.slice(0, 4);
      }
      default: {
        const bits = UINT_BITS[t];
        if (bits === undefined) throw new Error(`abi: ${t} is not a static type`);
        return this.uint(at, bits);
      }
    }
  }

  dynamic(t: AbiType, at: number): AbiValue {
    if (typeof t === "string") {
      const len = this.uint(at, 32n);
      if (len > BigInt(MAX_DYNAMIC_BYTES)) throw new AbiError(`${t} longer than ${MAX_DYNAMIC_BYTES} bytes`);
      const start = at + 32;
      if (start + Number(len) > this.data.length) throw new AbiError(`${t} runs past the data`);
      this.spend(32 + Number(len));
      const bytes = this.data.slice(start, start + Number(len));
      if (t === "bytes") return bytes;
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new AbiError("string is not valid UTF-8");
      }
    }
    if ("tuple" in t) return this.tuple(t.tuple, at);
    const n = this.uint(at, 32n);
    if (n > BigInt(MAX_ARRAY_LENGTH)) throw new AbiError(`array longer than ${MAX_ARRAY_LENGTH}`);
    const base = at + 32;
    // Every element has a head in the data: checked before anything is allocated for them.
    if (base + Number(n) * headSize(t.array) > this.data.length) throw new AbiError("array runs past the data");
    this.spend(32);
    return this.tuple(new Array<AbiType>(Number(n)).fill(t.array), base);
  }
}

/** Decodes `types` from `data` (the calldata after the selector). */
export function decodeArgs(types: readonly AbiType[], data: Uint8Array): AbiValue[] {
  return new Decoder(data).tuple(types, 0);
}

function padRight(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
  out.set(bytes);
  return out;
}

function encodeStatic(t: AbiType, v: AbiValue): Uint8Array {
  if (typeof t !== "string") return encodeTuple((t as AbiTuple).tuple, v as AbiValue[]);
  switch (t) {
    case "address": {
      const w = new Uint8Array(32);
      w.set(v as Uint8Array, 12);
      return w;
    }
    case "bool":
      return uintWord(v ? 1n : 0n);
    case "bytes32":
      return (v as Uint8Array).slice();
    case "bytes4": {
      const w = new Uint8Array(32);
      w.set(v as Uint8Array);
      return w;
    }
    default: {
      const bits = UINT_BITS[t] ?? 256n;
      // Module code produces these values: one out of range is a bug, not input to truncate.
      if (typeof v !== "bigint" || v < 0n || v >> bits !== 0n) throw new Error(`abi: ${String(v)} is not a ${t}`);
      return uintWord(v);
    }
  }
}

function encodeDynamic(t: AbiType, v: AbiValue): Uint8Array {
  if (typeof t === "string") {
    const bytes = t === "string" ? new TextEncoder().encode(v as string) : (v as Uint8Array);
    return concat(uintWord(BigInt(bytes.length)), padRight(bytes));
  }
  if ("tuple" in t) return encodeTuple(t.tuple, v as AbiValue[]);
  const items = v as AbiValue[];
  return concat(uintWord(BigInt(items.length)), encodeTuple(new Array<AbiType>(items.length).fill(t.array), items));
}

function encodeTuple(types: readonly AbiType[], values: readonly AbiValue[]): Uint8Array {
  if (values.length !== types.length) throw new Error(`abi: ${values.length} values for ${types.length} types`);
  const heads: Uint8Array[] = [];
  const tails: Uint8Array[] = [];
  let tailOffset = types.reduce((n, t) => n + headSize(t), 0);
  types.forEach((t, i) => {
    if (!isDynamic(t)) {
      heads.push(encodeStatic(t, values[i]));
      return;
    }
    const tail = encodeDynamic(t, values[i]);
    heads.push(uintWord(BigInt(tailOffset)));
    tails.push(tail);
    tailOffset += tail.length;
  });
  return concat(...heads, ...tails);
}

/** ABI-encodes `values` as a tuple of `types` (function results, event data, error arguments). */
export function encodeArgs(types: readonly AbiType[], values: readonly AbiValue[]): Uint8Array {
  return encodeTuple(types, values);
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
