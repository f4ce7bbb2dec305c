/**
 * The contract tab's pure logic (no DOM, unit-tested): which functions are reads and which are writes, turning the
 * text a user typed into a typed ABI argument, and a result back into text. Encoding and decoding themselves are
 * ethers' `Interface` (≈ 60 KB of the bundle minified, 18 KB gzipped).
 */
import { type FunctionFragment, getAddress, Interface, type ParamType, type Result } from "ethers";

export class ArgError extends Error {}

/** The functions of an ABI split into reads (view/pure) and writes, each list by name. */
export function functionsOf(abi: unknown[]): {
  iface: Interface;
  reads: FunctionFragment[];
  writes: FunctionFragment[];
} {
  const iface = new Interface(abi as never);
  const fns: FunctionFragment[] = [];
  iface.forEachFunction((f) => fns.push(f));
  fns.sort((a, b) => a.name.localeCompare(b.name) || a.inputs.length - b.inputs.length);
  return {
    iface,
    reads: fns.filter((f) => f.constant),
    writes: fns.filter((f) => !f.constant),
  };
}

/** A typed argument from what was typed: numbers in decimal or 0x hex, arrays and tuples as JSON. */
export function parseArg(p: ParamType, text: string): unknown {
  const t = text.trim();
  return fromJson(p, p.baseType === "array" || p.baseType === "tuple" ? parseJson(t, p) : t);
}

function parseJson(t: string, p: ParamType): unknown {
  try {
    return JSON.parse(t);
  } catch {
    throw new ArgError(
      `${p.name || p.type}: expected JSON for ${p.type}, e.g. ${p.baseType === "array" ? "[1, 2]" : "[…]"}`,
    );
  }
}

function fromJson(p: ParamType, v: unknown): unknown {
  const name = p.name || p.type;
  if (p.baseType === "array") {
    if (!Array.isArray(v)) throw new ArgError(`${name}: expected a JSON array`);
    if (p.arrayLength !== null && p.arrayLength >= 0 && v.length !== p.arrayLength)
      throw new ArgError(`${name}: expected ${p.arrayLength} items`);
    return v.map((x) => fromJson(p.arrayChildren as ParamType, x));
  }
  if (p.baseType === "tuple") {
    const comps = p.components ?? [];
    if (!Array.isArray(v) || v.length !== comps.length) throw new ArgError(`${name}: expected ${comps.length} fields`);
    return v.map((x, i) => fromJson(comps[i], x));
  }
  const s = typeof v === "string" ? v.trim() : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
  if (s === null) throw new ArgError(`${name}: expected a ${p.type}`);
  if (/^u?int/.test(p.type)) {
    if (!/^-?[0-9]+$|^0x[0-9a-fA-F]+$/.test(s)) throw new ArgError(`${name}: "${s}" is not an integer`);
    const n = BigInt(s);
    const bits = Number(p.type.replace(/^u?int/, "") || "256");
    const signed = p.type.startsWith("int");
    const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
    const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
    if (n < min || n > max) throw new ArgError(`${name}: ${s} is out of range for ${p.type}`);
    return n;
  }
  if (p.type === "address") {
    try {
      return getAddress(s.toLowerCase());
    } catch {
      throw new ArgError(`${name}: "${s}" is not an address`);
    }
  }
  if (p.type === "bool") {
    if (s === "true" || s === "1") return true;
    if (s === "false" || s === "0") return false;
    throw new ArgError(`${name}: expected true or false`);
  }
  if (p.type === "string") return s;
  if (/^bytes([0-9]+)?$/.test(p.type)) {
    if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new ArgError(`${name}: expected 0x hex bytes`);
    const fixed = Number(p.type.slice(5));
    if (fixed > 0 && s.length !== 2 + 2 * fixed) throw new ArgError(`${name}: expected ${fixed} bytes`);
    return s;
  }
  throw new ArgError(`${name}: type ${p.type} is not supported here`);
}

/** A decoded result as text: bigints in decimal, nested results as JSON. */
export function resultText(r: Result | unknown): string {
  const plain = (x: unknown): unknown =>
    typeof x === "bigint" ? x.toString() : Array.isArray(x) ? Array.from(x as unknown[], plain) : x;
  const v = plain(r);
  return typeof v === "string" ? v : JSON.stringify(v);
}
