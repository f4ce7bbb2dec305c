import { MAX_BLOCK_GAS_LIMIT, MIN_BLOCK_GAS_LIMIT } from "../../params.js";
import { namedSlot, storageSlot } from "../host.js";
import type { ModuleState } from "../state.js";

/**
 * Governance's own parameters (in the governance account's storage) and the names and bounds of the
 * chain parameters it may change (block gas limit, fee rules, consensus timing). Those live with the
 * chain, not in state (the node keeps their history, `runtime/params.ts`): an executed change is
 * reported in the block's effects with the height it takes effect at, and waits in a pending list
 * here until then (for `pendingChanges()`).
 */
export interface GovParams {
  /** AZR (wei) a proposal's deposits must reach for voting to start. */
  minDeposit: bigint;
  /** Seconds a proposal has to reach `minDeposit`. */
  depositPeriod: bigint;
  votingPeriod: bigint;
  /** Seconds between the end of voting and the earliest `execute`. */
  timelock: bigint;
  /** Share of bonded stake that must vote (Cosmos: 33.4 %). */
  quorumBps: bigint;
  /** Share of non-abstaining votes that must be Yes (50 %). */
  thresholdBps: bigint;
  /** Share of all votes that vetoes (33.4 %): the deposits are burned. */
  vetoBps: bigint;
}

export const GOV_BPS = 10_000n;
const MAX_SECONDS = 2n ** 40n;

interface Def {
  key: string;
  min: bigint;
  max: bigint;
}

export const GOV_PARAM_DEFS: Record<keyof GovParams, Def> = {
  minDeposit: { key: "gov.minDeposit", min: 1n, max: 2n ** 128n - 1n },
  depositPeriod: { key: "gov.depositPeriod", min: 1n, max: MAX_SECONDS },
  votingPeriod: { key: "gov.votingPeriod", min: 1n, max: MAX_SECONDS },
  timelock: { key: "gov.timelock", min: 0n, max: MAX_SECONDS },
  quorumBps: { key: "gov.quorumBps", min: 1n, max: GOV_BPS },
  thresholdBps: { key: "gov.thresholdBps", min: 1n, max: GOV_BPS },
  vetoBps: { key: "gov.vetoBps", min: 1n, max: GOV_BPS },
};
export const GOV_PARAM_NAMES = Object.keys(GOV_PARAM_DEFS) as (keyof GovParams)[];

/** The chain parameters the node reads per height (README: Governance → parameters). */
export const CHAIN_PARAM_DEFS: Record<string, Def> = {
  gasLimit: { key: "block.gasLimit", min: MIN_BLOCK_GAS_LIMIT, max: MAX_BLOCK_GAS_LIMIT },
  minBaseFeePerGas: { key: "fees.minBaseFeePerGas", min: 0n, max: 2n ** 64n },
  elasticityMultiplier: { key: "fees.elasticityMultiplier", min: 1n, max: 16n },
  baseFeeChangeDenominator: { key: "fees.baseFeeChangeDenominator", min: 1n, max: 1024n },
  emptyBlockIntervalMs: { key: "consensus.emptyBlockIntervalMs", min: 10n, max: 3_600_000n },
  timeoutProposeMs: { key: "consensus.timeoutProposeMs", min: 1n, max: 600_000n },
  timeoutProposeDeltaMs: { key: "consensus.timeoutProposeDeltaMs", min: 0n, max: 600_000n },
  timeoutPrevoteMs: { key: "consensus.timeoutPrevoteMs", min: 1n, max: 600_000n },
  timeoutPrevoteDeltaMs: { key: "consensus.timeoutPrevoteDeltaMs", min: 0n, max: 600_000n },
  timeoutPrecommitMs: { key: "consensus.timeoutPrecommitMs", min: 1n, max: 600_000n },
  timeoutPrecommitDeltaMs: { key: "consensus.timeoutPrecommitDeltaMs", min: 0n, max: 600_000n },
};
export const CHAIN_PARAM_NAMES = Object.keys(CHAIN_PARAM_DEFS);
export type ChainParams = Record<string, bigint>;

/** Blocks between the block that executes a chain-parameter change and the first block that uses it. */
export const PARAM_CHANGE_DELAY = 2n;
/** Chain-parameter changes waiting for their height, at most. */
export const MAX_PENDING_CHANGES = 32;

const govSlot = (name: string) => namedSlot(`azora.governance.params.${name}`);
const PENDING_COUNT = namedSlot("azora.governance.pendingCount");
const PENDING = namedSlot("azora.governance.pending");

export class GovParamReader {
  private readonly cache = new Map<string, bigint>();
  constructor(private readonly s: ModuleState) {}
  async get(name: keyof GovParams): Promise<bigint> {
    let v = this.cache.get(name);
    if (v === undefined) {
      v = await this.s.load(govSlot(name));
      this.cache.set(name, v);
    }
    return v;
  }
  async all(): Promise<GovParams> {
    const out = {} as GovParams;
    for (const n of GOV_PARAM_NAMES) out[n] = await this.get(n);
    return out;
  }
}

export async function writeGovParam(s: ModuleState, name: keyof GovParams, value: bigint): Promise<void> {
  await s.store(govSlot(name), value);
}

/** A chain-parameter change waiting for `height` (scheduled by the block `scheduledAt`). */
export interface PendingChange {
  name: string;
  value: bigint;
  height: bigint;
  scheduledAt: bigint;
}

const pendingWord = (i: number, f: number) => storageSlot(PENDING, BigInt(i), BigInt(f));

export async function pendingChanges(s: ModuleState): Promise<PendingChange[]> {
  const n = Number(await s.load(PENDING_COUNT));
  const out: PendingChange[] = [];
  for (let i = 0; i < n; i++) {
    const head = await s.load(pendingWord(i, 0));
    out.push({
      name: CHAIN_PARAM_NAMES[Number(head & 0xffn)],
      height: (head >> 8n) & (2n ** 64n - 1n),
      scheduledAt: head >> 72n,
      value: await s.load(pendingWord(i, 1)),
    });
  }
  return out;
}

async function writePending(s: ModuleState, list: PendingChange[], oldCount: number): Promise<void> {
  for (const [i, c] of list.entries()) {
    await s.store(
      pendingWord(i, 0),
      BigInt(CHAIN_PARAM_NAMES.indexOf(c.name)) | (c.height << 8n) | (c.scheduledAt << 72n),
    );
    await s.store(pendingWord(i, 1), c.value);
  }
  for (let i = list.length; i < oldCount; i++) {
    await s.store(pendingWord(i, 0), 0n);
    await s.store(pendingWord(i, 1), 0n);
  }
  await s.store(PENDING_COUNT, BigInt(list.length));
}

/** Adds a change to the pending list (false when it is full). */
export async function schedule(s: ModuleState, change: PendingChange): Promise<boolean> {
  const list = await pendingChanges(s);
  if (list.length >= MAX_PENDING_CHANGES) return false;
  list.push(change);
  await writePending(s, list, list.length - 1);
  return true;
}

/**
 * End of block `number`: changes due at `number + 1` leave the list (the node applies them from the
 * block's effects and keeps the parameters' history; bounded by MAX_PENDING_CHANGES).
 */
export async function dropDue(s: ModuleState, number: bigint): Promise<void> {
  if ((await s.load(PENDING_COUNT)) === 0n) return;
  const list = await pendingChanges(s);
  const keep = list.filter((c) => c.height > number + 1n);
  if (keep.length !== list.length) await writePending(s, keep, list.length);
}

export { govSlot };
