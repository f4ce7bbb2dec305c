import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";

/** LEARN (`0x…0A02`). Placeholder: the module is being built (issue 4). */
export const LEARN_ADDRESS = moduleAddress(MODULE_ADDRESS.learn);

export const learnModule: NativeModule = { address: LEARN_ADDRESS, def: { name: "LEARN", functions: [] } };
