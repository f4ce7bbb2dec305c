import devnetJSON from "./devnet.json" with { type: "json" };
import { type GenesisSpec, parseGenesis } from "./spec.js";

/**
 * The built-in single-validator devnet. Its keys are public on purpose (like Anvil's and Hardhat's):
 * never use them on a network that holds value.
 */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const DEV_ACCOUNT_COUNT = 10;
/** HD path of dev account i (MetaMask's and Hardhat's default). */
export const devAccountPath = (i: number): string => `m/44'/60'/0'/0/${i}`;
/** Seed of the devnet's only validator key: sha256("azora devnet validator 0"). */
export const DEV_VALIDATOR_SEED_HEX = "a398138aadf7701d3f0db98299de0d03387a6bec9259e26775efe8889a736f47";

export function devnetGenesis(): GenesisSpec {
  return parseGenesis(structuredClone(devnetJSON));
}
