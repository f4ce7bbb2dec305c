import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Block, createBlock } from "@ethereumjs/block";
import { Common, Hardfork, Mainnet } from "@ethereumjs/common";
import { createEVM, type EVM } from "@ethereumjs/evm";
import { type Address, bytesToHex, createAddressFromString, hexToBytes } from "@ethereumjs/util";
import { Interface } from "ethers";
import {
  decodeErrorResult,
  decodeFunctionResult,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  toHex,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactsDir, loadArtifact, repoRoot } from "../../../contracts/artifacts.js";
import { type BuildInfo, buildContracts, ContractsBuildError } from "../../../contracts/build.js";

// Imported dynamically (after the build) so a clean checkout fails with a clear build error, not a module error.
type Generated = typeof import("../../../contracts/artifacts/index.js");
let generated: Generated;

const EXAMPLES = ["TestToken", "TestNFT", "Probe", "Receiver"] as const;
const silent = { log: () => {}, warn: () => {} };

beforeAll(async () => {
  await buildContracts(silent);
  generated = await import("../../../contracts/artifacts/index.js");
});

interface AbiEntry {
  type: string;
  name?: string;
  stateMutability?: string;
  inputs?: { name: string; type: string; indexed?: boolean }[];
  outputs?: { name: string; type: string }[];
}

function entries(name: string, type: string): AbiEntry[] {
  return (loadArtifact(name).abi as AbiEntry[]).filter((e) => e.type === type);
}

function names(name: string, type: string): string[] {
  return entries(name, type).map((e) => e.name ?? "");
}

