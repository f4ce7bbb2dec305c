/**
 * The seam between consensus and the state transition for what a block does beyond its
 * transactions (ABCI's BeginBlock / EndBlock): consensus tells the runtime who signed the parent
 * block and who misbehaved; the runtime reports what consensus must apply at later heights.
 * Native modules (staking, governance) implement `BlockHook`; `BlockExecution` runs them, bounded
 * work each, before the first and after the last transaction.
 */

/** One validator of the parent block's set and whether its precommit is in the block's last commit. */
export interface CommitVote {
  /** Consensus address: the first 20 bytes of sha256(ed25519 public key). */
  address: Uint8Array;
  power: bigint;
  signed: boolean;
}

/** A validator proven to have signed two conflicting votes (the block's evidence). */
export interface Misbehaviour {
  /** Consensus address of the equivocating validator. */
  address: Uint8Array;
  /** Height and block time (unix seconds) of the infraction. */
  height: bigint;
  time: bigint;
}

/** What consensus knows about a block that its transactions do not carry. */
export interface BlockConsensusInfo {
  /** The parent's validators (in set order) with their signatures in this block's last commit; empty at height 1. */
  lastCommit: CommitVote[];
  misbehaviour: Misbehaviour[];
}

export const NO_CONSENSUS_INFO: BlockConsensusInfo = { lastCommit: [], misbehaviour: [] };

/** A change of one validator's voting power (CometBFT's ValidatorUpdate): power 0 removes it from the set. */
export interface ValidatorUpdate {
  /** Raw 32-byte ed25519 public key. */
  publicKey: Uint8Array;
  /** Consensus address (first 20 bytes of sha256(publicKey)). */
  address: Uint8Array;
  power: bigint;
  /** Where the tips of the blocks it proposes go (the staking module, which distributes them). */
  feeRecipient: Uint8Array;
}

/** A chain parameter (read by the node, e.g. `gasLimit`) that takes a new value from block `height` on. */
export interface ParamChange {
  key: string;
  value: bigint;
  height: bigint;
}

/** A software upgrade scheduled by governance: nodes not running `name` stop before block `height`. */
export interface UpgradePlan {
  name: string;
  height: bigint;
  info: string;
}

/** What a block's execution asks consensus to apply. */
export interface BlockEffects {
  /** Changes to the validator set, sorted by address; empty when the set stays as it is. */
  validatorUpdates: ValidatorUpdate[];
  /** Parameter changes scheduled by this block (each names the height it takes effect at). */
  paramChanges: ParamChange[];
  /** The upgrade plan when this block scheduled (or replaced) one. */
  upgradePlan: UpgradePlan | null;
}

export const emptyEffects = (): BlockEffects => ({ validatorUpdates: [], paramChanges: [], upgradePlan: null });

/** The executing block as hooks see it. */
export interface HookBlock {
  number: bigint;
  timestamp: bigint;
  /** COINBASE: tips of the block's transactions were credited here. */
  miner: Uint8Array;
}
