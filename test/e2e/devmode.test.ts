import {
  type Contract,
  ContractFactory,
  JsonRpcProvider,
  Transaction,
  TypedDataEncoder,
  verifyMessage,
  verifyTypedData,
  Wallet,
} from "ethers";
import {
  createPublicClient,
  createTestClient,
  defineChain,
  encodeFunctionData,
  getAddress,
  http,
  parseAbi,
  parseEther,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleLoggerAbi, ConsoleLoggerBytecode } from "../../contracts/artifacts/ConsoleLogger.js";
import { TestTokenAbi, TestTokenBytecode } from "../../contracts/artifacts/TestToken.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { rpc, waitFor } from "../utils/network.js";

/**
 * `azora dev` as Hardhat and Anvil users drive it: unlocked accounts through ethers' JsonRpcSigner,
 * viem's test actions (mode "anvil") for cheats, mining and snapshots, and the Hardhat test-suite
 * workflow (snapshot → deploy → assert → revert, many times). An in-process node on a fresh LevelDB.
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let provider: JsonRpcProvider;

const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";

beforeAll(async () => {
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

const clients = () => {
  const chain = defineChain({
    id: Number(DEV_CHAIN_ID),
    name: "Azora devnet",
    nativeCurrency: { name: "Azora", symbol: "AZR", decimals: 18 },
    rpcUrls: { default: { http: [node.url] } },
    contracts: { multicall3: { address: MULTICALL3 } },
  });
  return {
    // No block-number cache: a revert moves the head back between two reads.
    publicClient: createPublicClient({ chain, transport: http(node.url), pollingInterval: 20, cacheTime: 0 }),
    testClient: createTestClient({ chain, mode: "anvil", transport: http(node.url) }),
  };
};

describe("unlocked dev accounts (ethers JsonRpcSigner)", () => {
  it("eth_accounts lists the 10 mnemonic accounts; eth_sendTransaction fills nonce, gas and fees", async () => {
    const accounts = await provider.listAccounts();
    expect(accounts.map((a) => a.address)).toEqual(DEV_KEYS.map((k) => new Wallet(k).address));
    const signer = await provider.getSigner(0);
    const to = new Wallet(DEV_KEYS[7]).address;
    const before = await provider.getBalance(to);
    const tx = await signer.sendTransaction({ to, value: 12345n });
    const receipt = await tx.wait();
    expect(receipt?.status).toBe(1);
    expect(receipt?.from).toBe(accounts[0].address);
    expect(await provider.getBalance(to)).toBe(before + 12345n);
    const mined = await provider.getTransaction(tx.hash);
    expect(mined?.type).toBe(2);
    expect(mined?.gasLimit).toBe(21000n);

    // A contract deployment through the unlocked signer (gas estimated by the node).
    const token = await new ContractFactory(TestTokenAbi, TestTokenBytecode, signer).deploy(1000n);
    await token.waitForDeployment();
    expect(await (token as Contract).balanceOf(accounts[0].address)).toBe(1000n);
  });

  it("signs messages, typed data and transactions with the account's key", async () => {
    const signer = await provider.getSigner(1);
    const address = await signer.getAddress();
    expect(verifyMessage("hello azora", await signer.signMessage("hello azora"))).toBe(address);
    const ethSign = await provider.send("eth_sign", [address, "0x68656c6c6f"]);
    expect(verifyMessage("hello", ethSign)).toBe(address);

    const domain = { name: "Azora", version: "1", chainId: DEV_CHAIN_ID, verifyingContract: MULTICALL3 };
    const types = {
      Mail: [
        { name: "to", type: "address" },
        { name: "contents", type: "string" },
      ],
    };
    const value = { to: address, contents: "hi" };
    const sig = await signer.signTypedData(domain, types, value);
    expect(verifyTypedData(domain, types, value, sig)).toBe(address);
    // viem and wallets send the request with EIP712Domain in types: the same signature.
    const payload = TypedDataEncoder.getPayload(domain, types, value);
    expect(await provider.send("eth_signTypedData_v4", [address, JSON.stringify(payload)])).toBe(sig);

    const raw = await provider.send("eth_signTransaction", [{ from: address, to: address, value: "0x1" }]);
    const parsed = Transaction.from(raw);
    expect(parsed.from).toBe(address);
    expect(parsed.chainId).toBe(DEV_CHAIN_ID);
    expect(parsed.type).toBe(2);
  });

  it("refuses to sign for an account it holds no key for", async () => {
    const stranger = Wallet.createRandom().address;
    await expect(rpc(node.url, "eth_sendTransaction", [{ from: stranger, to: stranger }])).rejects.toThrow(
      /unknown account/,
    );
    await expect(rpc(node.url, "personal_sign", ["0x00", stranger])).rejects.toThrow(/unknown account/);
  });
});

describe("cheats (viem test actions, mode anvil)", () => {
  it("setBalance, setNonce, setCode and setStorageAt are visible at latest at once, without a block", async () => {
    const { publicClient, testClient } = clients();
    const a = getAddress(Wallet.createRandom().address);
    // Automine off for the checks: the dev node's empty-block timer (3 s) could otherwise commit a block between
    // them on a slow machine, and "no block needed" is what this test shows.
    await testClient.setAutomine(false);
    try {
      const height = await publicClient.getBlockNumber();
      await testClient.setBalance({ address: a, value: parseEther("42") });
      await testClient.setNonce({ address: a, nonce: 7 });
      await testClient.setCode({ address: a, bytecode: "0x60016000526001601ff3" });
      await testClient.setStorageAt({ address: a, index: 3, value: `0x${"00".repeat(31)}2a` });
      expect(await publicClient.getBlockNumber()).toBe(height);
      expect(await publicClient.getBalance({ address: a })).toBe(parseEther("42"));
      expect(await publicClient.getTransactionCount({ address: a })).toBe(7);
      expect(await publicClient.getCode({ address: a })).toBe("0x60016000526001601ff3");
      expect(await publicClient.getStorageAt({ address: a, slot: "0x3" })).toBe(`0x${"00".repeat(31)}2a`);
      // eth_call runs on the edited state too (the code returns 0x01).
      expect((await publicClient.call({ to: a })).data).toBe("0x01");
    } finally {
      await testClient.setAutomine(true);
    }
    // The next block commits to the edited state.
    await testClient.mine({ blocks: 1 });
    const block = await publicClient.getBlock();
    const proof = await publicClient.getProof({ address: a, storageKeys: [], blockNumber: block.number });
    expect(proof.balance).toBe(parseEther("42"));
  });

  it("a transaction mined after a cheat is traced on the state the cheat made (not its parent block's)", async () => {
    const { testClient } = clients();
    const fresh = Wallet.createRandom().connect(provider);
    // Automine off: no block (not even an empty one) can commit the cheat before the transaction's.
    await testClient.setAutomine(false);
    let tx: Awaited<ReturnType<typeof fresh.sendTransaction>>;
    try {
      await testClient.setBalance({ address: fresh.address as `0x${string}`, value: parseEther("1") });
      tx = await fresh.sendTransaction({ to: Wallet.createRandom().address, value: 5n });
      await testClient.mine({ blocks: 1 });
    } finally {
      await testClient.setAutomine(true);
    }
    expect((await tx.wait())?.status).toBe(1);
    // Its only funds came from the cheat: a replay from the parent block's state root would fail.
    const pre = await rpc<Record<string, { balance: string }>>(node.url, "debug_traceTransaction", [
      tx.hash,
      { tracer: "prestateTracer" },
    ]);
    expect(BigInt(pre[fresh.address.toLowerCase()].balance)).toBe(parseEther("1"));
    const call = await rpc<{ from: string; value: string }>(node.url, "debug_traceTransaction", [
      tx.hash,
      { tracer: "callTracer" },
    ]);
    expect(call).toMatchObject({ from: fresh.address.toLowerCase(), value: "0x5" });
  });

  it("mine(blocks, interval) makes the blocks with timestamps interval seconds apart", async () => {
    const { publicClient, testClient } = clients();
    const before = await publicClient.getBlock();
    await testClient.mine({ blocks: 5, interval: 100 });
    const after = await publicClient.getBlock();
    expect(after.number).toBe(before.number + 5n);
    const first = await publicClient.getBlock({ blockNumber: before.number + 1n });
    expect(after.timestamp - first.timestamp).toBe(400n);
  });

  it("automine off keeps transactions pending until mined; dropTransaction removes one", async () => {
    const { publicClient, testClient } = clients();
    const signer = await provider.getSigner(2);
    await testClient.setAutomine(false);
    try {
      const height = await publicClient.getBlockNumber();
      const to = Wallet.createRandom().address;
      const tx = await signer.sendTransaction({ to, value: 1n });
      const dropped = await signer.sendTransaction({ to, value: 2n, nonce: tx.nonce + 1 });
      expect(await testClient.request({ method: "anvil_getAutomine" as never })).toBe(false);
      expect((await rpc<{ pending: string }>(node.url, "txpool_status")).pending).toBe("0x2");
      await testClient.dropTransaction({ hash: dropped.hash as `0x${string}` });
      expect(await publicClient.getBlockNumber()).toBe(height);
      await testClient.mine({ blocks: 1 });
      expect((await provider.getTransactionReceipt(tx.hash))?.blockNumber).toBe(Number(height + 1n));
      expect(await provider.getTransactionReceipt(dropped.hash)).toBeNull();
    } finally {
      await testClient.setAutomine(true);
    }
  });

  it("setNextBlockBaseFeePerGas sets the next block's base fee once", async () => {
    const { publicClient, testClient } = clients();
    await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: 7_000_000_000n });
    await testClient.mine({ blocks: 1 });
    expect((await publicClient.getBlock()).baseFeePerGas).toBe(7_000_000_000n);
  });

  it("impersonates a contract account: sends value and calls a token from Multicall3's address", async () => {
    const { publicClient, testClient } = clients();
    const owner = await provider.getSigner(0);
    const token = await new ContractFactory(TestTokenAbi, TestTokenBytecode, owner).deploy(1000n);
    await token.waitForDeployment();
    const tokenAddress = (await token.getAddress()) as `0x${string}`;
    await (await (token as Contract).transfer(MULTICALL3, 300n)).wait();
    const receiver = getAddress(Wallet.createRandom().address);

    await testClient.impersonateAccount({ address: MULTICALL3 });
    await testClient.setBalance({ address: MULTICALL3, value: parseEther("1") });
    const transferData = encodeFunctionData({
      abi: parseAbi(["function transfer(address,uint256) returns (bool)"]),
      args: [receiver, 120n],
    });
    const callHash = await rpc<`0x${string}`>(node.url, "eth_sendTransaction", [
      { from: MULTICALL3, to: tokenAddress, data: transferData },
    ]);
    const valueHash = await rpc<`0x${string}`>(node.url, "eth_sendTransaction", [
      { from: MULTICALL3, to: receiver, value: "0x3e8" },
    ]);
    for (const hash of [callHash, valueHash]) {
      const r = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      expect(r.status, hash).toBe("success");
      expect(r.from).toBe(MULTICALL3.toLowerCase());
    }
    expect(await (token as Contract).balanceOf(receiver)).toBe(120n);
    expect(await publicClient.getBalance({ address: receiver })).toBe(1000n);
    expect((await publicClient.getTransaction({ hash: callHash })).from).toBe(MULTICALL3.toLowerCase());
    // The contract keeps its code (EIP-3607 was lifted for the transaction, not the state).
    const code = (await publicClient.getCode({ address: MULTICALL3 })) as string;
    expect(code.length).toBeGreaterThan(1000);

    // Traces replay the block with the recorded sender, lifting EIP-3607 for it as the block did;
    // prestateTracer shows the contract's real code (the lift disguises runTx's check only).
    const callTrace = await rpc<{ from: string; to: string; input: string }>(node.url, "debug_traceTransaction", [
      callHash,
      { tracer: "callTracer" },
    ]);
    expect(callTrace).toMatchObject({
      from: MULTICALL3.toLowerCase(),
      to: tokenAddress.toLowerCase(),
      input: transferData,
    });
    const pre = await rpc<Record<string, { code?: string }>>(node.url, "debug_traceTransaction", [
      valueHash,
      { tracer: "prestateTracer" },
    ]);
    expect(pre[MULTICALL3.toLowerCase()].code).toBe(code);
    // debug_traceCall from a contract address (geth's SkipFromEOACheck), under the same tracer.
    const preCall = await rpc<Record<string, { code?: string }>>(node.url, "debug_traceCall", [
      { from: MULTICALL3, to: receiver, value: "0x1" },
      "latest",
      { tracer: "prestateTracer" },
    ]);
    expect(preCall[MULTICALL3.toLowerCase()].code).toBe(code);

    await testClient.stopImpersonatingAccount({ address: MULTICALL3 });
    await expect(
      rpc(node.url, "eth_sendTransaction", [{ from: MULTICALL3, to: receiver, value: "0x1" }]),
    ).rejects.toThrow(/unknown account/);
  });

  it("viem multicall reads through the predeployed Multicall3", async () => {
    const { publicClient } = clients();
    const abi = parseAbi([
      "function getChainId() view returns (uint256)",
      "function getBlockNumber() view returns (uint256)",
    ]);
    const [chainId, number] = await publicClient.multicall({
      contracts: [
        { address: MULTICALL3, abi, functionName: "getChainId" },
        { address: MULTICALL3, abi, functionName: "getBlockNumber" },
      ],
      allowFailure: false,
    });
    expect(chainId).toBe(DEV_CHAIN_ID);
    expect(number).toBe(await publicClient.getBlockNumber());
  });
});

describe("snapshots and rewinds", () => {
  it("the Hardhat test workflow: snapshot → deploy → assert → revert, many times", async () => {
    const { publicClient, testClient } = clients();
    const signer = await provider.getSigner(3);
    const base = await publicClient.getBlockNumber();
    const baseBalance = await provider.getBalance(await signer.getAddress());
    const filter = await rpc<string>(node.url, "eth_newBlockFilter");
    let id = await testClient.snapshot();
    for (let round = 0; round < 10; round++) {
      const logger = await new ContractFactory(ConsoleLoggerAbi, ConsoleLoggerBytecode, signer).deploy();
      await logger.waitForDeployment();
      const address = await logger.getAddress();
      await (await (logger as Contract).hello("round")).wait();
      expect(await (logger as Contract).count(), `round ${round}`).toBe(1n);
      expect(await publicClient.getBlockNumber(), `round ${round}`).toBeGreaterThan(base);
      await testClient.revert({ id });
      expect(await publicClient.getBlockNumber(), `round ${round}`).toBe(base);
      expect(await provider.getCode(address), `round ${round}`).toBe("0x");
      expect(await provider.getBalance(await signer.getAddress()), `round ${round}`).toBe(baseBalance);
      // The same nonce again: the reverted deployment lands at the same address.
      id = await testClient.snapshot();
    }
    // A used snapshot is gone; filters see the blocks mined after the rewind.
    expect(await rpc(node.url, "evm_revert", ["0x1"])).toBe(false);
    await rpc(node.url, "eth_getFilterChanges", [filter]);
    await testClient.mine({ blocks: 2 });
    const changes = await rpc<string[]>(node.url, "eth_getFilterChanges", [filter]);
    const head = await publicClient.getBlock();
    expect(changes).toContain(head.hash);
    expect(changes).toHaveLength(2);
  });

  it("a revert also undoes cheats made after the snapshot, and keeps those made before", async () => {
    const { publicClient, testClient } = clients();
    const a = getAddress(Wallet.createRandom().address);
    await testClient.setBalance({ address: a, value: 5n });
    const id = await testClient.snapshot();
    await testClient.setBalance({ address: a, value: 9n });
    await testClient.mine({ blocks: 3 });
    await testClient.setBalance({ address: a, value: 11n });
    await testClient.revert({ id });
    expect(await publicClient.getBalance({ address: a })).toBe(5n);
    await testClient.mine({ blocks: 1 });
    expect(await publicClient.getBalance({ address: a })).toBe(5n);
  });

  it("dumpState → reset → loadState restores the state; reset goes back to genesis", async () => {
    const { publicClient, testClient } = clients();
    const a = getAddress(Wallet.createRandom().address);
    await testClient.setBalance({ address: a, value: 77n });
    await testClient.setStorageAt({ address: a, index: 1, value: `0x${"00".repeat(31)}05` });
    const dump = await testClient.dumpState();
    await testClient.reset();
    expect(await publicClient.getBlockNumber()).toBe(0n);
    expect(await publicClient.getBalance({ address: a })).toBe(0n);
    await testClient.loadState({ state: dump });
    expect(await publicClient.getBalance({ address: a })).toBe(77n);
    expect(await publicClient.getStorageAt({ address: a, slot: "0x1" })).toBe(`0x${"00".repeat(31)}05`);
    // The chain goes on from the reset head, with the loaded state.
    const signer = await provider.getSigner(0);
    await (await signer.sendTransaction({ to: a, value: 3n })).wait();
    expect(await publicClient.getBalance({ address: a })).toBe(80n);
    await waitFor("a block after the load", async () => (await publicClient.getBlockNumber()) >= 1n, 10_000);
  });
});