describe("contract artifacts", () => {
  it.each(EXAMPLES)("%s has an ABI and deployable bytecode", (name) => {
    const artifact = loadArtifact(name);
    expect(artifact.abi.length).toBeGreaterThan(0);
    expect(artifact.bytecode).toMatch(/^0x([0-9a-f]{2})+$/);
    expect(artifact.deployedBytecode).toMatch(/^0x([0-9a-f]{2})+$/);
    expect(existsSync(join(artifactsDir(), `${name}.ts`))).toBe(true);
  });

  it("TestToken exposes ERC20, Ownable and its own functions and errors", () => {
    expect(names("TestToken", "function")).toEqual(
      expect.arrayContaining(["mint", "failWithReason", "transfer", "balanceOf", "owner", "name", "symbol"]),
    );
    expect(names("TestToken", "event")).toEqual(
      expect.arrayContaining(["Transfer", "Approval", "OwnershipTransferred"]),
    );
    expect(names("TestToken", "error")).toEqual(
      expect.arrayContaining(["ERC20InsufficientBalance", "OwnableUnauthorizedAccount"]),
    );
  });

  it("TestNFT exposes mint, safeMint and ERC721 errors", () => {
    expect(names("TestNFT", "function")).toEqual(
      expect.arrayContaining(["mint", "safeMint", "tokenURI", "ownerOf", "safeTransferFrom"]),
    );
    expect(names("TestNFT", "error")).toEqual(
      expect.arrayContaining(["ERC721InvalidReceiver", "ERC721NonexistentToken", "OwnableUnauthorizedAccount"]),
    );
  });

  it("Probe exposes the RPC test surface", () => {
    expect(names("Probe", "function")).toEqual(
      expect.arrayContaining([
        "value",
        "set",
        "revertWithReason",
        "revertWithCustomError",
        "panicDivide",
        "assertFail",
        "blockInfo",
        "burnGas",
        "deposit",
      ]),
    );
    expect(entries("Probe", "receive")).toHaveLength(1);
    const valueSet = entries("Probe", "event").find((e) => e.name === "ValueSet")!;
    expect(valueSet.inputs!.map((i) => [i.name, i.type, i.indexed])).toEqual([
      ["who", "address", true],
      ["value", "uint256", true],
      ["tag", "bytes32", false],
    ]);
    const unauthorized = entries("Probe", "error").find((e) => e.name === "Unauthorized")!;
    expect(unauthorized.inputs!.map((i) => i.type)).toEqual(["address", "uint256"]);
    const blockInfo = entries("Probe", "function").find((e) => e.name === "blockInfo")!;
    expect(blockInfo.outputs!.map((o) => o.name)).toEqual([
      "number",
      "timestamp",
      "coinbase",
      "basefee",
      "chainid",
      "gaslimit",
      "parentHash",
    ]);
    expect(entries("Probe", "function").find((e) => e.name === "deposit")!.stateMutability).toBe("payable");
  });

  it("Receiver implements onERC721Received", () => {
    expect(names("Receiver", "function")).toEqual(expect.arrayContaining(["onERC721Received", "accept"]));
  });

  it("records a prague build with solc 0.8.37 in build-info.json", () => {
    const info = JSON.parse(readFileSync(join(artifactsDir(), "build-info.json"), "utf8")) as BuildInfo;
    expect(info.settings.evmVersion).toBe("prague");
    expect(info.metadataEvmVersion).toBe("prague");
    expect(info.settings.optimizer).toEqual({ enabled: true, runs: 200 });
    expect(info.solcVersion).toBe("0.8.37");
    expect(info.solcLongVersion).toMatch(/^0\.8\.37\+commit\./);
    expect(info.contracts.map((c) => c.name)).toEqual(expect.arrayContaining([...EXAMPLES]));
  });

  it("generated TypeScript modules match the JSON artifacts and work with viem and ethers", () => {
    expect(generated.TestTokenAbi).toEqual(loadArtifact("TestToken").abi);
    expect(generated.TestTokenBytecode).toBe(loadArtifact("TestToken").bytecode);
    expect(generated.ProbeDeployedBytecode).toBe(loadArtifact("Probe").deployedBytecode);
    // Type-level check as much as runtime: viem infers argument types from the `as const` ABI.
    const data = encodeFunctionData({
      abi: generated.ProbeAbi,
      functionName: "set",
      args: [7n, toHex("tag", { size: 32 })],
    });
    expect(data.slice(0, 10)).toBe(keccak256(toHex("set(uint256,bytes32)")).slice(0, 10));
    expect(new Interface(generated.TestTokenAbi).getError("OwnableUnauthorizedAccount")).not.toBeNull();
  });

  it("index.ts re-exports every module by explicit name", () => {
    const index = readFileSync(join(artifactsDir(), "index.ts"), "utf8");
    expect(index).not.toContain("export *");
    for (const name of EXAMPLES) {
      expect(index).toContain(`export { ${name}Abi, ${name}Bytecode, ${name}DeployedBytecode } from "./${name}.js";`);
    }
  });

  it("loadArtifact rejects names that are not contract identifiers", () => {
    expect(() => loadArtifact("../package")).toThrow(/invalid contract name/);
    expect(() => loadArtifact("DoesNotExist")).toThrow(/npm run build/);
  });
});

