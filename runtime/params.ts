import type { FeeParams } from "./fees.js";
import { AzoraError } from "./lib/errors.js";

/** Consensus timing, chain-wide (every validator must wait alike). Genesis `consensus` has this shape. */
export interface ConsensusTiming {
  /** An empty block is made when no transaction has waited for this long (time keeps moving). */
  emptyBlockIntervalMs: number;
  timeoutProposeMs: number;
  timeoutProposeDeltaMs: number;
  timeoutPrevoteMs: number;
  timeoutPrevoteDeltaMs: number;
  timeoutPrecommitMs: number;
  timeoutPrecommitDeltaMs: number;
}

/**
 * The chain parameters governance can change: in force from a height on, on every node alike. Genesis
 * holds the first version (so changing them never changes the genesis hash); later versions come from
 * blocks' `BlockEffects.paramChanges` and are stored with the chain (node/chain/paramsHistory.ts).
 */
export interface ChainParams {
  /** Gas limit of every block (header `gasLimit`). */
  gasLimit: bigint;
  /** EIP-1559 base fee: floor and adjustment (runtime/fees.ts). */
  fees: FeeParams;
  consensus: ConsensusTiming;
}

/** A change to some parameters; fields left out keep their value. */
export interface ChainParamsPatch {
  gasLimit?: bigint;
  fees?: Partial<FeeParams>;
  consensus?: Partial<ConsensusTiming>;
}

/** Ethereum's block gas limit was 30M for years; a lower limit would refuse deployments tools expect to work. */
export const MIN_BLOCK_GAS_LIMIT = 30_000_000n;
/** Above this a block's execution would outlast any sane timeout on one core. */
export const MAX_BLOCK_GAS_LIMIT = 2_000_000_000n;
/** Timeouts and the empty-block interval stay below a day (a typo must not stall the chain for years). */
export const MAX_TIMING_MS = 86_400_000;

export enum ParamsErrorCode {
  INVALID = "PARAMS_ERROR_INVALID",
}

export class ParamsError extends AzoraError<{ code: ParamsErrorCode.INVALID; field: string; reason: string }> {
  constructor(field: string, reason: string) {
    super({ code: ParamsErrorCode.INVALID, field, reason }, `invalid chain parameter ${field}: ${reason}`);
  }
}

export const CONSENSUS_TIMING_KEYS: readonly (keyof ConsensusTiming)[] = [
  "emptyBlockIntervalMs",
  "timeoutProposeMs",
  "timeoutProposeDeltaMs",
  "timeoutPrevoteMs",
  "timeoutPrevoteDeltaMs",
  "timeoutPrecommitMs",
  "timeoutPrecommitDeltaMs",
];

/** Throws `ParamsError` naming the first parameter out of its bounds. */
export function validateChainParams(p: ChainParams): void {
  if (p.gasLimit < MIN_BLOCK_GAS_LIMIT) throw new ParamsError("gasLimit", `must be at least ${MIN_BLOCK_GAS_LIMIT}`);
  if (p.gasLimit > MAX_BLOCK_GAS_LIMIT) throw new ParamsError("gasLimit", `must be at most ${MAX_BLOCK_GAS_LIMIT}`);
  if (p.fees.minBaseFeePerGas < 0n) throw new ParamsError("fees.minBaseFeePerGas", "must not be negative");
  if (p.fees.elasticityMultiplier < 1n) throw new ParamsError("fees.elasticityMultiplier", "must be at least 1");
  if (p.fees.baseFeeChangeDenominator < 1n)
    throw new ParamsError("fees.baseFeeChangeDenominator", "must be at least 1");
  for (const k of CONSENSUS_TIMING_KEYS) {
    const v = p.consensus[k];
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_TIMING_MS) {
      throw new ParamsError(`consensus.${k}`, `must be an integer in [0, ${MAX_TIMING_MS}]`);
    }
  }
  if (p.consensus.emptyBlockIntervalMs < 1) throw new ParamsError("consensus.emptyBlockIntervalMs", "must be positive");
}

