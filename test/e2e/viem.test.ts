import { rmSync } from "node:fs";
import {
  type BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEther,
  webSocket,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestTokenAbi, TestTokenBytecode } from "../../contracts/artifacts/TestToken.js";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, spawnNode, tempDir } from "../utils/devnode.js";

/** viem's public and wallet clients against the real `azora dev` process, with the generated typed ABI. */

let dataDir: string;
let node: NodeProcess;

beforeAll(async () => {
  dataDir = tempDir("viem");
  node = await spawnNode(dataDir);
});

afterAll(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("azora dev with viem", () => {
  const account = privateKeyToAccount(DEV_KEYS[0]);
  const other = privateKeyToAccount(DEV_KEYS[2]).address;
  const chain = () =>
    defineChain({
      id: Number(DEV_CHAIN_ID),
      name: "Azora devnet",
      nativeCurrency: { name: "Azora", symbol: "AZR", decimals: 18 },
      rpcUrls: { default: { http: [node.url], webSocket: [node.wsUrl] } },
    });
  const clients = () => ({
    publicClient: createPublicClient({ chain: chain(), transport: http(node.url), pollingInterval: 20 }),
    walletClient: createWalletClient({ account, chain: chain(), transport: http(node.url) }),
  });

  it("reads chain id, block and balances", async () => {
    const { publicClient } = clients();
    expect(await publicClient.getChainId()).toBe(Number(DEV_CHAIN_ID));
    const block = await publicClient.getBlock({ blockTag: "finalized" });
    expect(block.number).toBeGreaterThanOrEqual(0n);
    expect(await publicClient.getBalance({ address: account.address })).toBeGreaterThan(parseEther("1000"));
    const fees = await publicClient.estimateFeesPerGas();
    expect(fees.maxFeePerGas).toBeGreaterThan(0n);
  });

  it("sends value with the wallet client (fees and nonce filled by viem)", async () => {
    const { publicClient, walletClient } = clients();
    const before = await publicClient.getBalance({ address: other });
    const hash = await walletClient.sendTransaction({ to: other, value: parseEther("2") });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    expect(await publicClient.getBalance({ address: other, blockNumber: receipt.blockNumber })).toBe(
      before + parseEther("2"),
    );
  });

  it("deploys a contract, writes, reads, simulates and decodes a custom error", async () => {
    const { publicClient, walletClient } = clients();
    const hash = await walletClient.deployContract({
      abi: TestTokenAbi,
      bytecode: TestTokenBytecode,
      args: [10n ** 24n],
    });
    const { contractAddress } = await publicClient.waitForTransactionReceipt({ hash });
    expect(contractAddress).toBeTruthy();
    const address = contractAddress as `0x${string}`;

    const { request } = await publicClient.simulateContract({
      account,
      address,
      abi: TestTokenAbi,
      functionName: "transfer",
      args: [other, 1234n],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await walletClient.writeContract(request) });
    expect(receipt.status).toBe("success");
    expect(
      await publicClient.readContract({ address, abi: TestTokenAbi, functionName: "balanceOf", args: [other] }),
    ).toBe(1234n);

    const events = await publicClient.getContractEvents({
      address,
      abi: TestTokenAbi,
      eventName: "Transfer",
      fromBlock: 0n,
    });
    expect(events.some((e) => e.args.to === other && e.args.value === 1234n)).toBe(true);

    try {
      await publicClient.simulateContract({
        account: privateKeyToAccount(DEV_KEYS[3]),
        address,
        abi: TestTokenAbi,
        functionName: "mint",
        args: [other, 1n],
      });
      expect.unreachable("mint by a non-owner must revert");
    } catch (e) {
      const revert = (e as BaseError).walk((x) => x instanceof ContractFunctionRevertedError);
      expect(revert).toBeInstanceOf(ContractFunctionRevertedError);
      expect((revert as ContractFunctionRevertedError).data?.errorName).toBe("OwnableUnauthorizedAccount");
    }
  });

  it("watches new blocks over WebSocket", async () => {
    const wsClient = createPublicClient({ chain: chain(), transport: webSocket(node.wsUrl) });
    const { walletClient } = clients();
    try {
      const seen = new Promise<bigint>((resolve, reject) => {
        const unwatch = wsClient.watchBlockNumber({
          onBlockNumber: (n) => {
            unwatch();
            resolve(n);
          },
          onError: reject,
        });
      });
      // A transaction makes a block right away (no waiting for the idle interval).
      await walletClient.sendTransaction({ to: other, value: 1n });
      expect(await seen).toBeGreaterThan(0n);
    } finally {
      await (await wsClient.transport.getRpcClient()).close();
    }
  });
});
