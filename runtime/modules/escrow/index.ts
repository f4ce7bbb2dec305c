import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";

/** Escrow (`0x…0A04`). Placeholder: the module is being built (issue 4). */
export const ESCROW_ADDRESS = moduleAddress(MODULE_ADDRESS.escrow);

export const escrowModule: NativeModule = { address: ESCROW_ADDRESS, def: { name: "Escrow", functions: [] } };