/** `base` with `patch` applied (validated: throws `ParamsError` when the result is out of bounds). */
export function applyParamsPatch(base: ChainParams, patch: ChainParamsPatch): ChainParams {
  const next: ChainParams = {
    gasLimit: patch.gasLimit ?? base.gasLimit,
    fees: { ...base.fees, ...definedOnly(patch.fees) },
    consensus: { ...base.consensus, ...definedOnly(patch.consensus) },
  };
  validateChainParams(next);
  return next;
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  if (o === undefined) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One parameter change as the chain recorded it: from `height` on, reported by block `source`. */
export interface ScheduledChange {
  height: bigint;
  /** The block whose execution reported it (changes at one height apply in the order reported). */
  source: bigint;
  changes: ChainParamsPatch;
}

/**
 * The chain parameters of every height: genesis, then each recorded change from its height on, in
 * order of height and then of report. A change that would put a parameter out of bounds is skipped
 * (every node skips it alike; `skipped` lists them for the logs and RPC). Reading a height is a binary
 * search over the versions; the number of versions is the number of changes ever made.
 */
export class ParamsHistory {
  private readonly changes: ScheduledChange[] = [];
  /** Versions by ascending height; versions[0] is genesis (height 0). */
  private versions: { height: bigint; params: ChainParams }[];
  private skippedChanges: { change: ScheduledChange; reason: string }[] = [];

  constructor(
    private readonly genesis: ChainParams,
    changes: readonly ScheduledChange[] = [],
  ) {
    this.versions = [{ height: 0n, params: genesis }];
    for (const c of changes) this.changes.push(c);
    this.rebuild();
  }

  /** The parameters in force at `height`. */
  at(height: bigint): ChainParams {
    const v = this.versions;
    let lo = 0;
    let hi = v.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (v[mid].height <= height) lo = mid;
      else hi = mid - 1;
    }
    return v[lo].params;
  }

  /** Records changes reported by block `source`; a stated height at or below `source` takes effect at `source` + 1. */
  record(source: bigint, changes: readonly { height: bigint; changes: ChainParamsPatch }[]): ScheduledChange[] {
    const added = changes.map((c) => ({
      height: c.height > source ? c.height : source + 1n,
      source,
      changes: c.changes,
    }));
    if (added.length === 0) return added;
    this.changes.push(...added);
    this.rebuild();
    return added;
  }

  /** Changes that take effect above `height` (for RPC: what is coming). */
  pending(height: bigint): ScheduledChange[] {
    return this.ordered().filter((c) => c.height > height);
  }

  /** Changes left out because they put a parameter out of bounds, with why. */
  get skipped(): readonly { change: ScheduledChange; reason: string }[] {
    return this.skippedChanges;
  }

  /** Forgets the changes reported by blocks above `height` (a rollback). */
  truncate(height: bigint): void {
    const kept = this.changes.filter((c) => c.source <= height);
    this.changes.length = 0;
    this.changes.push(...kept);
    this.rebuild();
  }

  private ordered(): ScheduledChange[] {
    return [...this.changes].sort((a, b) =>
      a.height !== b.height ? (a.height < b.height ? -1 : 1) : a.source < b.source ? -1 : a.source > b.source ? 1 : 0,
    );
  }

  private rebuild(): void {
    const versions = [{ height: 0n, params: this.genesis }];
    const skipped: { change: ScheduledChange; reason: string }[] = [];
    for (const c of this.ordered()) {
      const last = versions[versions.length - 1];
      let params: ChainParams;
      try {
        params = applyParamsPatch(last.params, c.changes);
      } catch (e) {
        if (!(e instanceof ParamsError)) throw e;
        skipped.push({ change: c, reason: e.message });
        continue;
      }
      if (last.height === c.height) versions[versions.length - 1] = { height: c.height, params };
      else versions.push({ height: c.height, params });
    }
    this.versions = versions;
    this.skippedChanges = skipped;
  }
}
