import { rmSync } from "node:fs";
import {
  Contract,
  ContractFactory,
  type InterfaceAbi,
  isError,
  JsonRpcProvider,
  parseEther,
  parseUnits,
  Transaction,
  type TransactionReceipt,
  Wallet,
  WebSocketProvider,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, spawnNode, tempDir } from "../utils/devnode.js";

/**
 * The chain-core acceptance path, against the real `azora dev` process: OpenZeppelin contracts
 * compiled by solc, deployed and used with ethers v6, events through three channels, decoded
 * reverts, every transaction rejection, and a kill -9 restart that must lose nothing committed.
 */

const providerOpts = { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true } as const;
const RECIPIENT = "0x000000000000000000000000000000000000beef";

let dataDir: string;
let node: NodeProcess;
let provider: JsonRpcProvider;
let alice: Wallet;
let bob: Wallet;

function connect(url: string): JsonRpcProvider {
  const p = new JsonRpcProvider(url, Number(DEV_CHAIN_ID), providerOpts);
  p.pollingInterval = 20;
  return p;
}

async function rejectionOf(raw: string): Promise<{ code: number; message: string }> {
  const res = await fetch(node.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendRawTransaction", params: [raw] }),
  });
  const body = (await res.json()) as { error?: { code: number; message: string } };
  expect(body.error, `expected a rejection for ${raw.slice(0, 20)}…`).toBeDefined();
  return body.error as { code: number; message: string };
}

beforeAll(async () => {
  dataDir = tempDir("e2e");
  node = await spawnNode(dataDir);
  provider = connect(node.url);
  alice = new Wallet(DEV_KEYS[0], provider);
  bob = new Wallet(DEV_KEYS[1], provider);
});

