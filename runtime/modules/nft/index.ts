import type { DynamicPrecompileResolver } from "../evm.js";
import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";

/** NFT collection registry (`0x…0A03`). Placeholder: the module is being built (issue 4). */
export const NFT_REGISTRY_ADDRESS = moduleAddress(MODULE_ADDRESS.nftRegistry);

export const nftRegistryModule: NativeModule = {
  address: NFT_REGISTRY_ADDRESS,
  def: { name: "NFTRegistry", functions: [] },
};

/** Resolves collection addresses (0x…0a03 + 8-byte number) to their precompile. */
export const resolveNftCollection: DynamicPrecompileResolver = () => undefined;
