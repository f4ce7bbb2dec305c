// The transactions the tracing phase traces (bench/tracing.ts): each workload deploys what it needs from one
// deployer and sends `txs` mined transactions, the same on Azora and on Anvil, and returns their hashes.

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
import { loadArtifact } from "../contracts/artifacts.js";

export interface TraceWorkload {
  name: "safe" | "proxy";
  /** What one traced transaction is, for the table. */
  title: string;
  setup(deployer: Wallet, txs: number): Promise<string[]>;
}

const require = createRequire(import.meta.url);
const safeArtifact = (path: string) =>
  require(`@safe-global/safe-contracts/build/artifacts/contracts/${path}`) as { abi: InterfaceAbi; bytecode: string };
const ZERO = "0x0000000000000000000000000000000000000000";
/** Owners of the Safe: three throwaway keys (they only sign; the deployer submits). */
const OWNER_KEYS = [1, 2, 3].map((i) => `0x${i.toString(16).padStart(64, "0")}`);

async function deploy(w: Wallet, abi: InterfaceAbi, bytecode: string, args: unknown[] = []): Promise<string> {
  const c = await new ContractFactory(abi, bytecode, w).deploy(...args, { gasLimit: 6_000_000n });
  await c.waitForDeployment();
  return c.getAddress();
}

async function mined(w: Wallet, tx: { to: string; data: string; value?: bigint; gasLimit: bigint }): Promise<string> {
  const sent = await w.sendTransaction(tx);
  const r = await sent.wait();
  if (r?.status !== 1) throw new Error(`transaction ${sent.hash} failed`);
  return sent.hash;
}

/** A 2-of-3 Safe (singleton + proxy factory, v1.4.1) paying a recipient `txs` times, each signed by two owners. */
const safe: TraceWorkload = {
  name: "safe",
  title: "Safe 2-of-3 execTransaction",
  async setup(w, txs) {
    const singletonArtifact = safeArtifact("Safe.sol/Safe.json");
    const factoryArtifact = safeArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json");
    const singleton = await deploy(w, singletonArtifact.abi, singletonArtifact.bytecode);
    const factory = new Contract(
      await deploy(w, factoryArtifact.abi, factoryArtifact.bytecode),
      factoryArtifact.abi,
      w,
    );
    const owners = OWNER_KEYS.map((k) => new SigningKey(k));
    const iface = new Interface(singletonArtifact.abi);
    const ownerAddresses = owners.map((k) => new Wallet(k.privateKey).address);
    const setup = iface.encodeFunctionData("setup", [ownerAddresses, 2n, ZERO, "0x", ZERO, ZERO, 0n, ZERO]);
    const receipt = await (await factory.createProxyWithNonce(singleton, setup, 1n, { gasLimit: 1_000_000n })).wait();
    const created = receipt.logs
      .map((l: { topics: string[]; data: string }) => factory.interface.parseLog(l))
      .find((e: { name: string } | null) => e?.name === "ProxyCreation");
    const proxy: string = created.args.proxy;
    const account = new Contract(proxy, singletonArtifact.abi, w);
    await mined(w, { to: proxy, data: "0x", value: parseEther("100"), gasLimit: 100_000n });
    const signers = owners
      .map((key, i) => ({ key, address: ownerAddresses[i].toLowerCase() }))
      .sort((a, b) => (a.address < b.address ? -1 : 1))
      .slice(0, 2);
    const recipient = "0x00000000000000000000000000000000000b0b0b";
    const hashes: string[] = [];
    for (let i = 0; i < txs; i++) {
      const args = [recipient, BigInt(i + 1), "0x", 0, 0n, 0n, 0n, ZERO, ZERO] as const;
      const hash: string = await account.getTransactionHash(...args, BigInt(i));
      const signatures = concat(signers.map((s) => s.key.sign(hash).serialized));
      const data = iface.encodeFunctionData("execTransaction", [...args, signatures]);
      hashes.push(await mined(w, { to: proxy, data, gasLimit: 300_000n }));
    }
    return hashes;
  },
};

/** TraceDemo: an OpenZeppelin ERC-1967 proxy → router → vault deposit and partial withdrawal (paid back to the proxy). */
const proxy: TraceWorkload = {
  name: "proxy",
  title: "ERC-1967 proxy → router → vault",
  async setup(w, txs) {
    const art = (name: string) => {
      const a = loadArtifact(name);
      return [a.abi as InterfaceAbi, a.bytecode] as const;
    };
    const vault = await deploy(w, ...art("TraceVault"));
    const router = await deploy(w, ...art("TraceRouter"));
    const entry = await deploy(w, ...art("TraceProxy"), [router, w.address]);
    const iface = new Interface(loadArtifact("TraceRouter").abi as InterfaceAbi);
    const hashes: string[] = [];
    for (let i = 0; i < txs; i++) {
      const data = iface.encodeFunctionData("forward", [vault, BigInt(i + 1)]);
      hashes.push(await mined(w, { to: entry, data, value: parseEther("1"), gasLimit: 300_000n }));
    }
    return hashes;
  },
};

export const TRACE_WORKLOADS: readonly TraceWorkload[] = [safe, proxy];
