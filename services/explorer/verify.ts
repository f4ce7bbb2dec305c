/**
 * Source verification: compile the submitted standard JSON input with solc (the npm build this explorer carries;
 * the exact requested release only — there is no download), find the named contract, and compare:
 *   - runtime code: the chain's `eth_getCode` against the compiled deployed bytecode, immutables masked (their
 *     values are set by the constructor). Equal including the CBOR metadata → a full match; equal once the
 *     metadata (whose hash covers comments and file names) is stripped from both → a partial match.
 *   - creation: the input of the call that created the contract must start with the compiled creation bytecode
 *     (metadata stripped the same way); what follows are the constructor arguments, which must decode against the
 *     constructor's parameters and equal the ones submitted, if any.
 * The reason for a refusal names the first thing that differs.
 */
import { AbiCoder, Interface } from "ethers";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import type { ContractRow, VerificationMatch } from "./types.js";

export interface VerifyRequest {
  address: string;
  /** `path/File.sol:Name` or a bare `Name` when unique. */
  contractName: string;
  /** `v0.8.37+commit.f401782d` (Etherscan's form) or `0.8.37`. */
  compilerVersion: string;
  /** Solidity standard JSON input: `{language, sources, settings}`. */
  input: { language?: string; sources: Record<string, { content: string }>; settings?: Record<string, unknown> };
  /** Hex ABI-encoded constructor arguments (with or without 0x); derived from the creation input when absent. */
  constructorArgs?: string;
}

export interface VerifyResult {
  match: VerificationMatch;
  contractName: string;
  compilerVersion: string;
  abi: unknown[];
  constructorArgs: string;
}

interface SolcLike {
  version(): string;
  compile(input: string): string;
}

let solcP: Promise<SolcLike> | null = null;
/** solc-js is loaded on first use (its compiler is 8 MB of wasm-in-JS). */
export function loadSolc(): Promise<SolcLike> {
  solcP ??= import("solc").then((m) => (m.default ?? m) as SolcLike);
  return solcP;
}

/** `0.8.37+commit.f401782d` from either form of the name. */
export function normalizeVersion(v: string): string {
  return v.replace(/^v/, "").replace(/\.Emscripten.*$/, "");
}

/** Length of the CBOR metadata at the end of solc output (its last two bytes), with those two bytes. */
function metadataLength(hex: string): number {
  if (hex.length < 4) return 0;
  const n = Number.parseInt(hex.slice(-4), 16);
  const total = 2 * (n + 2);
  // A CBOR map starts with 0xa1–0xa5 (solc writes 1–5 entries); anything else is not metadata.
  if (total > hex.length || !/^a[1-5]$/.test(hex.slice(hex.length - total, hex.length - total + 2))) return 0;
  return total;
}

export function stripMetadata(hex: string): string {
  return hex.slice(0, hex.length - metadataLength(hex));
}

/** Zeroes immutable slots (byte ranges solc reports) so constructor-set values do not count as differences. */
function maskImmutables(hex: string, refs: Record<string, { start: number; length: number }[]> | undefined): string {
  if (refs === undefined) return hex;
  const chars = hex.split("");
  for (const list of Object.values(refs))
    for (const { start, length } of list) for (let i = 2 * start; i < 2 * (start + length); i++) chars[i] = "0";
  return chars.join("");
}

const firstDifference = (a: string, b: string) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.floor(i / 2);
};

interface CompiledContract {
  abi: unknown[];
  evm: {
    bytecode: { object: string };
    deployedBytecode: { object: string; immutableReferences?: Record<string, { start: number; length: number }[]> };
  };
}

export async function verifyContract(
  req: VerifyRequest,
  chain: { runtimeCode: string; creation: ContractRow | null },
): Promise<VerifyResult> {
  const fail = (reason: string): never => {
    throw new ExplorerError({ code: ExplorerErrorCode.VERIFICATION_FAILED, address: req.address, reason });
  };
  const solc = await loadSolc();
  const available = normalizeVersion(solc.version());
  const requested = normalizeVersion(req.compilerVersion);
  if (requested !== available && requested !== available.split("+")[0])
    throw new ExplorerError({ code: ExplorerErrorCode.COMPILER_UNAVAILABLE, requested, available });
  const runtime = chain.runtimeCode.toLowerCase().replace(/^0x/, "");
  if (runtime === "") fail("no contract code at this address");

  const settings = { ...(req.input.settings ?? {}) };
  settings.outputSelection = {
    "*": {
      "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"],
    },
  };
  const output = JSON.parse(
    solc.compile(JSON.stringify({ language: req.input.language ?? "Solidity", sources: req.input.sources, settings })),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, CompiledContract>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) fail(`compilation failed: ${errors[0].formattedMessage.trim()}`);

  const [file, name] = req.contractName.includes(":")
    ? [req.contractName.slice(0, req.contractName.lastIndexOf(":")), req.contractName.split(":").pop() as string]
    : [undefined, req.contractName];
  const candidates = Object.entries(output.contracts ?? {}).flatMap(([f, cs]) =>
    Object.entries(cs)
      .filter(([n]) => n === name && (file === undefined || f === file))
      .map(([n, c]) => ({ fullName: `${f}:${n}`, c })),
  );
  if (candidates.length === 0) fail(`contract ${req.contractName} is not in the compiled sources`);
  if (candidates.length > 1) fail(`contract name ${name} is ambiguous: give path:Name`);
  const { fullName, c } = candidates[0];

  const refs = c.evm.deployedBytecode.immutableReferences;
  const compiledRuntime = maskImmutables(c.evm.deployedBytecode.object.toLowerCase(), refs);
  const chainRuntime = maskImmutables(runtime, refs);
  let match: VerificationMatch;
  if (compiledRuntime === chainRuntime) match = "full";
  else {
    const a = stripMetadata(compiledRuntime);
    const b = stripMetadata(chainRuntime);
    if (a !== b) {
      return fail(
        `runtime bytecode differs from the chain's (compiled ${a.length / 2} bytes, deployed ${b.length / 2}; first difference at byte ${firstDifference(a, b)}, metadata excluded)`,
      );
    }
    match = "partial";
  }

  // Constructor arguments: what follows the compiled creation code in the creation input.
  const iface = new Interface(c.abi as never);
  let args = "";
  if (chain.creation !== null) {
    const creationInput = chain.creation.creationInput.toLowerCase().replace(/^0x/, "");
    const compiledCreation = c.evm.bytecode.object.toLowerCase();
    const prefix = stripMetadata(compiledCreation);
    if (!creationInput.startsWith(prefix))
      fail(
        `creation code differs from the transaction that created the contract (first difference at byte ${firstDifference(prefix, creationInput)})`,
      );
    args = creationInput.slice(compiledCreation.length);
    const inputs = iface.deploy.inputs;
    try {
      const decoded = AbiCoder.defaultAbiCoder().decode(inputs, `0x${args}`);
      if (AbiCoder.defaultAbiCoder().encode(inputs, decoded).slice(2) !== args) throw new Error("trailing bytes");
    } catch {
      fail(`constructor arguments in the creation input do not decode as (${inputs.map((i) => i.type).join(",")})`);
    }
  }
  if (req.constructorArgs !== undefined && req.constructorArgs.replace(/^0x/, "").toLowerCase() !== args) {
    if (chain.creation !== null) fail(`constructor arguments differ from the creation input's (0x${args})`);
    args = req.constructorArgs.replace(/^0x/, "").toLowerCase();
  }
  return { match, contractName: fullName, compilerVersion: `v${available}`, abi: c.abi, constructorArgs: args };
}
