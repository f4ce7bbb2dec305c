import devnetJSON from "./devnet.json" with { type: "json" };
import type { GenesisJSON } from "./spec.js";

export interface NetworkValidatorInput {
  name: string;
  /** 0x-hex raw ed25519 public key. */
  publicKey: string;
  power: number;
  /** 0x address credited with the tips of the blocks it proposes. */
  feeRecipient: string;
  /**
   * 0x account operating the validator in the staking module: its self-stake (power p = p AZR, minted at
   * genesis) is this account's delegation; it edits, unjails and collects the commission. One per validator.
   */
  operator: string;
}

/**
 * Job market parameters (`modules.market`) `azora init` can write. `devnet`: the built-in devnet's,
 * windows of seconds to an hour so tests and demos settle quickly. `production`: windows of a minute
 * to a week, a day for disputes, 30 days of unbonding (more than 4 × 7 days + 1 day), larger stakes.
 * Both send fees to dev account 0 (the LEARN admin of the generated genesis): edit `feeRecipient`
 * for a network that holds value.
 */
export const MARKET_PRESETS = {
  devnet: devnetJSON.modules.market,
  production: {
    ...devnetJSON.modules.market,
    minWorkerStake: "1000000000000000000000",
    minClaimBond: "1000000000000000000",
    challengeBond: "10000000000000000000",
    disputeWindow: 86_400,
    unbondingPeriod: 2_592_000,
    minWindow: 60,
    maxWindow: 604_800,
  },
} as const;
export type MarketPreset = keyof typeof MARKET_PRESETS;

/**
 * Genesis of a multi-validator network (what `azora init` writes): the devnet's accounts, token
 * allocations and fee rules, with the given chain id, validators and time, and the job market
 * parameters of `marketPreset` (default `devnet`). Chain-wide consensus timing lives here, not in
 * node config, so every node runs the same timeouts.
 */
export function createNetworkGenesis(opts: {
  chainId: number;
  networkName: string;
  genesisTime: number;
  validators: NetworkValidatorInput[];
  marketPreset?: MarketPreset;
}): GenesisJSON {
  const base = structuredClone(devnetJSON) as GenesisJSON;
  return {
    ...base,
    chainId: opts.chainId,
    networkName: opts.networkName,
    genesisTime: opts.genesisTime,
    validators: opts.validators,
    modules: {
      ...base.modules,
      market: structuredClone(MARKET_PRESETS[opts.marketPreset ?? "devnet"]),
      // Room for every genesis validator in the active set.
      staking: {
        ...devnetJSON.modules.staking,
        maxValidators: Math.max(devnetJSON.modules.staking.maxValidators, opts.validators.length),
        // The devnet's 100-block downtime window is 10 s of a network making a block every 100 ms under load:
        // restarting a validator (an upgrade, a crash) would jail it. 1,000 blocks give an operator minutes at
        // that pace (and ~50 min at the 3 s empty-block interval); governance can change it.
        signedBlocksWindow: 1_000,
      },
    },
  };
}
