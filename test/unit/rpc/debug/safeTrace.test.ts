import { createRequire } from "node:module";
import {
  Contract,
  ContractFactory,
  concat,
  Interface,
  type InterfaceAbi,
  parseEther,
  SigningKey,
  Wallet,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEYS } from "../../../utils/devnode.js";
import {
  type Deployed,
  deploy,
  devWallet,
  type Json,
  provider,
  result,
  startInProcessNode,
  type TestNode,
  waitReceipt,
  word,
} from "../eth/helpers.js";

/**
 * A real third-party protocol traced with callTracer: the Safe smart account (v1.4.1, unmodified
 * bytecode from the published npm artifacts) — singleton, proxy factory, a 2-of-3 Safe — executing
 * a transfer, a contract call, and a call that fails, each traced as geth would show it.
 */
const require = createRequire(import.meta.url);
const safeArtifact = (path: string) =>
  require(`@safe-global/safe-contracts/build/artifacts/contracts/${path}`) as { abi: InterfaceAbi; bytecode: string };
const ZERO = "0x0000000000000000000000000000000000000000";
const ECRECOVER = "0x0000000000000000000000000000000000000001";

describe("debug_traceTransaction on a 2-of-3 Safe: EOA → proxy → singleton → target", () => {
  let node: TestNode;
  let safe: Contract;
  let safeAddress: string;
  let singleton: string;
  let probe: Deployed;
  const owners = [1, 2, 3].map((i) => new SigningKey(DEV_KEYS[i]));
  const recipient = Wallet.createRandom().address.toLowerCase();

  /** execTransaction signed by two owners (sorted by address, as Safe requires), sent by dev account 0. */
  async function exec(to: string, value: bigint, data: string): Promise<string> {
    const nonce: bigint = await safe.nonce();
    const args = [to, value, data, 0, 0n, 0n, 0n, ZERO, ZERO] as const;
    const hash: string = await safe.getTransactionHash(...args, nonce);
    const signers = owners
      .map((k) => ({ address: new Wallet(k.privateKey).address.toLowerCase(), key: k }))
      .sort((a, b) => (a.address < b.address ? -1 : 1))
      .slice(0, 2);
    const signatures = concat(signers.map((s) => s.key.sign(hash).serialized));
    const submitter = devWallet(node.url, 0);
    const data_ = safe.interface.encodeFunctionData("execTransaction", [...args, signatures]);
    // A fixed gas limit: the failing execution must be mined (with status 0), not refused by estimation.
    const tx = await submitter.sendTransaction({ to: safeAddress, data: data_, gasLimit: 500_000n });
    await waitReceipt(node.url, tx.hash);
    return tx.hash;
  }

  const trace = (hash: string): Promise<Json> =>
    result(node.url, "debug_traceTransaction", [hash, { tracer: "callTracer" }]);

  beforeAll(async () => {
    node = await startInProcessNode();
    const deployer = devWallet(node.url, 0);
    const deployArtifact = async (path: string) => {
      const a = safeArtifact(path);
      const c = await new ContractFactory(a.abi, a.bytecode, deployer).deploy();
      await c.waitForDeployment();
      return (await c.getAddress()).toLowerCase();
    };
    singleton = await deployArtifact("Safe.sol/Safe.json");
    const factoryAddress = await deployArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json");
    const safeAbi = safeArtifact("Safe.sol/Safe.json").abi;
    const setup = new Interface(safeAbi).encodeFunctionData("setup", [
      owners.map((k) => new Wallet(k.privateKey).address),
      2n,
      ZERO,
      "0x",
      ZERO,
      ZERO,
      0n,
      ZERO,
    ]);
    const factory = new Contract(
      factoryAddress,
      safeArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json").abi,
      deployer,
    );
    const receipt = await (await factory.createProxyWithNonce(singleton, setup, 7n)).wait();
    const created = receipt.logs
      .map((l: Json) => factory.interface.parseLog(l))
      .find((e: Json) => e?.name === "ProxyCreation");
    safeAddress = (created.args.proxy as string).toLowerCase();
    safe = new Contract(safeAddress, safeAbi, provider(node.url));
    await (await deployer.sendTransaction({ to: safeAddress, value: parseEther("2") })).wait();
    probe = await deploy(deployer, "Probe");
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a transfer: the proxy delegates to the singleton, which checks two signatures (ecrecover) and pays the recipient", async () => {
    const hash = await exec(recipient, parseEther("0.25"), "0x");
    const t = await trace(hash);
    expect(t).toMatchObject({ type: "CALL", to: safeAddress, value: "0x0" });
    expect(t.error).toBeUndefined();
    expect(t.calls).toHaveLength(1);
    const [inner] = t.calls;
    expect(inner).toMatchObject({ type: "DELEGATECALL", from: safeAddress, to: singleton, input: t.input });
    expect(inner.calls.map((c: Json) => [c.type, c.to])).toEqual([
      ["STATICCALL", ECRECOVER],
      ["STATICCALL", ECRECOVER],
      ["CALL", recipient],
    ]);
    expect(inner.calls[2]).toMatchObject({ from: safeAddress, value: "0x3782dace9d90000", input: "0x" });
    expect(await result(node.url, "eth_getBalance", [recipient, "latest"])).toBe("0x3782dace9d90000");
  });

  it("a contract call: the target sees the Safe as its caller, with the input the owners signed", async () => {
    const data = new Interface(probe.abi).encodeFunctionData("set", [42n, word(9)]);
    const t = await trace(await exec(probe.address, 0n, data));
    const target = t.calls[0].calls.at(-1);
    expect(target).toMatchObject({ type: "CALL", from: safeAddress, to: probe.address, input: data, value: "0x0" });
    expect(target.error).toBeUndefined();
  });

  it("a failing execution: the target's revert decoded in its frame, Safe's GS013 in the frames above it", async () => {
    const data = new Interface(probe.abi).encodeFunctionData("revertWithReason", ["vault is locked"]);
    const hash = await exec(probe.address, 0n, data);
    expect((await result(node.url, "eth_getTransactionReceipt", [hash])).status).toBe("0x0");
    const t = await trace(hash);
    expect(t).toMatchObject({ error: "execution reverted", revertReason: "GS013" });
    const [inner] = t.calls;
    expect(inner).toMatchObject({
      type: "DELEGATECALL",
      to: singleton,
      error: "execution reverted",
      revertReason: "GS013",
    });
    const target = inner.calls.at(-1);
    expect(target).toMatchObject({
      type: "CALL",
      from: safeAddress,
      to: probe.address,
      error: "execution reverted",
      revertReason: "vault is locked",
    });
  });
});
