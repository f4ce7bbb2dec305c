// Loader for compiled contract artifacts, shared by tests, benchmarks and the build script itself.
// Paths are derived from this module's location, never from process.cwd(), so it behaves the same under vitest
// (contracts/artifacts.ts) and from the compiled output (dist/contracts/artifacts.js).
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Artifact {
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
}

/** Shape of `<ContractName>.json` as written by contracts/build.ts. */
export interface ArtifactFile extends Artifact {
  contractName: string;
  sourceName: string;
}

/** Repository root: the parent of `contracts/`, skipping `dist/` when running compiled. */
export function repoRoot(): string {
  const contractsFolder = dirname(fileURLToPath(import.meta.url));
  const parent = dirname(contractsFolder);
  const compiled = basename(parent) === "dist" && existsSync(join(dirname(parent), "package.json"));
  return compiled ? dirname(parent) : parent;
}

/** `<root>/contracts`: where the Solidity sources live. */
export function contractsDir(): string {
  return join(repoRoot(), "contracts");
}

/** `<root>/contracts/artifacts`: generated output (gitignored). */
export function artifactsDir(): string {
  return join(contractsDir(), "artifacts");
}

// Contract names double as file names; refusing anything else keeps a caller from reading outside the folder.
const CONTRACT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Reads `<dir>/<name>.json`; throws with a hint to build when the artifact is missing. */
export function loadArtifact(name: string, dir: string = artifactsDir()): Artifact {
  if (!CONTRACT_NAME.test(name)) {
    throw new Error(`invalid contract name: ${JSON.stringify(name)}`);
  }
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) {
    throw new Error(`contract artifact not found: ${file} (run \`npm run build\` to compile the contracts)`);
  }
  const parsed = JSON.parse(readFileSync(file, "utf8")) as ArtifactFile;
  return { abi: parsed.abi, bytecode: parsed.bytecode, deployedBytecode: parsed.deployedBytecode };
}