afterAll(async () => {
  provider?.destroy();
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("azora dev with ethers v6", () => {
  let token: Contract;
  let nft: Contract;
  let tokenAddress: string;

  it("reports the devnet chain id and a funded dev account", async () => {
    expect((await provider.getNetwork()).chainId).toBe(DEV_CHAIN_ID);
    expect(await provider.getBalance(alice.address)).toBeGreaterThanOrEqual(parseEther("900000"));
  });

  it("moves value and charges exactly gasUsed * effectiveGasPrice", async () => {
    const before = await provider.getBalance(alice.address);
    const tx = await alice.sendTransaction({ to: RECIPIENT, value: parseEther("1.25") });
    const r = (await tx.wait()) as TransactionReceipt;
    expect(r.status).toBe(1);
    expect(r.gasUsed).toBe(21000n);
    const after = await provider.getBalance(alice.address, r.blockNumber);
    expect(before - after).toBe(parseEther("1.25") + r.gasUsed * r.gasPrice);
    expect(await provider.getBalance(RECIPIENT, r.blockNumber)).toBe(parseEther("1.25"));
    // Final on commit: latest, safe and finalized are the same block.
    const [latest, safe, finalized] = await Promise.all(
      ["latest", "safe", "finalized"].map((t) => provider.send("eth_getBlockByNumber", [t, false])),
    );
    expect(safe.hash).toBe(latest.hash);
    expect(finalized.hash).toBe(latest.hash);
  });

  it("deploys an OpenZeppelin ERC-20 and transfers with a Transfer event in the receipt", async () => {
    const a = loadArtifact("TestToken");
    const deployed = await new ContractFactory(a.abi as InterfaceAbi, a.bytecode, alice).deploy(
      parseUnits("1000000", 18),
    );
    await deployed.waitForDeployment();
    tokenAddress = await deployed.getAddress();
    token = new Contract(tokenAddress, a.abi as InterfaceAbi, alice);
    expect(await provider.getCode(tokenAddress)).not.toBe("0x");
    expect(await token.symbol()).toBe("TTK");

    const r = (await (await token.transfer(bob.address, 500n)).wait()) as TransactionReceipt;
    const parsed = r.logs.map((l) => token.interface.parseLog(l)).filter((l) => l !== null);
    expect(parsed).toHaveLength(1);
    expect(parsed[0]?.name).toBe("Transfer");
    expect(parsed[0]?.args.from).toBe(alice.address);
    expect(parsed[0]?.args.to).toBe(bob.address);
    expect(parsed[0]?.args.value).toBe(500n);
    expect(await token.balanceOf(bob.address)).toBe(500n);
  });

  it("finds the Transfer events with eth_getLogs (address + topic filter)", async () => {
    const filter = token.filters.Transfer(alice.address, bob.address);
    const logs = await token.queryFilter(filter, 0, "latest");
    expect(logs.length).toBe(1);
    expect((logs[0] as unknown as { args: { value: bigint } }).args.value).toBe(500n);
    const none = await token.queryFilter(token.filters.Transfer(bob.address, alice.address), 0, "latest");
    expect(none).toHaveLength(0);
  });

  it("pushes Transfer events over a WebSocket subscription", async () => {
    const ws = new WebSocketProvider(node.wsUrl, Number(DEV_CHAIN_ID), { staticNetwork: true });
    try {
      const wsToken = new Contract(tokenAddress, token.interface, ws);
      let resolveValue: (v: bigint) => void = () => {};
      const got = new Promise<bigint>((resolve) => {
        resolveValue = resolve;
      });
      // ethers passes the decoded event as the last listener argument.
      await wsToken.on(wsToken.filters.Transfer(alice.address, RECIPIENT), (...args: unknown[]) =>
        resolveValue((args.at(-1) as { args: { value: bigint } }).args.value),
      );
      // eth_subscribe went out on this socket first; once a later request is answered, the node
      // has registered the subscription (no sleeping on luck).
      await ws.send("eth_chainId", []);
      await (await token.transfer(RECIPIENT, 77n)).wait();
      await expect(got).resolves.toBe(77n);
    } finally {
      await ws.destroy();
    }
  });

  it("decodes revert reasons and custom errors for calls and estimates", async () => {
    await expect(token.failWithReason.staticCall()).rejects.toMatchObject({ reason: "TestToken: forced failure" });
    try {
      await (token.connect(bob) as Contract).mint.staticCall(bob.address, 1n);
      expect.unreachable("mint by a non-owner must revert");
    } catch (e) {
      expect(isError(e, "CALL_EXCEPTION")).toBe(true);
      const err = e as { revert?: { name: string; args: unknown[] } };
      expect(err.revert?.name).toBe("OwnableUnauthorizedAccount");
      expect(err.revert?.args[0]).toBe(bob.address);
    }
    try {
      await (token.connect(bob) as Contract).transfer.estimateGas(alice.address, 10n ** 30n);
      expect.unreachable("over-balance transfer must revert");
    } catch (e) {
      // ethers does not decode estimateGas reverts itself; the code-3 data must carry the custom error.
      expect(isError(e, "CALL_EXCEPTION")).toBe(true);
      const decoded = token.interface.parseError((e as { data: string }).data);
      expect(decoded?.name).toBe("ERC20InsufficientBalance");
      expect(decoded?.args[0]).toBe(bob.address);
    }
  });

  it("records a reverted transaction as status 0", async () => {
    const tx = await token.failWithReason({ gasLimit: 100_000 });
    await expect(tx.wait()).rejects.toMatchObject({ code: "CALL_EXCEPTION" });
    const r = await provider.getTransactionReceipt(tx.hash);
    expect(r?.status).toBe(0);
  });

  it("deploys an OpenZeppelin ERC-721, mints, transfers and reads ownership", async () => {
    const a = loadArtifact("TestNFT");
    const deployed = await new ContractFactory(a.abi as InterfaceAbi, a.bytecode, alice).deploy();
    await deployed.waitForDeployment();
    nft = new Contract(await deployed.getAddress(), a.abi as InterfaceAbi, alice);
    const r = (await (await nft.mint(alice.address)).wait()) as TransactionReceipt;
    const minted = r.logs.map((l) => nft.interface.parseLog(l)).find((l) => l?.name === "Transfer");
    expect(minted?.args.tokenId).toBe(1n);
    await (await nft.transferFrom(alice.address, bob.address, 1n)).wait();
    expect(await nft.ownerOf(1n)).toBe(bob.address);
    expect(await nft.tokenURI(1n)).toMatch(/^ipfs:\/\//);
    try {
      await nft.ownerOf.staticCall(99n);
      expect.unreachable();
    } catch (e) {
      expect((e as { revert?: { name: string } }).revert?.name).toBe("ERC721NonexistentToken");
    }
  });

  it("rejects each bad transaction with geth's message", async () => {
    const nonce = await provider.getTransactionCount(alice.address, "pending");
    const base = {
      type: 2,
      chainId: DEV_CHAIN_ID,
      to: RECIPIENT,
      value: 1n,
      gasLimit: 21000n,
      maxFeePerGas: parseUnits("10", "gwei"),
      maxPriorityFeePerGas: parseUnits("1", "gwei"),
      nonce,
    };
    const sign = (w: Wallet, fields: Partial<typeof base> & Record<string, unknown>) =>
      w.signTransaction({ ...base, ...fields });

    expect((await rejectionOf(await sign(alice, { nonce: 0 }))).message).toBe("nonce too low");
    const poor = Wallet.createRandom();
    expect((await rejectionOf(await sign(new Wallet(poor.privateKey), { nonce: 0 }))).message).toBe(
      "insufficient funds for gas * price + value",
    );
    expect((await rejectionOf(await sign(alice, { chainId: 1n }))).message).toBe("invalid chain id");
    expect((await rejectionOf(await sign(alice, { gasLimit: 20000n }))).message).toBe("intrinsic gas too low");
    expect((await rejectionOf(await sign(alice, { gasLimit: 100_000_000n }))).message).toBe("exceeds block gas limit");
    expect(
      (await rejectionOf(await sign(alice, { data: `0x${"00".repeat(130 * 1024)}`, gasLimit: 5_000_000n }))).message,
    ).toBe("oversized data");
    expect((await rejectionOf(await sign(alice, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }))).message).toBe(
      "transaction underpriced",
    );
    const rejection = await rejectionOf(await sign(alice, { nonce: 0 }));
    expect(rejection.code).toBe(-32000);

    // Replacement: queue a future-nonce tx, then try to replace it with less than +10 %.
    const future = await sign(alice, { nonce: nonce + 5 });
    await provider.send("eth_sendRawTransaction", [future]);
    const cheaper = await sign(alice, {
      nonce: nonce + 5,
      value: 2n,
      maxFeePerGas: parseUnits("10.5", "gwei"),
      maxPriorityFeePerGas: parseUnits("1.05", "gwei"),
    });
    expect((await rejectionOf(cheaper)).message).toBe("replacement transaction underpriced");
    expect((await rejectionOf(future)).message).toBe("already known");
    // A transaction that is not valid RLP at all.
    expect((await rejectionOf("0x02c0ffee")).code).toBe(-32000);
    // Unprotected legacy (pre-EIP-155) transactions are refused.
    const legacy = Transaction.from({
      type: 0,
      to: RECIPIENT,
      gasLimit: 21000n,
      gasPrice: parseUnits("5", "gwei"),
      nonce,
    });
    legacy.signature = new Wallet(DEV_KEYS[0]).signingKey.sign(legacy.unsignedHash);
    expect((await rejectionOf(legacy.serialized)).message).toMatch(/replay-protected/);
  });

  it("survives kill -9: same head, block hashes, state root and balances after restart", async () => {
    // Make sure some blocks exist beyond the ones above.
    for (let i = 0; i < 3; i++) await (await alice.sendTransaction({ to: RECIPIENT, value: 1n })).wait();
    const head = await provider.getBlockNumber();
    const hashes: string[] = [];
    for (let n = 0; n <= head; n++) hashes.push((await provider.getBlock(n))?.hash as string);
    const headBlock = await provider.send("eth_getBlockByNumber", [`0x${head.toString(16)}`, false]);
    const balances = await Promise.all(
      [alice.address, bob.address, RECIPIENT].map((a) => provider.getBalance(a, head)),
    );
    const tokenBalance = await token.balanceOf(bob.address, { blockTag: head });

    provider.destroy();
    await node.kill9();
    node = await spawnNode(dataDir);
    provider = connect(node.url);
    alice = alice.connect(provider);
    token = token.connect(alice) as Contract;

    const restartedHead = await provider.getBlockNumber();
    expect(restartedHead).toBeGreaterThanOrEqual(head);
    for (let n = 0; n <= head; n++) {
      expect((await provider.getBlock(n))?.hash, `block ${n} hash after restart`).toBe(hashes[n]);
    }
    const again = await provider.send("eth_getBlockByNumber", [`0x${head.toString(16)}`, false]);
    expect(again.stateRoot).toBe(headBlock.stateRoot);
    const balancesAfter = await Promise.all(
      [alice.address, bob.address, RECIPIENT].map((a) => provider.getBalance(a, head)),
    );
    expect(balancesAfter).toEqual(balances);
    expect(await token.balanceOf(bob.address, { blockTag: head })).toBe(tokenBalance);

    // And the chain keeps going from there.
    const r = (await (await alice.sendTransaction({ to: RECIPIENT, value: 1n })).wait()) as TransactionReceipt;
    expect(r.blockNumber).toBeGreaterThan(head);
  });
});