// Executes the bytecode on an in-memory ethereumjs EVM at Prague, the VM's hardfork: proves the pinned evmVersion
// yields code our chain can run and that each contract behaves as the end-to-end tests expect.
describe("contracts on a Prague EVM", () => {
  const deployer = createAddressFromString(`0x${"11".repeat(20)}`);
  const stranger = createAddressFromString(`0x${"22".repeat(20)}`);
  const coinbase = createAddressFromString(`0x${"cb".repeat(20)}`);
  let evm: EVM;
  // BASEFEE needs a post-London header; block 0 keeps blockhash() off the (absent) blockchain.
  let block: Block;

  beforeAll(async () => {
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague });
    evm = await createEVM({ common });
    block = createBlock(
      { header: { number: 0n, timestamp: 1_700_000_000n, gasLimit: 30_000_000n, baseFeePerGas: 7n, coinbase } },
      { common },
    );
  });

  async function deploy(data: Hex): Promise<Address> {
    const result = await evm.runCall({ block, caller: deployer, data: hexToBytes(data), gasLimit: 10_000_000n });
    expect(result.execResult.exceptionError).toBeUndefined();
    return result.createdAddress!;
  }

  async function call(to: Address, data: Hex, caller: Address = deployer) {
    const result = await evm.runCall({ block, caller, to, data: hexToBytes(data), gasLimit: 5_000_000n });
    return {
      reverted: result.execResult.exceptionError !== undefined,
      data: bytesToHex(result.execResult.returnValue) as Hex,
      logs: result.execResult.logs ?? [],
    };
  }

  it("Probe: events, storage, panics, custom errors and block info", async () => {
    const abi = generated.ProbeAbi;
    const probe = await deploy(generated.ProbeBytecode);
    const tag = toHex("hello", { size: 32 });

    const set = await call(probe, encodeFunctionData({ abi, functionName: "set", args: [42n, tag] }));
    expect(set.reverted).toBe(false);
    expect(set.logs).toHaveLength(1);
    const [, topics] = set.logs[0]!;
    expect(bytesToHex(topics[0]!)).toBe(keccak256(toHex("ValueSet(address,uint256,bytes32)")));
    const value = await call(probe, encodeFunctionData({ abi, functionName: "value" }));
    expect(decodeFunctionResult({ abi, functionName: "value", data: value.data })).toBe(42n);

    const divide = await call(probe, encodeFunctionData({ abi, functionName: "panicDivide", args: [0n] }));
    expect(divide.reverted).toBe(true);
    expect(decodeErrorResult({ abi, data: divide.data })).toMatchObject({ errorName: "Panic", args: [0x12n] });

    const assertion = await call(probe, encodeFunctionData({ abi, functionName: "assertFail" }));
    expect(decodeErrorResult({ abi, data: assertion.data })).toMatchObject({ errorName: "Panic", args: [0x01n] });

    const custom = await call(probe, encodeFunctionData({ abi, functionName: "revertWithCustomError", args: [7n] }));
    expect(decodeErrorResult({ abi, data: custom.data })).toMatchObject({
      errorName: "Unauthorized",
      args: [getAddress(deployer.toString()), 7n],
    });

    const reason = await call(probe, encodeFunctionData({ abi, functionName: "revertWithReason", args: ["nope"] }));
    expect(decodeErrorResult({ abi, data: reason.data })).toMatchObject({ errorName: "Error", args: ["nope"] });

    const info = await call(probe, encodeFunctionData({ abi, functionName: "blockInfo" }));
    expect(info.reverted).toBe(false);
    expect(decodeFunctionResult({ abi, functionName: "blockInfo", data: info.data })).toEqual([
      0n,
      1_700_000_000n,
      getAddress(coinbase.toString()),
      7n,
      1n,
      30_000_000n,
      `0x${"00".repeat(32)}`,
    ]);

    const burn = await call(probe, encodeFunctionData({ abi, functionName: "burnGas", args: [10n] }));
    expect(burn.reverted).toBe(false);
  });

  it("TestToken: initial supply, owner-only mint and forced failure", async () => {
    const abi = generated.TestTokenAbi;
    const token = await deploy(encodeDeployData({ abi, bytecode: generated.TestTokenBytecode, args: [1000n] }));
    const balance = await call(
      token,
      encodeFunctionData({ abi, functionName: "balanceOf", args: [getAddress(deployer.toString())] }),
    );
    expect(decodeFunctionResult({ abi, functionName: "balanceOf", data: balance.data })).toBe(1000n);

    const strangerAddress = getAddress(stranger.toString());
    const mint = await call(
      token,
      encodeFunctionData({ abi, functionName: "mint", args: [strangerAddress, 1n] }),
      stranger,
    );
    expect(decodeErrorResult({ abi, data: mint.data })).toMatchObject({
      errorName: "OwnableUnauthorizedAccount",
      args: [strangerAddress],
    });

    const fail = await call(token, encodeFunctionData({ abi, functionName: "failWithReason" }));
    expect(decodeErrorResult({ abi, data: fail.data })).toMatchObject({
      errorName: "Error",
      args: ["TestToken: forced failure"],
    });

    const overdraw = await call(
      token,
      encodeFunctionData({ abi, functionName: "transfer", args: [getAddress(deployer.toString()), 5n] }),
      stranger,
    );
    expect(decodeErrorResult({ abi, data: overdraw.data }).errorName).toBe("ERC20InsufficientBalance");
  });

  it("TestNFT: incrementing ids, ipfs token URIs and receiver checks", async () => {
    const abi = generated.TestNFTAbi;
    const nft = await deploy(generated.TestNFTBytecode);
    const to = getAddress(stranger.toString());
    const first = await call(nft, encodeFunctionData({ abi, functionName: "mint", args: [to] }));
    expect(decodeFunctionResult({ abi, functionName: "mint", data: first.data })).toBe(1n);
    const second = await call(nft, encodeFunctionData({ abi, functionName: "mint", args: [to] }));
    expect(decodeFunctionResult({ abi, functionName: "mint", data: second.data })).toBe(2n);
    const uri = await call(nft, encodeFunctionData({ abi, functionName: "tokenURI", args: [2n] }));
    expect(decodeFunctionResult({ abi, functionName: "tokenURI", data: uri.data })).toMatch(/^ipfs:\/\/.+\/2$/);

    const receiverAbi = generated.ReceiverAbi;
    const accepting = await deploy(
      encodeDeployData({ abi: receiverAbi, bytecode: generated.ReceiverBytecode, args: [true] }),
    );
    const refusing = await deploy(
      encodeDeployData({ abi: receiverAbi, bytecode: generated.ReceiverBytecode, args: [false] }),
    );
    const ok = await call(
      nft,
      encodeFunctionData({ abi, functionName: "safeMint", args: [getAddress(accepting.toString()), "0xbeef"] }),
    );
    expect(decodeFunctionResult({ abi, functionName: "safeMint", data: ok.data })).toBe(3n);
    const refused = await call(
      nft,
      encodeFunctionData({ abi, functionName: "safeMint", args: [getAddress(refusing.toString()), "0x"] }),
    );
    expect(decodeErrorResult({ abi, data: refused.data })).toMatchObject({
      errorName: "ERC721InvalidReceiver",
      args: [getAddress(refusing.toString())],
    });
  });
});

