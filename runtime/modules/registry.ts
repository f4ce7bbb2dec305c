import type { CustomPrecompile, PrecompileFunc } from "@ethereumjs/evm";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, Address } from "@ethereumjs/util";
import type { BlockEffects, EndBlockContext } from "../effects.js";
import { recurringBloomInput } from "../primitives/receipt.js";
import type { ModuleDef } from "./host.js";
import { toPrecompile } from "./host.js";

/** Fixed addresses of the native modules (`0x` + 36 zeros + four digits); clients rely on them. */
export const MODULE_ADDRESS = {
  wazr: 0x0a01,
  learn: 0x0a02,
  nftRegistry: 0x0a03,
  escrow: 0x0a04,
  market: 0x0a05,
  staking: 0x0a06,
  governance: 0x0a07,
  modelRegistry: 0x0a08,
} as const;

export function moduleAddress(n: number): Address {
  const bytes = new Uint8Array(20);
  bytes[18] = n >> 8;
  bytes[19] = n & 0xff;
  // A module's address is in each of its logs (LEARN's in every transfer's): its bloom bits once.
  return new Address(recurringBloomInput(bytes));
}

/** The governance module's account: it holds the community treasury. */
export const GOVERNANCE_ADDRESS: Address = moduleAddress(MODULE_ADDRESS.governance);

/**
 * Code stored at every module address: one INVALID opcode. Never executed (the precompile answers
 * first); it exists so Solidity's `extcodesize` checks before a high-level call pass.
 */
export const MODULE_MARKER_CODE = Uint8Array.of(0xfe);

/** A native module: a precompile at a fixed address, and what genesis writes for it. */
export interface NativeModule {
  address: Address;
  def: ModuleDef;
  /** Writes the module's initial state from genesis parameters (validated here). */
  genesis?(state: MerkleStateManager, params: unknown, context: GenesisContext): Promise<void>;
  /**
   * Runs once at the end of every block, after its transactions and before its state root (its
   * writes are part of the block): rewards, epoch boundaries, executing passed proposals. What it
   * returns asks the chain for validator-set changes, parameter changes or an upgrade (`BlockEffects`,
   * applied at the heights documented there). Must be deterministic and bounded like any module code.
   */
  endBlock?(ctx: EndBlockContext): Promise<Partial<BlockEffects> | undefined>;
}

export interface GenesisContext {
  /** Sum of all genesis balances (the initial AZR supply). */
  totalNativeSupply: bigint;
  /** Unix seconds of block 0. */
  genesisTime: bigint;
  /** The genesis validator set (staking turns each into a self-staked validator). */
  validators: GenesisValidator[];
}

export interface GenesisValidator {
  name: string;
  publicKey: Uint8Array;
  power: bigint;
  /** The account that operates the validator (genesis `validators[i].operator`), if given. */
  operator: Uint8Array | null;
}

export function modulePrecompiles(modules: readonly NativeModule[]): CustomPrecompile[] {
  return modules.map((m) => ({ address: m.address, function: toPrecompile(m.def) }));
}

/** Gives each module account its marker code and nonce 1, then lets the module write its state. */
export async function installModules(
  state: MerkleStateManager,
  modules: readonly NativeModule[],
  params: Record<string, unknown>,
  context: GenesisContext,
): Promise<void> {
  for (const m of modules) {
    const existing = (await state.getAccount(m.address)) ?? new Account();
    existing.nonce = existing.nonce > 1n ? existing.nonce : 1n;
    await state.putAccount(m.address, existing);
    await state.putCode(m.address, MODULE_MARKER_CODE);
    await m.genesis?.(state, params[m.def.name.toLowerCase()], context);
  }
}

export type { PrecompileFunc };
