// Compiles every Solidity source under contracts/ with solc-js (standard JSON) and writes the artifacts that the
// node, tests and benchmarks consume: <Name>.json, typed <Name>.ts modules, index.ts and build-info.json.
// Runs as `node dist/contracts/build.js [--force]` during `npm run build`, and is importable by tests.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type ArtifactFile,
  artifactsDir as defaultArtifactsDir,
  contractsDir as defaultContractsDir,
} from "./artifacts.js";

/** The compiler release the settings below were validated with; any other solc fails the build. */
export const SOLC_VERSION = "0.8.37";

/**
 * solc 0.8.37 defaults to `osaka`, but our VM (ethereumjs) runs `prague`: pin it so the compiler never emits
 * opcodes the chain's hardfork lacks.
 */
export const COMPILER_SETTINGS = {
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 200 },
} as const;

// metadata is requested only to verify, from the compiler's own record, which evmVersion it actually used.
const CONTRACT_OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"];
const SKIPPED_DIRS = new Set(["node_modules", "artifacts"]);
const BUILD_INFO = "build-info.json";
const INDEX_MODULE = "index.ts";

export interface BuildOptions {
  /** Recompile even when the artifacts look up to date. */
  force?: boolean;
  /** Folder scanned for `.sol` files; defaults to `<root>/contracts`. */
  contractsDir?: string;
  /** Output folder; defaults to `<root>/contracts/artifacts`. */
  artifactsDir?: string;
  log?: (line: string) => void;
  warn?: (text: string) => void;
}

export interface BuildResult {
  status: "compiled" | "up-to-date";
  /** Names of the contracts that have artifacts. */
  contracts: string[];
  /** Number of `.sol` files found under the contracts folder. */
  files: number;
  ms: number;
  warnings: string[];
}

/** Written next to the artifacts; records what produced them and drives the up-to-date check. */
export interface BuildInfo {
  solcVersion: string;
  solcLongVersion: string;
  settings: typeof COMPILER_SETTINGS & { outputs: string[] };
  /** evmVersion read back from the compiler metadata of every emitted contract. */
  metadataEvmVersion: string;
  dependencies: Record<string, string>;
  sources: string[];
  contracts: { name: string; sourceName: string }[];
}

/** Compilation failed; `diagnostics` holds solc's formatted error messages. */
export class ContractsBuildError extends Error {
  constructor(
    message: string,
    readonly diagnostics: string[] = [],
  ) {
    super(diagnostics.length > 0 ? `${message}\n\n${diagnostics.join("\n")}` : message);
    this.name = "ContractsBuildError";
  }
}

interface SourceFile {
  /** Source unit name given to solc, relative to the parent of the contracts folder (`contracts/examples/X.sol`). */
  name: string;
  path: string;
}

interface SolcDiagnostic {
  severity: "error" | "warning" | "info";
  message: string;
  formattedMessage?: string;
}

interface SolcContract {
  abi: unknown[];
  metadata: string;
  evm: { bytecode: { object: string }; deployedBytecode: { object: string } };
}

interface AstNode {
  nodeType: string;
  name?: string;
  contractKind?: "contract" | "interface" | "library";
  nodes?: AstNode[];
}

interface SolcOutput {
  errors?: SolcDiagnostic[];
  sources?: Record<string, { ast?: AstNode }>;
  contracts?: Record<string, Record<string, SolcContract>>;
}

type ImportResult = { contents: string } | { error: string };

const require = createRequire(import.meta.url);

