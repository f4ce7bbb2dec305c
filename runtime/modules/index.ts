import { escrowModule } from "./escrow/index.js";
import type { DynamicPrecompileResolver } from "./evm.js";
import { governanceModule } from "./governance/index.js";
import { type FunctionTable, functionTable, type ModuleDef } from "./host.js";
import { learnModule } from "./learn/index.js";
import { marketModule } from "./market/index.js";
import { modelRegistryModule } from "./models/index.js";
import { collectionFunctions } from "./nft/collection.js";
import { collectionNumber, nftRegistryModule, resolveNftCollection } from "./nft/index.js";
import type { NativeModule } from "./registry.js";
import { stakingModule } from "./staking/index.js";
import { wazrModule } from "./wazr/index.js";

export { ESCROW_ADDRESS } from "./escrow/index.js";
export { AzoraEVM, type DynamicPrecompileResolver } from "./evm.js";
export { GOVERNANCE_ADDRESS, readUpgradePlan } from "./governance/index.js";
export { type CallBlock, type FunctionTable, ModuleCall, NeedsEVM, runModuleCall } from "./host.js";
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

const COLLECTION_DEF: ModuleDef = { name: "NFTCollection", functions: collectionFunctions };

/**
 * The function table answering at `address` (a native module or an NFT collection), or undefined:
 * what a tracer needs to show a native call with its decoded arguments.
 */
export function moduleDefAt(address: Uint8Array): ModuleDef | undefined {
  for (const m of NATIVE_MODULES) if (equal20(m.address.bytes, address)) return m.def;
  return collectionNumber(address) === undefined ? undefined : COLLECTION_DEF;
}

function equal20(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 20; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A module the executor may call without the EVM: its name (for revert texts) and functions. */
export interface DirectModule {
  name: string;
  table: FunctionTable;
}

/**
 * The modules whose top-level calls the executor runs directly (runtime/moduleFastPath.ts): their
 * functions touch state only through `ModuleCall` (storage words, logs, gas) and never move native
 * AZR or write accounts through the EVM journal (WAZR, the NFT registry and the market do, so they
 * stay on the VM). A function that turns out to need the EVM anyway (a collection's safe transfer
 * to a contract calls `onERC721Received`) throws `NeedsEVM`, and the executor falls back.
 */
const DIRECT_LEARN: DirectModule = { name: learnModule.def.name, table: functionTable(learnModule.def) };
const DIRECT_COLLECTION: DirectModule = { name: COLLECTION_DEF.name, table: functionTable(COLLECTION_DEF) };
const LEARN_BYTES = learnModule.address.bytes;

export function directModuleAt(address: Uint8Array): DirectModule | undefined {
  if (equal20(address, LEARN_BYTES)) return DIRECT_LEARN;
  return collectionNumber(address) === undefined ? undefined : DIRECT_COLLECTION;
}
