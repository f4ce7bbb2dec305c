import { Contract, ContractFactory, JsonRpcProvider, parseEther, Wallet } from "ethers";
import { IWAZRAbi } from "../../contracts/artifacts/IWAZR.js";
import { TestNFTAbi, TestNFTBytecode } from "../../contracts/artifacts/TestNFT.js";
import { TestTokenAbi, TestTokenBytecode } from "../../contracts/artifacts/TestToken.js";
import { TraceRouterAbi, TraceRouterBytecode } from "../../contracts/artifacts/TraceRouter.js";
import { TraceVaultAbi, TraceVaultBytecode } from "../../contracts/artifacts/TraceVault.js";
import { DEV_KEYS } from "../utils/devnode.js";

export const WAZR = "0x0000000000000000000000000000000000000a01";

/** What `makeActivity` put on chain, for the assertions. */
export interface Activity {
  owner: string;
  alice: string;
  token: string;
  nft: string;
  vault: string;
  router: string;
  tokenTransfer: string;
  nftMint: string;
  wazrTransfer: string;
  internalCalls: string;
  reverted: string;
  lastBlock: number;
}

/**
 * Every kind of row the indexer writes, on a dev node: an ERC-20 deployed with constructor arguments and
 * transferred, an ERC-721 minted, $AZR moved through WAZR (a native module's Transfer event), a call that makes
 * internal calls with value (router → vault → back), and a transaction that reverts with a reason.
 */
export async function makeActivity(url: string): Promise<Activity> {
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  const owner = new Wallet(DEV_KEYS[0], provider);
  const alice = new Wallet(DEV_KEYS[1]).address;
  const deploy = async (abi: unknown, bytecode: string, ...args: unknown[]) => {
    const c = await new ContractFactory(abi as never, bytecode, owner).deploy(...args);
    await c.waitForDeployment();
    return c as unknown as Contract;
  };
  const wait = async (p: Promise<{ hash: string; wait(): Promise<unknown> }>) => {
    // Not tx.wait(): it throws on a reverted receipt, and one of these is meant to revert.
    const tx = await p;
    await provider.waitForTransaction(tx.hash);
    return tx.hash;
  };
  const token = await deploy(TestTokenAbi, TestTokenBytecode, 1_000_000n);
  const tokenTransfer = await wait(token.transfer(alice, 250n));
  const nft = await deploy(TestNFTAbi, TestNFTBytecode);
  const nftMint = await wait(nft.mint(alice));
  const wazr = new Contract(WAZR, IWAZRAbi as never, owner);
  const wazrTransfer = await wait(wazr.transfer(alice, parseEther("1")));
  const vault = await deploy(TraceVaultAbi, TraceVaultBytecode);
  const router = await deploy(TraceRouterAbi, TraceRouterBytecode);
  const internalCalls = await wait(
    router.forward(await vault.getAddress(), parseEther("0.25"), { value: parseEther("1") }),
  );
  const reverted = await wait(token.failWithReason({ gasLimit: 200_000n }));
  const lastBlock = await provider.getBlockNumber();
  provider.destroy();
  return {
    owner: owner.address.toLowerCase(),
    alice: alice.toLowerCase(),
    token: (await token.getAddress()).toLowerCase(),
    nft: (await nft.getAddress()).toLowerCase(),
    vault: (await vault.getAddress()).toLowerCase(),
    router: (await router.getAddress()).toLowerCase(),
    tokenTransfer,
    nftMint,
    wazrTransfer,
    internalCalls,
    reverted,
    lastBlock,
  };
}
