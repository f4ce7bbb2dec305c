import { createRequire } from "node:module";
import {
  Contract,
  ContractFactory,
  concat,
  getCreate2Address,
  JsonRpcProvider,
  keccak256,
  toBeHex,
  Wallet,
  zeroPadValue,
} from "ethers";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  type Hex,
  http,
  parseAbi,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleLoggerAbi, ConsoleLoggerBytecode } from "../../contracts/artifacts/ConsoleLogger.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { rpc } from "../utils/network.js";

/**
 * Real third-party protocols from their published npm artifacts, unmodified bytecode, on `azora dev`:
 * the CREATE2 deployer, an ERC-4337 UserOperation through the predeployed EntryPoint v0.8 from a
 * counterfactual account, an EIP-7702 delegation, and a 2-of-3 Safe (singleton + proxy factory).
 */

const require = createRequire(import.meta.url);
interface Artifact {
  abi: unknown[];
  bytecode: string;
}
const aa = (name: string) => require(`@account-abstraction/contracts/artifacts/${name}.json`) as Artifact;
const safeArtifact = (path: string) =>
  require(`@safe-global/safe-contracts/build/artifacts/contracts/${path}`) as Artifact;

const CREATE2_DEPLOYER = "0x4e59b44847b379578588920ca78fbf26c0b4956c";
const ENTRY_POINT = "0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let provider: JsonRpcProvider;

