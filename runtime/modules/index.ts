import { escrowModule } from "./escrow/index.js";
import type { DynamicPrecompileResolver } from "./evm.js";
import { governanceModule } from "./governance/index.js";
import { learnModule } from "./learn/index.js";
import { marketModule } from "./market/index.js";
import { modelRegistryModule } from "./models/index.js";
import { nftRegistryModule, resolveNftCollection } from "./nft/index.js";
import type { NativeModule } from "./registry.js";
import { stakingModule } from "./staking/index.js";
import { wazrModule } from "./wazr/index.js";

export { ESCROW_ADDRESS } from "./escrow/index.js";
export { AzoraEVM, type DynamicPrecompileResolver } from "./evm.js";
export { GOVERNANCE_ADDRESS, readUpgradePlan } from "./governance/index.js";
export { LEARN_ADDRESS } from "./learn/index.js";
export { MARKET_ADDRESS } from "./market/index.js";
export { MODEL_REGISTRY_ADDRESS } from "./models/index.js";
export { NFT_REGISTRY_ADDRESS } from "./nft/index.js";
export {
  type GenesisContext,
  type GenesisValidator,
  installModules,
  MODULE_ADDRESS,
  MODULE_MARKER_CODE,
  moduleAddress,
  modulePrecompiles,
  type NativeModule,
} from "./registry.js";
export { STAKING_ADDRESS } from "./staking/index.js";
export { burnFromSupply, WAZR_ADDRESS } from "./wazr/index.js";

/** Every native module of the ledger, in address order. */
export const NATIVE_MODULES: readonly NativeModule[] = [
  wazrModule,
  learnModule,
  nftRegistryModule,
  escrowModule,
  marketModule,
  stakingModule,
  governanceModule,
  modelRegistryModule,
];

/** Precompiles that live in address ranges rather than at one address: the NFT collections. */
export const resolveDynamicPrecompile: DynamicPrecompileResolver = resolveNftCollection;
