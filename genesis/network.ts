import devnetJSON from "./devnet.json" with { type: "json" };
import type { GenesisJSON } from "./spec.js";

export interface NetworkValidatorInput {
  name: string;
  /** 0x-hex raw ed25519 public key. */
  publicKey: string;
  power: number;
  /** 0x address credited with the tips of the blocks it proposes. */
  feeRecipient: string;
}

/**
 * Genesis of a multi-validator network (what `azora init` writes): the devnet's accounts, token
 * allocations and fee rules, with the given chain id, validators and time. Chain-wide consensus
 * timing lives here, not in node config, so every node runs the same timeouts.
 */
export function createNetworkGenesis(opts: {
  chainId: number;
  networkName: string;
  genesisTime: number;
  validators: NetworkValidatorInput[];
}): GenesisJSON {
  const base = structuredClone(devnetJSON) as GenesisJSON;
  return {
    ...base,
    chainId: opts.chainId,
    networkName: opts.networkName,
    genesisTime: opts.genesisTime,
    validators: opts.validators,
  };
}
