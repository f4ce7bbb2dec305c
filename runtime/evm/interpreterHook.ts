import type { EVM } from "@ethereumjs/evm";
import type { CodeAnalysis } from "./codeAnalysis.js";

/** What an EVM carries under `CODE_ANALYSIS` to have its frames' code analyses cached. */
export interface CodeAnalysisSource {
  analyse(code: Uint8Array, table: object, compute: () => CodeAnalysis): CodeAnalysis;
}

/**
 * The property an EVM sets to opt in. A registered symbol, not a class check: test runners may evaluate
 * this module more than once while ethereumjs's module (and the prototype patched below) stays loaded once.
 */
export const CODE_ANALYSIS: unique symbol = Symbol.for("azora.evm.codeAnalysis") as never;
const INSTALLED = Symbol.for("azora.evm.codeAnalysisHook");

interface InterpreterInternals {
  _evm: EVM & { [CODE_ANALYSIS]?: CodeAnalysisSource; _opcodeMap: object };
  _env: { isCreate: boolean };
  common: EVM["common"];
  _getValidJumpDestinations(code: Uint8Array): CodeAnalysis;
  run(...args: unknown[]): unknown;
}

/**
 * Routes ethereumjs's per-frame code analysis (`Interpreter._getValidJumpDestinations`, run by every frame
 * at its first JUMP) through the EVM's cache, if the EVM has one.
 *
 * Why a prototype patch: `Interpreter` is not exported by @ethereumjs/evm and `EVM.runInterpreter` builds it
 * itself, so neither a subclass of the interpreter nor one of the EVM can swap the analysis without copying
 * ethereumjs's frame setup; patch-package would add a dependency and an install step (CI installs as root,
 * offline). The method is replaced on the prototype of the very module instance the EVM imports (the file
 * next to the package's ESM entry), and only EVMs that carry a cache under `CODE_ANALYSIS` (AzoraEVM) use
 * it: a plain ethereumjs EVM — the differential tests' reference — runs the original. The package version
 * is pinned exactly; if the method or its call site changes shape, loading fails here, loudly.
 */
async function installCodeAnalysisHook(): Promise<InterpreterInternals> {
  const entry = import.meta.resolve("@ethereumjs/evm");
  const mod = (await import(new URL("./interpreter.js", entry).href)) as {
    Interpreter?: { prototype: InterpreterInternals };
  };
  const proto = mod.Interpreter?.prototype as (InterpreterInternals & { [INSTALLED]?: true }) | undefined;
  if (proto?.[INSTALLED] === true) return proto;
  const original = proto?._getValidJumpDestinations;
  if (
    proto === undefined ||
    typeof original !== "function" ||
    original.length !== 1 ||
    !String(proto.run).includes("this._getValidJumpDestinations(this._runState.code)")
  ) {
    throw new Error(
      `@ethereumjs/evm's interpreter changed shape (${entry}): the code-analysis hook cannot be installed`,
    );
  }
  proto._getValidJumpDestinations = function (this: InterpreterInternals, code: Uint8Array): CodeAnalysis {
    const cache = this._evm[CODE_ANALYSIS];
    // Initcode runs once and is mostly unique (constructor arguments): caching it would only evict.
    if (cache === undefined || this._env.isCreate) return original.call(this, code);
    return cache.analyse(code, this._evm._opcodeMap, () => original.call(this, code));
  };
  proto[INSTALLED] = true;
  return proto;
}

const interpreterPrototype = await installCodeAnalysisHook();

/** ethereumjs's `Interpreter` class (not exported by the package), for the frame set-up of `frameResult.ts`. */
export const interpreterClass = (interpreterPrototype as unknown as { constructor: unknown }).constructor;

/**
 * The analysis a call frame of `evm` gets for `code` (through the EVM's cache if it has one): what the
 * interpreter computes, on a bare interpreter, for tests that compare the cache with ethereumjs's own.
 */
export function frameCodeAnalysis(evm: EVM, code: Uint8Array): CodeAnalysis {
  const frame = Object.create(interpreterPrototype) as InterpreterInternals;
  frame._evm = evm as InterpreterInternals["_evm"];
  frame.common = evm.common;
  frame._env = { isCreate: false };
  return frame._getValidJumpDestinations(code);
}
