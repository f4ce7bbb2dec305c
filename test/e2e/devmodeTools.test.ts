import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { afterAll, describe, expect, it } from "vitest";
import { ConsoleLoggerBytecode } from "../../contracts/artifacts/ConsoleLogger.js";
import { DEV_KEYS, type NodeProcess, REPO_ROOT, spawnNode, tempDir } from "../utils/devnode.js";
import { rpc, waitFor } from "../utils/network.js";

/**
 * Foundry's `cast` (npm @foundry-rs/cast, its own binary) against real `azora dev` processes: send
 * (with a key, and through an unlocked account), call, storage, proof, run (local replay of a mined
 * transaction); console.log in the node log; a rewound chain (evm_revert) that restarts after kill -9
 * from the rewound head; `--dump-state` at shutdown and `--load-state` with `--no-unlocked-accounts`
 * in a second node.
 */

const run = promisify(execFile);
// The platform package's binary itself: the npm wrapper (`.bin/cast`) adds a Node start per call.
const PLATFORM_CAST = join(
  REPO_ROOT,
  `node_modules/@foundry-rs/cast-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}/bin/cast`,
);
const CAST = existsSync(PLATFORM_CAST) ? PLATFORM_CAST : join(REPO_ROOT, "node_modules/.bin/cast");

async function cast(url: string, command: string, ...args: string[]): Promise<string> {
  // Options before the positionals: `send --create <code>` takes every argument after it.
  const { stdout } = await run(CAST, [command, "--rpc-url", url, ...args], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", FOUNDRY_DISABLE_NIGHTLY_WARNING: "1" },
  });
  return stdout.trim();
}

const dirs: string[] = [];
const nodes: NodeProcess[] = [];

afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("azora dev with Foundry's cast", () => {
  it("send, call, storage, proof and run; console.log printed; a rewind survives kill -9; the dumped state loads into a locked node", async () => {
    const dataDir = tempDir("cast");
    const stateFile = join(dataDir, "..", `${dataDir.split("/").pop()}-state.json.gz`);
    dirs.push(dataDir, stateFile);
    let node = await spawnNode(dataDir, ["--dump-state", stateFile]);
    nodes.push(node);
    const account0 = new Wallet(DEV_KEYS[0]).address;

    // A deployment sent through the unlocked account (eth_sendTransaction), then a call with a key.
    const deployed = JSON.parse(
      await cast(node.url, "send", "--unlocked", "--from", account0, "--json", "--create", ConsoleLoggerBytecode),
    ) as { status: string; contractAddress: string };
    expect(deployed.status).toBe("0x1");
    const logger = deployed.contractAddress;
    const hello = async (url: string, who: string) =>
      JSON.parse(await cast(url, "send", "--private-key", DEV_KEYS[1], logger, "hello(string)", who, "--json")) as {
        status: string;
        transactionHash: string;
        gasUsed: string;
        blockNumber: string;
      };
    const sent = await hello(node.url, "world");
    expect(sent.status).toBe("0x1");

    expect(await cast(node.url, "call", logger, "count()(uint256)")).toBe("1");
    expect(BigInt(await cast(node.url, "storage", logger, "0"))).toBe(1n);
    const proof = JSON.parse(await cast(node.url, "proof", logger, "0")) as {
      address: string;
      storageProof: { key: string; value: string; proof: string[] }[];
      accountProof: string[];
    };
    expect(proof.address.toLowerCase()).toBe(logger.toLowerCase());
    expect(BigInt(proof.storageProof[0].value)).toBe(1n);
    expect(proof.storageProof[0].proof.length).toBeGreaterThan(0);
    expect(proof.accountProof.length).toBeGreaterThan(0);

    // `cast run` forks the chain at the transaction's parent block (state read over RPC at that
    // height) and replays it locally: the same gas as the receipt, the console.log calls decoded.
    const replay = await cast(node.url, "run", sent.transactionHash);
    expect(replay).toContain("Transaction successfully executed");
    expect(replay).toContain(`Gas used: ${BigInt(sent.gasUsed)}`);
    expect(replay).toContain('console::log("hello %s, call %d", "world", 1)');

    // console.sol output in the node's log, formatted as Hardhat and Anvil do.
    await waitFor("console.log in the node log", () => node.output().includes("hello world, call 1"), 20_000);
    expect(node.output()).toContain(`${new Wallet(DEV_KEYS[1]).address} true`);
    expect(node.output().split("hello world, call 1").length - 1, "printed once per execution").toBe(1);

    // A rewind, then kill -9: the node starts again from the rewound head (its database, the
    // highest-committed record and the dev signer's guard moved back together) and makes new blocks.
    // (Empty blocks keep coming every few seconds: heights are read, not predicted.)
    const snapshot = await rpc<string>(node.url, "evm_snapshot");
    const dropped = await hello(node.url, "dropped");
    expect(await rpc(node.url, "evm_revert", [snapshot])).toBe(true);
    const head = BigInt(await rpc<string>(node.url, "eth_blockNumber"));
    expect(head).toBeLessThan(BigInt(dropped.blockNumber));
    expect(await rpc(node.url, "eth_getTransactionReceipt", [dropped.transactionHash])).toBeNull();
    await node.kill9();
    node = await spawnNode(dataDir, ["--dump-state", stateFile]);
    nodes.push(node);
    expect(BigInt(await rpc<string>(node.url, "eth_blockNumber"))).toBeGreaterThanOrEqual(head);
    expect(await rpc(node.url, "eth_getTransactionReceipt", [dropped.transactionHash])).toBeNull();
    expect(await cast(node.url, "call", logger, "count()(uint256)")).toBe("1");
    const again = await hello(node.url, "again");
    expect(again.status).toBe("0x1");
    expect(BigInt(again.blockNumber)).toBeGreaterThan(head);
    expect(await cast(node.url, "call", logger, "count()(uint256)")).toBe("2");

    expect(await node.stop()).toBe(0);
    expect(existsSync(stateFile)).toBe(true);

    // A fresh chain, locked, with the dumped state.
    const dataDir2 = tempDir("cast-load");
    dirs.push(dataDir2);
    const node2 = await spawnNode(dataDir2, ["--load-state", stateFile, "--no-unlocked-accounts"]);
    nodes.push(node2);
    expect(await rpc(node2.url, "eth_blockNumber")).toBe("0x0");
    expect(BigInt(await cast(node2.url, "storage", logger, "0"))).toBe(2n);
    expect(await cast(node2.url, "call", logger, "count()(uint256)")).toBe("2");
    expect(await rpc(node2.url, "eth_accounts")).toEqual([]);
    await expect(rpc(node2.url, "eth_sendTransaction", [{ from: account0, to: account0 }])).rejects.toThrow(
      /unknown account/,
    );
    expect(await node2.stop()).toBe(0);
  }, 240_000);
});
