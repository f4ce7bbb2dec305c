import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { type BlockConsensusInfo, type BlockEffects, emptyEffects, type HookBlock } from "../blockHooks.js";
import { GOVERNANCE_ADDRESS, governanceEndBlock } from "./governance/index.js";
import { STAKING_ADDRESS, stakingBeginBlock, stakingEndBlock } from "./staking/index.js";
import { SystemCall } from "./system.js";

/** Begin of block: staking applies the block's evidence (slash, tombstone). */
export async function blockHooksBegin(
  sm: MerkleStateManager,
  block: HookBlock,
  info: BlockConsensusInfo,
): Promise<void> {
  await stakingBeginBlock(new SystemCall(sm, STAKING_ADDRESS, block), info);
}

/**
 * End of block, after the last transaction: staking (rewards to the parent's signers, downtime,
 * matured unbondings, the epoch's set) then governance (tallies, parameter changes due, what this
 * block scheduled). Returns what consensus must apply.
 */
export async function blockHooksEnd(
  sm: MerkleStateManager,
  block: HookBlock & { tips: bigint },
  info: BlockConsensusInfo,
): Promise<BlockEffects> {
  const effects = emptyEffects();
  effects.validatorUpdates = await stakingEndBlock(new SystemCall(sm, STAKING_ADDRESS, block), info, block);
  const gov = await governanceEndBlock(new SystemCall(sm, GOVERNANCE_ADDRESS, block), block);
  effects.paramChanges = gov.paramChanges;
  effects.upgradePlan = gov.upgradePlan;
  return effects;
}
