/**
 * NFT collection registry (`0x…0A03`, INFTRegistry) and the collections it creates, each a native
 * ERC-721 (IAzoraCollection) at `0x` + 10 zero bytes + `0a03` + its number (8 bytes). See README.md.
 */
import type { DynamicPrecompileResolver } from "../evm.js";
import { toPrecompile } from "../host.js";
import type { NativeModule } from "../registry.js";
import { collectionFunctions } from "./collection.js";
import { registryFunctions } from "./registry.js";
import { collectionNumber, NFT_REGISTRY_ADDRESS } from "./storage.js";

export { COLLECTION_GAS, MAX_URI_BYTES } from "./collection.js";
export { MAX_NAME_BYTES, MAX_SYMBOL_BYTES, REGISTRY_GAS } from "./registry.js";
export { collectionAddress, collectionNumber, NFT_REGISTRY_ADDRESS } from "./storage.js";

export const nftRegistryModule: NativeModule = {
  address: NFT_REGISTRY_ADDRESS,
  def: { name: "NFTRegistry", functions: registryFunctions },
};

/** One precompile serves every collection; the collection it acts for is the call's own address. */
const collectionPrecompile = toPrecompile({ name: "NFTCollection", functions: collectionFunctions });

/**
 * Resolves every address of the collection range to the shared collection precompile, assigned or
 * not: an unassigned one must revert (the precompile checks), not run as an empty account.
 */
export const resolveNftCollection: DynamicPrecompileResolver = (address) =>
  collectionNumber(address.bytes) === undefined ? undefined : collectionPrecompile;
