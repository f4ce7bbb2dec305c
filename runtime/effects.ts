import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { BlockEnv } from "./evm/vm.js";
import type { ChainParams, ChainParamsPatch } from "./params.js";
import type { Validator, ValidatorUpdate } from "./primitives/validatorSet.js";

export type { ValidatorUpdate };

/**
 * What executing a block asks of the chain beyond its state — CometBFT's FinalizeBlock
 * `validator_updates` and `consensus_param_updates`, and Cosmos x/upgrade's plan. Native modules
 * report them from their end-block hook (`NativeModule.endBlock`); `BlockExecution.seal` gathers them,
 * the node stores them with the block and applies them at the heights below, on every node alike.
 *
 * - `validatorUpdates` reported by block H take effect at **H + 2** (CometBFT): the set of H + 1 is
 *   already fixed when H is decided (peers are voting on H + 1 while a slow node still executes H).
 * - `paramChanges` take effect at their stated `height`; a stated height ≤ H is applied at H + 1.
 * - `upgradePlan`: from its `height` on, a node whose version is below `version` stops before
 *   processing that height, with a message naming the plan (it never signs or executes there).
 */
export interface BlockEffects {
  validatorUpdates: ValidatorUpdate[];
  paramChanges: ParamChange[];
  upgradePlan: UpgradePlan | null;
}

/** Parameters that change from `height` on. */
export interface ParamChange {
  height: bigint;
  changes: ChainParamsPatch;
}

/** A software upgrade: nodes below `version` (semver) stop at `height` (Cosmos x/upgrade's Plan). */
export interface UpgradePlan {
  /** Short name (shown in the halt message and logs), at most 64 printable ASCII characters. */
  name: string;
  height: bigint;
  /** The lowest node version that may process `height` and above, `MAJOR.MINOR.PATCH`. */
  version: string;
}

export const NO_EFFECTS: Readonly<BlockEffects> = Object.freeze({
  validatorUpdates: [],
  paramChanges: [],
  upgradePlan: null,
});

/**
 * What an end-block hook learns about the block beyond its state (CometBFT's FinalizeBlock request):
 * who validates it, who proposed it, who signed the previous block, who equivocated.
 */
export interface BlockInfo {
  /** The validators of this height, in set order (the index is the validator id in votes and commits). */
  validators: readonly Validator[];
  /** The proposer's validator address (20 bytes, `validatorAddress(publicKey)`). */
  proposer: Uint8Array;
  /**
   * The validators of the previous height and whether each signed the commit certificate this block
   * carries for it (empty at height 1): rewards per signed block, downtime.
   */
  lastCommit: readonly { validator: Validator; signed: boolean }[];
  /**
   * Equivocations recorded in this block (verified): the validator as of the height it double-signed
   * at, and that block's time (unix s) when the node knows it (staking ignores evidence older than its
   * unbonding period).
   */
  misbehavior: readonly { validator: Validator; height: bigint; time?: bigint }[];
  /** The chain parameters in force at this height. */
  params: ChainParams;
}

/** What a module's end-block hook runs against: the block's state (writes are part of the block), env and info. */
export interface EndBlockContext {
  state: MerkleStateManager;
  env: BlockEnv;
  info: BlockInfo;
  /** Priority fees the block's transactions credited to `env.miner` (staking distributes them). */
  tips: bigint;
}

/** A block's effects from each module's part, in module order (updates and changes concatenated; the last plan wins). */
export function mergeEffects(parts: readonly Partial<BlockEffects>[]): BlockEffects {
  const out: BlockEffects = { validatorUpdates: [], paramChanges: [], upgradePlan: null };
  for (const p of parts) {
    if (p.validatorUpdates !== undefined) out.validatorUpdates.push(...p.validatorUpdates);
    if (p.paramChanges !== undefined) out.paramChanges.push(...p.paramChanges);
    if (p.upgradePlan !== undefined && p.upgradePlan !== null) out.upgradePlan = p.upgradePlan;
  }
  return out;
}

export function hasEffects(e: BlockEffects): boolean {
  return e.validatorUpdates.length > 0 || e.paramChanges.length > 0 || e.upgradePlan !== null;
}
