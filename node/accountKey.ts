/**
 * The account key of the client commands (`--key-file`, `--password-file`, `--dev-account`), shared by the
 * worker, job, staking and search commands. Its own small module so that the staking and search commands do
 * not load the worker's whole runtime (serviceCommands.ts) to read a key.
 */
import { InvalidArgumentError } from "commander";
import { HDNodeWallet, JsonRpcProvider, Wallet } from "ethers";
import { DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import { loadWallet } from "../services/runtime/config.js";

/** The devnet's chain id: `--dev-account` is refused anywhere else. */
const DEVNET_CHAIN_ID = 16730n;

export async function devWallet(index: number, rpcUrl: string): Promise<Wallet> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  const { chainId } = await provider.getNetwork();
  provider.destroy();
  if (chainId !== DEVNET_CHAIN_ID)
    throw new InvalidArgumentError(
      `--dev-account works on the devnet (chain ${DEVNET_CHAIN_ID}) only; this is chain ${chainId}`,
    );
  const hd = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(index));
  return new Wallet(hd.privateKey);
}

export interface KeyFlags {
  keyFile?: string;
  passwordFile?: string;
  devAccount?: number;
}

export async function walletFrom(flags: KeyFlags, rpcUrl: string): Promise<Wallet> {
  if (flags.keyFile !== undefined) return loadWallet(flags.keyFile, flags.passwordFile);
  if (flags.devAccount !== undefined) return devWallet(flags.devAccount, rpcUrl);
  throw new InvalidArgumentError("give --key-file <file> (or --dev-account <n> on the devnet)");
}
