import type { Common } from "@ethereumjs/common";
import { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, Address, createAddressFromString, hexToBytes } from "@ethereumjs/util";
import { createAzoraVM, ethBlockForEnv } from "../runtime/evm/vm.js";
import { assert } from "../runtime/lib/assert.js";
import { bytesToHex, equalsBytes } from "../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT } from "../runtime/primitives/hash.js";
import predeployData from "./predeploys/predeploys.json" with { type: "json" };

/**
 * The contracts tools assume on every EVM chain, in every Azora genesis at their canonical addresses
 * with their canonical bytecode (sources and pinned code hashes: `genesis/predeploys/README.md`).
 *
 * Three are placed as runtime code, as they are on other chains: the CREATE2 deployer and Multicall3
 * were deployed by pre-signed transactions (no constructor state), Permit2's runtime is mainnet's (its
 * immutables hold mainnet's chain id and domain separator; Permit2 rebuilds the separator whenever
 * `block.chainid` differs, so signatures bind Azora's chain id). The EntryPoint v0.8 is deployed the
 * way it was everywhere: its creation code run through the CREATE2 deployer with the published salt,
 * so its immutables (SenderCreator, EIP-712 domain) are this chain's and the address check proves the
 * creation code is byte-identical to the canonical one.
 */

export interface Predeploy {
  name: string;
  address: string;
  source: string;
}

const CREATE2_DEPLOYER = predeployData.create2Deployer;
const RUNTIME_PREDEPLOYS = [predeployData.create2Deployer, predeployData.multicall3, predeployData.permit2];
const ENTRY_POINT = predeployData.entryPointV08;

/** Every predeploy with its address, for docs, banners and tests. */
export const PREDEPLOYS: readonly Predeploy[] = [
  { name: "CREATE2 deployer", ...pick(predeployData.create2Deployer) },
  { name: "Multicall3", ...pick(predeployData.multicall3) },
  { name: "Permit2", ...pick(predeployData.permit2) },
  { name: "ERC-4337 EntryPoint v0.8", ...pick(ENTRY_POINT) },
  { name: "ERC-4337 SenderCreator v0.8", address: ENTRY_POINT.senderCreator, source: "created by the EntryPoint" },
];

function pick(p: { address: string; source: string }): { address: string; source: string } {
  return { address: p.address, source: p.source };
}

/** Gas for the EntryPoint deployment (it uses about 5 M). */
const DEPLOY_GAS = 30_000_000n;

/** What the EntryPoint deployment leaves: each account's nonce and code (it writes no storage). */
type Deployed = { address: Address; nonce: bigint; code: Uint8Array }[];

/**
 * The EntryPoint deployment's outcome for a chain id, computed once per process: it is deterministic
 * (no block values are read), and running the 20 KB constructor costs ~200 ms, which every node start
 * and every genesis check would otherwise pay.
 */
const entryPointDeployments = new Map<bigint, Promise<Deployed>>();

async function deployEntryPoint(common: Common): Promise<Deployed> {
  const scratch = new MerkleStateManager({ common });
  const deployer = createAddressFromString(CREATE2_DEPLOYER.address);
  await scratch.putAccount(deployer, new Account(1n, 0n));
  await scratch.putCode(deployer, hexToBytes(CREATE2_DEPLOYER.code as `0x${string}`));
  const vm = await createAzoraVM(common, scratch, { getBlockHash: async () => undefined });
  const zero = new Address(new Uint8Array(20));
  const r = await vm.evm.runCall({
    caller: zero,
    origin: zero,
    to: deployer,
    data: hexToBytes(`${ENTRY_POINT.salt}${ENTRY_POINT.initCode.slice(2)}` as `0x${string}`),
    gasLimit: DEPLOY_GAS,
    block: ethBlockForEnv(common, {
      number: 0n,
      timestamp: 0n,
      gasLimit: DEPLOY_GAS,
      baseFeePerGas: 0n,
      miner: new Uint8Array(20),
      parentHash: new Uint8Array(32),
    }),
  });
  const entryPoint = createAddressFromString(ENTRY_POINT.address);
  const landed = r.execResult.returnValue;
  if (r.execResult.exceptionError !== undefined || !equalsBytes(landed, entryPoint.bytes)) {
    throw new Error(
      `EntryPoint v0.8 predeploy landed at ${bytesToHex(landed)}, not ${ENTRY_POINT.address} (${r.execResult.exceptionError?.error ?? "no error"})`,
    );
  }
  const out: Deployed = [];
  for (const address of [entryPoint, createAddressFromString(ENTRY_POINT.senderCreator)]) {
    const account = await scratch.getAccount(address);
    assert(account !== undefined, "deployed account exists");
    assert(equalsBytes(account.storageRoot, EMPTY_TRIE_ROOT), "the EntryPoint deployment writes no storage");
    out.push({ address, nonce: account.nonce, code: await scratch.getCode(address) });
  }
  return out;
}

/**
 * Writes the predeploys into `state` (genesis state, after the allocation): an address the genesis
 * allocation already gave code keeps it. Deterministic: the same chain id gives the same state.
 */
export async function installPredeploys(state: MerkleStateManager, common: Common): Promise<void> {
  const put = async (address: Address, nonce: bigint, code: Uint8Array) => {
    if ((await state.getCode(address)).length > 0) return;
    const account = (await state.getAccount(address)) ?? new Account(0n, 0n);
    account.nonce = nonce;
    await state.putAccount(address, account);
    await state.putCode(address, code);
  };
  // Nonce 1, as a deployed contract has (EIP-161), so an empty balance never prunes them.
  for (const p of RUNTIME_PREDEPLOYS) {
    await put(createAddressFromString(p.address), 1n, hexToBytes(p.code as `0x${string}`));
  }
  const chainId = common.chainId();
  let deployed = entryPointDeployments.get(chainId);
  if (deployed === undefined) {
    deployed = deployEntryPoint(common);
    entryPointDeployments.set(chainId, deployed);
    deployed.catch(() => entryPointDeployments.delete(chainId));
  }
  for (const d of await deployed) await put(d.address, d.nonce, d.code);
}
