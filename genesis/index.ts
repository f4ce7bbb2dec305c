export { buildGenesis, type GenesisBlock } from "./build.js";
export {
  DEV_ACCOUNT_COUNT,
  DEV_MNEMONIC,
  DEV_VALIDATOR_SEED_HEX,
  devAccountPath,
  devnetGenesis,
} from "./devnet.js";
export { createNetworkGenesis, MARKET_PRESETS, type MarketPreset, type NetworkValidatorInput } from "./network.js";
export {
  type ConsensusParams,
  canonicalJSON,
  type GenesisAccount,
  GenesisError,
  GenesisErrorCode,
  type GenesisJSON,
  type GenesisSpec,
  MIN_BLOCK_GAS_LIMIT,
  parseGenesis,
} from "./spec.js";
