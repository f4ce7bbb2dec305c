import type { DynamicPrecompileResolver } from "./evm.js";
import type { NativeModule } from "./registry.js";
import { wazrModule } from "./wazr/index.js";

export { AzoraEVM, type DynamicPrecompileResolver } from "./evm.js";
export {
  type GenesisContext,
  installModules,
  MODULE_ADDRESS,
  MODULE_MARKER_CODE,
  moduleAddress,
  modulePrecompiles,
  type NativeModule,
} from "./registry.js";
export { burnFromSupply, WAZR_ADDRESS } from "./wazr/index.js";

/** Every native module of the ledger, in address order. */
export const NATIVE_MODULES: readonly NativeModule[] = [wazrModule];

/** Precompiles that live in address ranges rather than at one address (none yet). */
export const resolveDynamicPrecompile: DynamicPrecompileResolver = () => undefined;