export async function buildContracts(options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const warn = options.warn ?? ((text: string) => console.warn(text));
  const srcDir = resolve(options.contractsDir ?? defaultContractsDir());
  const outDir = resolve(options.artifactsDir ?? defaultArtifactsDir());

  const sources = findSources(srcDir, dirname(srcDir));
  const dependencies = dependencyVersions();
  if (!options.force && isUpToDate(sources, outDir, dependencies)) {
    const info = readBuildInfo(outDir)!;
    log("contracts: up to date");
    return {
      status: "up-to-date",
      contracts: info.contracts.map((c) => c.name),
      files: sources.length,
      ms: Math.round(performance.now() - started),
      warnings: [],
    };
  }

  const compiled = await compile(sources, dirname(srcDir));
  for (const text of compiled.warnings) warn(text);
  writeArtifacts(outDir, compiled.artifacts, {
    solcVersion: dependencies["solc"]!,
    solcLongVersion: compiled.longVersion,
    settings: { ...COMPILER_SETTINGS, outputs: CONTRACT_OUTPUTS },
    metadataEvmVersion: compiled.metadataEvmVersion,
    dependencies,
    sources: sources.map((s) => s.name),
    contracts: compiled.artifacts.map((a) => ({ name: a.contractName, sourceName: a.sourceName })),
  });

  const ms = Math.round(performance.now() - started);
  log(`contracts: compiled ${compiled.artifacts.length} contracts from ${sources.length} files in ${ms} ms`);
  return {
    status: "compiled",
    contracts: compiled.artifacts.map((a) => a.contractName),
    files: sources.length,
    ms,
    warnings: compiled.warnings,
  };
}

/** Every `.sol` file below `dir`, sorted so solc input (and thus output) is deterministic. */
function findSources(dir: string, baseDir: string): SourceFile[] {
  const found: SourceFile[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith(".")) walk(path);
      } else if (entry.isFile() && entry.name.endsWith(".sol")) {
        found.push({ name: toSourceName(baseDir, path), path });
      }
    }
  };
  walk(dir);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// solc source unit names always use forward slashes, whatever the platform.
function toSourceName(baseDir: string, path: string): string {
  return relative(baseDir, path).split(sep).join("/");
}

/** Installed versions of what shapes the output; a change in either invalidates the artifacts. */
function dependencyVersions(): Record<string, string> {
  const versionOf = (pkg: string): string =>
    (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")) as { version: string }).version;
  return { solc: versionOf("solc"), "@openzeppelin/contracts": versionOf("@openzeppelin/contracts") };
}

function readBuildInfo(outDir: string): BuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(outDir, BUILD_INFO), "utf8")) as BuildInfo;
  } catch {
    return undefined;
  }
}

/**
 * Cheap staleness check: same compiler, settings, dependencies and source list as last time, every generated file
 * present, and the oldest generated file newer than the newest source. npm resets mtimes inside node_modules,
 * which is why dependencies are compared by version rather than by mtime.
 */
function isUpToDate(sources: SourceFile[], outDir: string, dependencies: Record<string, string>): boolean {
  const info = readBuildInfo(outDir);
  if (info === undefined) return false;
  const same =
    JSON.stringify(info.settings) === JSON.stringify({ ...COMPILER_SETTINGS, outputs: CONTRACT_OUTPUTS }) &&
    JSON.stringify(info.dependencies) === JSON.stringify(dependencies) &&
    JSON.stringify(info.sources) === JSON.stringify(sources.map((s) => s.name));
  if (!same) return false;

  let oldestOutput = Number.POSITIVE_INFINITY;
  for (const file of generatedFiles(info.contracts.map((c) => c.name))) {
    const path = join(outDir, file);
    if (!existsSync(path)) return false;
    oldestOutput = Math.min(oldestOutput, statSync(path).mtimeMs);
  }
  const newestSource = Math.max(0, ...sources.map((s) => statSync(s.path).mtimeMs));
  return oldestOutput > newestSource;
}

function generatedFiles(contractNames: string[]): string[] {
  return [...contractNames.flatMap((n) => [`${n}.json`, `${n}.ts`]), INDEX_MODULE, BUILD_INFO];
}

interface CompileResult {
  artifacts: ArtifactFile[];
  warnings: string[];
  longVersion: string;
  metadataEvmVersion: string;
}

