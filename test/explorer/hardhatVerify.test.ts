/**
 * Hardhat's own `verify` task (hardhat 2 + @nomicfoundation/hardhat-verify) against the explorer's
 * Etherscan-compatible `/api`: a throwaway Hardhat project compiles a contract with the optimizer on, the test
 * deploys it with constructor arguments to a real dev node, the explorer indexes it, and `npx hardhat verify` — a
 * child process, exactly as a developer runs it — must report success; the explorer then serves the verification.
 *
 * Offline: Hardhat would download solc from binaries.soliditylang.org; the project's config overrides the
 * TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD subtask to hand it the npm solc-js (0.8.37) this repository installs, and
 * Sourcify and Blockscout are disabled, so nothing leaves 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { DEV_KEYS, REPO_ROOT, startInProcessNode } from "../utils/devnode.js";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let explorer: ExplorerService;
let project: string;

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A contract whose creation input carries constructor arguments of several ABI types.
contract Greeter {
    string public greeting;
    uint256 public immutable limit;
    address public owner;

    constructor(string memory greeting_, uint256 limit_) {
        greeting = greeting_;
        limit = limit_;
        owner = msg.sender;
    }

    function greet(uint256 times) external view returns (string memory out) {
        require(times <= limit, "Greeter: over the limit");
        for (uint256 i = 0; i < times; i++) out = string.concat(out, greeting);
    }
}
`;

/** hardhat.config.js of the throwaway project; `rpc` and `api` are the dev node's and the explorer's URLs. */
function hardhatConfig(rpc: string, explorerUrl: string, chainId: number): string {
  return `require("@nomicfoundation/hardhat-verify");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

// No download: the solc-js of the enclosing repository (npm "solc", the same release) compiles.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, hre, runSuper) => {
  const solc = require("solc");
  const longVersion = solc.version().replace(/\\.Emscripten\\.clang$/, "");
  if (!longVersion.startsWith(solcVersion + "+")) return runSuper();
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: solcVersion, longVersion };
});

module.exports = {
  solidity: { version: "0.8.37", settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" } },
  networks: { azora: { url: ${JSON.stringify(rpc)} } },
  etherscan: {
    apiKey: { azora: "unused" },
    customChains: [
      {
        network: "azora",
        chainId: ${chainId},
        urls: { apiURL: ${JSON.stringify(`${explorerUrl}/api`)}, browserURL: ${JSON.stringify(`${explorerUrl}/`)} },
      },
    ],
  },
  sourcify: { enabled: false },
  blockscout: { enabled: false },
};
`;
}

/** Runs `npx hardhat …` in the project; resolves with its exit code and output. */
function hardhat(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["--no-install", "hardhat", ...args], {
      cwd: project,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NO_COLOR: "1",
        HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
        // Keep Hardhat's compiler cache and config out of the user's home.
        XDG_CACHE_HOME: join(project, ".xdg-cache"),
        XDG_CONFIG_HOME: join(project, ".xdg-config"),
        XDG_DATA_HOME: join(project, ".xdg-data"),
      },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  node = await startInProcessNode();
  project = mkdtempSync(join(tmpdir(), "azora-hardhat-"));
  // The project resolves hardhat, the plugin and solc from this repository's node_modules.
  symlinkSync(join(REPO_ROOT, "node_modules"), join(project, "node_modules"), "dir");
  mkdirSync(join(project, "contracts"));
  writeFileSync(join(project, "contracts", "Greeter.sol"), SOURCE);
  explorer = await startExplorer(
    resolveExplorerConfig(undefined, {
      rpc: node.url,
      db: join(project, "explorer.sqlite"),
      http: { port: 0 },
      indexer: { batchBlocks: 5 },
    }),
    { log: nullLogger, version: "test" },
  );
}, 120_000);
afterAll(async () => {
  await explorer?.close();
  await node?.cleanup();
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe("hardhat verify against the explorer's Etherscan-compatible /api", () => {
  it("verifies a contract deployed with constructor arguments and the optimizer: a full match", async () => {
    const provider = new JsonRpcProvider(node.url, undefined, {
      cacheTimeout: -1,
      batchMaxCount: 1,
      staticNetwork: true,
    });
    const { chainId } = await provider.getNetwork();
    writeFileSync(join(project, "hardhat.config.js"), hardhatConfig(node.url, explorer.url, Number(chainId)));

    // Hardhat compiles (with the repository's solc-js); the test deploys its artifact.
    const compiled = await hardhat(["compile"]);
    expect(compiled.code, compiled.out).toBe(0);
    expect(compiled.out).not.toMatch(/download/i);
    const artifact = JSON.parse(readFileSync(join(project, "artifacts/contracts/Greeter.sol/Greeter.json"), "utf8"));
    const deployer = new Wallet(DEV_KEYS[0], provider);
    const greeter = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy("hello, Azora", 42n, {
      gasLimit: 3_000_000n, // no eth_estimateGas: its simulation's time budget can run out on a loaded machine
    });
    await greeter.waitForDeployment();
    const address = (await greeter.getAddress()).toLowerCase();
    const receipt = await greeter.deploymentTransaction()?.wait();
    provider.destroy();

    // verify needs the creation input, which the explorer has once it indexed the deployment.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await fetch(`${explorer.url}/v1/addresses/${address}`);
      const body = r.status === 200 ? ((await r.json()) as { contract?: unknown }) : null;
      if (body?.contract) break;
      if (Date.now() > deadline) throw new Error(`explorer did not index block ${receipt?.blockNumber}`);
      await new Promise((res) => setTimeout(res, 100));
    }

    const verified = await hardhat(["verify", "--network", "azora", address, "hello, Azora", "42"]);
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toContain("Successfully verified contract Greeter");

    const v = (await (await fetch(`${explorer.url}/v1/contracts/${address}`)).json()) as Record<string, unknown>;
    expect(v).toMatchObject({ match: "full", contractName: "contracts/Greeter.sol:Greeter" });
    expect(v.compilerVersion).toMatch(/^v0\.8\.37\+commit\./);
    // And the Etherscan view hardhat-verify itself checks first: a second run says it is already verified.
    const again = await hardhat(["verify", "--network", "azora", address, "hello, Azora", "42"]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/already been verified/i);
  }, 180_000);
});
