/**
 * Calls into native modules, decoded: a precompile's frame shows only its calldata, so the tracer
 * adds which module and function it is and the arguments, from the module's own ABI table.
 */
import { type AbiValue, decodeArgs, selector, selectorKey } from "../../../../runtime/modules/abi.js";
import type { FunctionDef } from "../../../../runtime/modules/host.js";
import { moduleDefAt } from "../../../../runtime/modules/index.js";
import { hex } from "./output.js";

export interface DecodedNativeCall {
  module: string;
  function: string;
  args: unknown[];
}

const tables = new Map<string, Map<number, FunctionDef>>();

function tableOf(name: string, functions: readonly FunctionDef[]): Map<number, FunctionDef> {
  let t = tables.get(name);
  if (t === undefined) {
    t = new Map(functions.map((f) => [selectorKey(selector(f.sig)), f]));
    tables.set(name, t);
  }
  return t;
}

/** Bytes as hex, integers as decimal strings (exact, unlike JSON numbers). */
function toJSON(v: AbiValue): unknown {
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(toJSON);
  return v;
}

/** The call `input` to `to` decoded, when `to` is a native module and `input` names one of its functions. */
export function decodeNativeCall(to: Uint8Array, input: Uint8Array): DecodedNativeCall | undefined {
  const def = moduleDefAt(to);
  if (def === undefined || input.length < 4) return undefined;
  const fn = tableOf(def.name, def.functions).get(selectorKey(input));
  if (fn === undefined) return { module: def.name, function: hex(input.subarray(0, 4)), args: [] };
  try {
    const args = decodeArgs(fn.inputs, input.subarray(4));
    return { module: def.name, function: fn.sig, args: args.map(toJSON) };
  } catch {
    return { module: def.name, function: fn.sig, args: [] };
  }
}