async function compile(sources: SourceFile[], baseDir: string): Promise<CompileResult> {
  // Loaded lazily: solc-js is an 8.9 MB wasm blob that takes ~300 ms to load, wasted when artifacts are current.
  const { default: solc } = await import("solc");
  const longVersion = String(solc.version());
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new ContractsBuildError(`contracts: expected solc ${SOLC_VERSION}, found ${longVersion}`);
  }
  // solc rejects an input without sources; an empty tree simply yields an empty index.
  if (sources.length === 0) {
    return { artifacts: [], warnings: [], longVersion, metadataEvmVersion: COMPILER_SETTINGS.evmVersion };
  }

  const input = {
    language: "Solidity",
    sources: Object.fromEntries(sources.map((s) => [s.name, { content: readFileSync(s.path, "utf8") }])),
    settings: {
      ...COMPILER_SETTINGS,
      // Outputs only for our own files: OpenZeppelin's contracts are compiled but need no artifacts.
      outputSelection: Object.fromEntries(sources.map((s) => [s.name, { "": ["ast"], "*": CONTRACT_OUTPUTS }])),
    },
  };
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: importResolver(baseDir) }) as string,
  ) as SolcOutput;

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  if (errors.length > 0) {
    throw new ContractsBuildError(`contracts: compilation failed with ${errors.length} error(s)`, errors);
  }
  const warnings = diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic);
  // collectArtifacts has checked every contract's metadata against the pinned evmVersion.
  return {
    artifacts: collectArtifacts(sources, output),
    warnings,
    longVersion,
    metadataEvmVersion: COMPILER_SETTINGS.evmVersion,
  };
}

function formatDiagnostic(d: SolcDiagnostic): string {
  return d.formattedMessage ?? `${d.severity}: ${d.message}`;
}

/**
 * Resolves imports solc could not find among the inputs. solc has already normalised relative imports against the
 * importing unit (`./X.sol` in `contracts/a/B.sol` arrives as `contracts/a/X.sol`; inside OpenZeppelin as
 * `@openzeppelin/contracts/...`), so a name is either a path below `baseDir` or a package path in node_modules.
 */
function importResolver(baseDir: string): (path: string) => ImportResult {
  return (importPath) => {
    try {
      return { contents: readFileSync(resolveImport(baseDir, importPath), "utf8") };
    } catch (err) {
      // Node's resolver appends a multi-line "Require stack"; the first line is what the user needs.
      const reason = (err as Error).message.split("\n")[0];
      return { error: `cannot resolve import "${importPath}": ${reason}` };
    }
  };
}

// Only project files and node_modules packages are readable: an absolute path ("/etc/passwd") would otherwise reach
// readFileSync through require.resolve, and "../" cannot climb out of baseDir.
function resolveImport(baseDir: string, importPath: string): string {
  if (isAbsolute(importPath) || importPath.startsWith(".")) {
    throw new Error("absolute or parent-relative paths outside the project are not allowed");
  }
  if (!importPath.startsWith("@")) {
    const local = resolve(baseDir, importPath);
    const rel = relative(baseDir, local);
    if (!rel.startsWith("..") && !isAbsolute(rel) && existsSync(local)) return local;
  }
  return require.resolve(importPath);
}

/** One artifact per deployable contract or library, plus interfaces (bytecode "0x") for their ABIs. */
function collectArtifacts(sources: SourceFile[], output: SolcOutput): ArtifactFile[] {
  const artifacts: ArtifactFile[] = [];
  const seen = new Map<string, string>();
  for (const { name: sourceName } of sources) {
    const kinds = contractKinds(output.sources?.[sourceName]?.ast);
    for (const [contractName, contract] of Object.entries(output.contracts?.[sourceName] ?? {})) {
      const bytecode = contract.evm.bytecode.object;
      if (bytecode === "" && kinds.get(contractName) !== "interface") continue; // abstract contract
      const previous = seen.get(contractName);
      if (previous !== undefined) {
        throw new ContractsBuildError(
          `contracts: contract name ${contractName} is defined in both ${previous} and ${sourceName}; artifacts are keyed by name`,
        );
      }
      seen.set(contractName, sourceName);
      assertCompiledForPrague(contractName, contract.metadata);
      artifacts.push({
        contractName,
        sourceName,
        abi: contract.abi,
        bytecode: toHex(contractName, bytecode),
        deployedBytecode: toHex(contractName, contract.evm.deployedBytecode.object),
      });
    }
  }
  return artifacts.sort((a, b) => (a.contractName < b.contractName ? -1 : a.contractName > b.contractName ? 1 : 0));
}