// Exercises the pipeline itself on a throwaway source tree, leaving the real artifacts alone.
describe("buildContracts pipeline", () => {
  let work: string;
  let src: string;
  let out: string;

  function source(path: string, body: string): void {
    const file = join(src, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n${body}\n`);
  }

  function build(force = false, lines: string[] = [], warnings: string[] = []) {
    return buildContracts({
      force,
      contractsDir: src,
      artifactsDir: out,
      log: (l) => lines.push(l),
      warn: (w) => warnings.push(w),
    });
  }

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "azora-contracts-"));
    src = join(work, "contracts");
    out = join(src, "artifacts");
    source("IGreeter.sol", "interface IGreeter { function greet() external view returns (string memory); }");
    source(
      "lib/Base.sol",
      "abstract contract Base { function _name() internal pure virtual returns (string memory); }",
    );
    source(
      "Greeter.sol",
      [
        'import {IGreeter} from "./IGreeter.sol";',
        'import {Base} from "./lib/Base.sol";',
        'import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";',
        "contract Greeter is IGreeter, Base {",
        "  function greet() external pure returns (string memory) { return string.concat(_name(), Strings.toString(1)); }",
        '  function _name() internal pure override returns (string memory) { return "hi"; }',
        "}",
      ].join("\n"),
    );
    // Sources in skipped folders must never reach the compiler (they would not even parse).
    source("node_modules/dep/Broken.sol", "this is not solidity");
    source("artifacts/Stray.sol", "this is not solidity");
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("compiles contracts and interfaces, skips abstract contracts, resolves relative and package imports", async () => {
    const lines: string[] = [];
    const result = await build(false, lines);
    expect(result.status).toBe("compiled");
    expect(result.contracts).toEqual(["Greeter", "IGreeter"]);
    expect(result.files).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^contracts: compiled 2 contracts from 3 files in \d+ ms$/);

    const iface = loadArtifact("IGreeter", out);
    expect(iface.bytecode).toBe("0x");
    expect(iface.abi).toHaveLength(1);
    expect(loadArtifact("Greeter", out).bytecode.length).toBeGreaterThan(2);
    expect(existsSync(join(out, "Base.json"))).toBe(false);
    const json = JSON.parse(readFileSync(join(out, "Greeter.json"), "utf8")) as { sourceName: string };
    expect(json.sourceName).toBe("contracts/Greeter.sol");
    expect(readFileSync(join(out, "IGreeter.ts"), "utf8")).toContain('export const IGreeterBytecode = "0x" as const;');
  });

  it("skips work when artifacts are newer than sources, and --force recompiles", async () => {
    const lines: string[] = [];
    expect((await build(false, lines)).status).toBe("up-to-date");
    expect(lines).toEqual(["contracts: up to date"]);
    expect((await build(true)).status).toBe("compiled");
  });

  it("recompiles after a source changes and drops artifacts of deleted contracts", async () => {
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(src, "IGreeter.sol"), future, future);
    expect((await build()).status).toBe("compiled");

    source("Greeter.sol", 'import {IGreeter} from "./IGreeter.sol";');
    const result = await build();
    expect(result.contracts).toEqual(["IGreeter"]);
    expect(existsSync(join(out, "Greeter.json"))).toBe(false);
    expect(existsSync(join(out, "Greeter.ts"))).toBe(false);
    expect(readFileSync(join(out, "index.ts"), "utf8")).not.toContain('"./Greeter.js"');
  });

  it("reports compiler warnings without failing", async () => {
    source("Warn.sol", "contract Warn { function f() external pure returns (uint256) { uint256 unused; return 1; } }");
    const warnings: string[] = [];
    const result = await build(false, [], warnings);
    expect(result.warnings.join("\n")).toContain("Unused local variable");
    expect(warnings).toEqual(result.warnings);
    rmSync(join(src, "Warn.sol"));
  });

  it("fails with solc's formatted errors and leaves previous artifacts untouched", async () => {
    source("Broken.sol", "contract Broken { function f( }");
    const failure = await build(true).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ContractsBuildError);
    const error = failure as ContractsBuildError;
    expect(error.message).toMatch(/compilation failed with \d+ error/);
    expect(error.diagnostics.join("\n")).toContain("ParserError");
    expect(error.diagnostics.join("\n")).toContain("contracts/Broken.sol");
    expect(existsSync(join(out, "IGreeter.json"))).toBe(true);
    rmSync(join(src, "Broken.sol"));
  });

  it("fails on unresolvable imports, including paths escaping the project", async () => {
    source("Missing.sol", 'import "./nope/Missing.sol";\nimport "/etc/hosts";');
    const failure = (await build(true).catch((err: unknown) => err)) as ContractsBuildError;
    expect(failure).toBeInstanceOf(ContractsBuildError);
    const text = failure.diagnostics.join("\n");
    expect(text).toContain('cannot resolve import "contracts/nope/Missing.sol"');
    expect(text).toContain('cannot resolve import "/etc/hosts": absolute or parent-relative paths');
    // Had the file been read, solc would report a parse error located inside it.
    expect(text).not.toContain("--> /etc/hosts");
    rmSync(join(src, "Missing.sol"));
  });
});

describe("build script entry point", () => {
  const script = join(repoRoot(), "dist", "contracts", "build.js");

  it.skipIf(!existsSync(script))("runs from any cwd and rejects unknown flags with exit code 1", () => {
    const ok = spawnSync(process.execPath, [script], { cwd: tmpdir(), encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^contracts: (up to date|compiled \d+ contracts from \d+ files in \d+ ms)$/m);
    const bad = spawnSync(process.execPath, [script, "--bogus"], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("usage");
  });
});