beforeAll(async () => {
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

const wallet = (i: number) => new Wallet(DEV_KEYS[i], provider);

async function deploy(a: Artifact, signer: Wallet, ...args: unknown[]): Promise<Contract> {
  const c = await new ContractFactory(a.abi as never, a.bytecode, signer).deploy(...args);
  await c.waitForDeployment();
  return c as Contract;
}

describe("CREATE2 deployer (0x4e59…956c)", () => {
  it("deploys at the address CREATE2 predicts", async () => {
    const salt = zeroPadValue("0x42", 32);
    const predicted = getCreate2Address(CREATE2_DEPLOYER, salt, keccak256(ConsoleLoggerBytecode));
    expect(await provider.getCode(predicted)).toBe("0x");
    const tx = await wallet(4).sendTransaction({ to: CREATE2_DEPLOYER, data: concat([salt, ConsoleLoggerBytecode]) });
    expect((await tx.wait())?.status).toBe(1);
    const logger = new Contract(predicted, ConsoleLoggerAbi, wallet(4));
    await (await logger.hello("create2")).wait();
    expect(await logger.count()).toBe(1n);
  });
});

describe("ERC-4337 EntryPoint v0.8 (predeployed)", () => {
  it("executes a UserOperation from a counterfactual SimpleAccount, deploying it on the way", async () => {
    const owner = Wallet.createRandom();
    const bundler = wallet(5);
    const factory = await deploy(aa("SimpleAccountFactory"), wallet(0), ENTRY_POINT);
    const entryPoint = new Contract(ENTRY_POINT, aa("EntryPoint").abi as never, bundler);
    const sender: string = await factory.getFunction("getAddress").staticCall(owner.address, 7n);
    expect(await provider.getCode(sender)).toBe("0x");
    // Prefund the counterfactual account: it pays the EntryPoint for its own gas.
    await (await wallet(0).sendTransaction({ to: sender, value: parseEther("1") })).wait();

    const target = Wallet.createRandom().address;
    const account = new Contract(sender, aa("SimpleAccount").abi as never);
    const pack = (hi: bigint, lo: bigint) => zeroPadValue(toBeHex((hi << 128n) | lo), 32);
    const fees = await provider.getFeeData();
    const op = {
      sender,
      nonce: await entryPoint.getNonce(sender, 0n),
      initCode: concat([
        await factory.getAddress(),
        factory.interface.encodeFunctionData("createAccount", [owner.address, 7n]),
      ]),
      callData: account.interface.encodeFunctionData("execute", [target, 12345n, "0x"]),
      accountGasLimits: pack(1_000_000n, 200_000n), // verificationGasLimit ‖ callGasLimit
      preVerificationGas: 60_000n,
      gasFees: pack(fees.maxPriorityFeePerGas ?? 1n, fees.maxFeePerGas ?? 10n ** 10n),
      paymasterAndData: "0x",
      signature: "0x",
    };
    // v0.8's userOpHash is EIP-712 (the domain's chain id is this chain's); SimpleAccount checks the raw hash.
    const userOpHash: string = await entryPoint.getUserOpHash(op);
    op.signature = owner.signingKey.sign(userOpHash).serialized;
    const receipt = await (await entryPoint.handleOps([op], bundler.address)).wait();
    expect(receipt?.status).toBe(1);
    const event = receipt?.logs
      .map((l: { topics: string[]; data: string }) => entryPoint.interface.parseLog(l))
      .find((e: { name: string } | null) => e?.name === "UserOperationEvent");
    expect(event?.args.success).toBe(true);
    expect(event?.args.userOpHash).toBe(userOpHash);
    expect((await provider.getCode(sender)).length).toBeGreaterThan(2);
    expect(await provider.getBalance(target)).toBe(12345n);
  });
});

describe("EIP-7702 (type-4 transactions, viem)", () => {
  it("delegates an EOA to Simple7702Account and a call through it moves value; every RPC shape shows the authorization", async () => {
    const impl = await deploy(aa("Simple7702Account"), wallet(0));
    const implAddress = (await impl.getAddress()) as Hex;
    const chain = defineChain({
      id: Number(DEV_CHAIN_ID),
      name: "Azora devnet",
      nativeCurrency: { name: "Azora", symbol: "AZR", decimals: 18 },
      rpcUrls: { default: { http: [node.url] } },
    });
    const eoa = privateKeyToAccount(DEV_KEYS[6]);
    const walletClient = createWalletClient({ account: eoa, chain, transport: http(node.url) });
    const publicClient = createPublicClient({ chain, transport: http(node.url), pollingInterval: 20, cacheTime: 0 });
    const target = Wallet.createRandom().address as Hex;

    const authorization = await walletClient.signAuthorization({ contractAddress: implAddress, executor: "self" });
    const hash = await walletClient.sendTransaction({
      authorizationList: [authorization],
      to: eoa.address,
      data: encodeFunctionData({
        abi: parseAbi(["function execute(address target, uint256 value, bytes data)"]),
        args: [target, 777n, "0x"],
      }),
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    expect(receipt.status).toBe("success");
    expect(receipt.type).toBe("eip7702");
    expect(await publicClient.getBalance({ address: target })).toBe(777n);
    expect(await publicClient.getCode({ address: eoa.address })).toBe(`0xef0100${implAddress.slice(2).toLowerCase()}`);

    // geth's shapes: type 0x4 and the authorization list with quantities.
    const raw = await rpc<Record<string, unknown>>(node.url, "eth_getTransactionByHash", [hash]);
    expect(raw.type).toBe("0x4");
    expect(raw.authorizationList).toEqual([
      {
        chainId: `0x${DEV_CHAIN_ID.toString(16)}`,
        address: implAddress.toLowerCase(),
        nonce: `0x${authorization.nonce.toString(16)}`,
        yParity: `0x${(authorization.yParity ?? 0).toString(16)}`,
        r: `0x${BigInt(authorization.r).toString(16)}`,
        s: `0x${BigInt(authorization.s).toString(16)}`,
      },
    ]);
    const block = await rpc<{ transactions: Record<string, unknown>[] }>(node.url, "eth_getBlockByHash", [
      receipt.blockHash,
      true,
    ]);
    expect(block.transactions.find((t) => t.hash === hash)?.authorizationList).toEqual(raw.authorizationList);
    expect((await rpc<Record<string, unknown>>(node.url, "eth_getTransactionReceipt", [hash])).type).toBe("0x4");
    const tx = await publicClient.getTransaction({ hash });
    expect(tx.authorizationList?.[0].address.toLowerCase()).toBe(implAddress.toLowerCase());
  });
});

describe("Safe 1.4.1 from @safe-global/safe-contracts", () => {
  it("a 2-of-3 Safe made by the proxy factory executes a transfer and a contract call", async () => {
    const deployer = wallet(0);
    const singleton = await deploy(safeArtifact("Safe.sol/Safe.json"), deployer);
    const factory = await deploy(safeArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json"), deployer);
    const owners = [wallet(7), wallet(8), wallet(9)];
    const safeAbi = safeArtifact("Safe.sol/Safe.json").abi as never;
    const iface = new Contract(ZERO, safeAbi).interface;
    const setup = iface.encodeFunctionData("setup", [
      owners.map((o) => o.address),
      2n,
      ZERO,
      "0x",
      ZERO,
      ZERO,
      0n,
      ZERO,
    ]);
    const created = await (await factory.createProxyWithNonce(await singleton.getAddress(), setup, 1n)).wait();
    const creation = created?.logs
      .map((l: { topics: string[]; data: string }) => factory.interface.parseLog(l))
      .find((e: { name: string } | null) => e?.name === "ProxyCreation");
    const safe = new Contract(creation?.args.proxy as string, safeAbi, deployer);
    expect(await safe.getThreshold()).toBe(2n);
    await (await deployer.sendTransaction({ to: await safe.getAddress(), value: parseEther("3") })).wait();

    /** Signs a Safe transaction with two owners (sorted by address, as the Safe requires) and executes it. */
    const exec = async (to: string, value: bigint, data: string) => {
      const nonce = await safe.nonce();
      const hash: string = await safe.getTransactionHash(to, value, data, 0, 0n, 0n, 0n, ZERO, ZERO, nonce);
      const signers = [owners[2], owners[0]].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
      const signatures = concat(signers.map((s) => s.signingKey.sign(hash).serialized));
      return (await safe.execTransaction(to, value, data, 0, 0n, 0n, 0n, ZERO, ZERO, signatures)).wait();
    };

    const payee = Wallet.createRandom().address;
    expect((await exec(payee, parseEther("1.5"), "0x"))?.status).toBe(1);
    expect(await provider.getBalance(payee)).toBe(parseEther("1.5"));

    const logger = await deploy({ abi: ConsoleLoggerAbi as never, bytecode: ConsoleLoggerBytecode }, deployer);
    const call = logger.interface.encodeFunctionData("hello", ["safe"]);
    expect((await exec(await logger.getAddress(), 0n, call))?.status).toBe(1);
    expect(await logger.count()).toBe(1n);
    expect(await safe.nonce()).toBe(2n);

    // One signature is below the threshold: the Safe refuses (GS020), decoded by ethers from the revert.
    const nonce = await safe.nonce();
    const hash: string = await safe.getTransactionHash(payee, 1n, "0x", 0, 0n, 0n, 0n, ZERO, ZERO, nonce);
    const one = owners[0].signingKey.sign(hash).serialized;
    await expect(safe.execTransaction(payee, 1n, "0x", 0, 0n, 0n, 0n, ZERO, ZERO, one)).rejects.toThrow(/GS020/);
  });
});

const ZERO = "0x0000000000000000000000000000000000000000";