function contractKinds(ast: AstNode | undefined): Map<string, string> {
  const kinds = new Map<string, string>();
  for (const node of ast?.nodes ?? []) {
    if (node.nodeType === "ContractDefinition" && node.name && node.contractKind)
      kinds.set(node.name, node.contractKind);
  }
  return kinds;
}

// Belt and braces for the osaka-default pitfall: trust the compiler's own metadata, not just our input.
function assertCompiledForPrague(contractName: string, metadata: string): void {
  const used = (JSON.parse(metadata) as { settings?: { evmVersion?: string } }).settings?.evmVersion;
  if (used !== COMPILER_SETTINGS.evmVersion) {
    throw new ContractsBuildError(
      `contracts: ${contractName} was compiled for evmVersion ${used}, expected ${COMPILER_SETTINGS.evmVersion}`,
    );
  }
}

// Unlinked library placeholders (__$...$__) would produce undeployable "hex"; we have no linker step, so refuse.
function toHex(contractName: string, object: string): string {
  if (!/^[0-9a-fA-F]*$/.test(object)) {
    throw new ContractsBuildError(`contracts: ${contractName} needs library linking, which the build does not support`);
  }
  return `0x${object}`;
}

function writeArtifacts(outDir: string, artifacts: ArtifactFile[], info: BuildInfo): void {
  mkdirSync(outDir, { recursive: true });
  // Removed first and written last: an interrupted build must never look up to date.
  rmSync(join(outDir, BUILD_INFO), { force: true });
  for (const artifact of artifacts) {
    writeAtomic(join(outDir, `${artifact.contractName}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
    writeAtomic(join(outDir, `${artifact.contractName}.ts`), renderModule(artifact));
  }
  writeAtomic(join(outDir, INDEX_MODULE), renderIndex(artifacts));
  removeStale(outDir, new Set(generatedFiles(artifacts.map((a) => a.contractName))));
  writeAtomic(join(outDir, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);
}

// Tests and benchmarks in other processes may read artifacts while a build runs; rename makes each file swap atomic.
function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Deletes generated files of contracts that no longer exist, so index.ts and the folder agree. */
function removeStale(outDir: string, keep: Set<string>): void {
  for (const file of readdirSync(outDir)) {
    if ((file.endsWith(".json") || file.endsWith(".ts")) && !keep.has(file))
      rmSync(join(outDir, file), { force: true });
  }
}

function renderModule(artifact: ArtifactFile): string {
  const name = artifact.contractName;
  return [
    `// Generated by contracts/build.ts from ${artifact.sourceName}. Do not edit: run \`npm run build\`.`,
    "",
    `export const ${name}Abi = ${JSON.stringify(artifact.abi, null, 2)} as const;`,
    "",
    `export const ${name}Bytecode = ${JSON.stringify(artifact.bytecode)} as const;`,
    "",
    `export const ${name}DeployedBytecode = ${JSON.stringify(artifact.deployedBytecode)} as const;`,
    "",
  ].join("\n");
}

// Explicit names rather than `export *`, so a clash between two modules is a type error instead of a silent drop.
function renderIndex(artifacts: ArtifactFile[]): string {
  const lines = ["// Generated by contracts/build.ts. Do not edit: run `npm run build`.", ""];
  for (const { contractName: n } of artifacts) {
    lines.push(`export { ${n}Abi, ${n}Bytecode, ${n}DeployedBytecode } from "./${n}.js";`);
  }
  if (artifacts.length === 0) lines.push("export {};");
  return `${lines.join("\n")}\n`;
}

function parseArgs(argv: string[]): { force: boolean } {
  const unknown = argv.filter((arg) => arg !== "--force");
  if (unknown.length > 0) throw new ContractsBuildError(`usage: build.js [--force] (unknown: ${unknown.join(" ")})`);
  return { force: argv.includes("--force") };
}

async function main(): Promise<void> {
  try {
    await buildContracts(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(err instanceof ContractsBuildError ? err.message : err);
    process.exitCode = 1;
  }
}

// Run only when executed directly (`node dist/contracts/build.js`), not when imported by tests.
// argv[1] is realpath'd because Node resolves symlinks for the main module's import.meta.url.
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined || !existsSync(entry)) return false;
  return import.meta.url === pathToFileURL(realpathSync(entry)).href;
}

if (isEntryPoint()) await main();
