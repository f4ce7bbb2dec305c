import { namedSlot } from "../host.js";
import type { ModuleState } from "../state.js";

/**
 * Staking and slashing parameters: written at genesis from `modules.staking`, kept one per storage
 * word of the staking account so governance can change each (`staking.<name>` / `slashing.<name>`),
 * read back per use. Units: AZR in wei, times in seconds, shares in basis points.
 */
export interface StakingParams {
  /** Size of the active set: the top validators by bonded stake. */
  maxValidators: bigint;
  /** Blocks per epoch: the set changes at heights that are multiples of it. */
  epochLength: bigint;
  /** Seconds undelegated stake stays slashable before it is paid back; also the evidence age limit. */
  unbondingPeriod: bigint;
  /** Least self-stake a validator needs to be created and to stay eligible for the set. */
  minSelfStake: bigint;
  /** Yearly inflation paid to validators that sign blocks, in bps of the supply. */
  inflationBps: bigint;
  /** Share of every block's rewards (tips + inflation) that goes to the community treasury. */
  communityTaxBps: bigint;
  /** Blocks in the downtime window. */
  signedBlocksWindow: bigint;
  /** Least share of the window a validator must sign; missing more slashes and jails it. */
  minSignedBps: bigint;
  downtimeSlashBps: bigint;
  doubleSignSlashBps: bigint;
  downtimeJailSeconds: bigint;
}

export const BPS = 10_000n;
/** Voting power = bonded AZR / 10^18 (one power per whole AZR). */
export const POWER_REDUCTION = 10n ** 18n;
/** Hard bounds (loops over the set, the candidates and a window's words are bounded by them). */
export const MAX_ACTIVE_VALIDATORS = 100n;
export const MAX_SIGNED_BLOCKS_WINDOW = 10_000n;
/** A slash never takes everything, so a share of a slashed validator keeps a value (no division by zero). */
export const MAX_SLASH_BPS = 5_000n;
const MAX_AMOUNT = 2n ** 128n - 1n;
const MAX_SECONDS = 2n ** 40n;

interface ParamDef {
  /** Governance key, e.g. `staking.maxValidators`. */
  key: string;
  min: bigint;
  max: bigint;
  /** Genesis JSON gives this one as a decimal string (amounts), else as a number. */
  amount?: boolean;
}

export const STAKING_PARAM_DEFS: Record<keyof StakingParams, ParamDef> = {
  maxValidators: { key: "staking.maxValidators", min: 1n, max: MAX_ACTIVE_VALIDATORS },
  epochLength: { key: "staking.epochLength", min: 1n, max: 1_000_000n },
  unbondingPeriod: { key: "staking.unbondingPeriod", min: 1n, max: MAX_SECONDS },
  minSelfStake: { key: "staking.minSelfStake", min: POWER_REDUCTION, max: MAX_AMOUNT, amount: true },
  inflationBps: { key: "staking.inflationBps", min: 0n, max: 5_000n },
  communityTaxBps: { key: "staking.communityTaxBps", min: 0n, max: BPS },
  signedBlocksWindow: { key: "slashing.signedBlocksWindow", min: 10n, max: MAX_SIGNED_BLOCKS_WINDOW },
  minSignedBps: { key: "slashing.minSignedBps", min: 1n, max: BPS },
  downtimeSlashBps: { key: "slashing.downtimeSlashBps", min: 0n, max: MAX_SLASH_BPS },
  doubleSignSlashBps: { key: "slashing.doubleSignSlashBps", min: 0n, max: MAX_SLASH_BPS },
  downtimeJailSeconds: { key: "slashing.downtimeJailSeconds", min: 0n, max: MAX_SECONDS },
};

export const STAKING_PARAM_NAMES = Object.keys(STAKING_PARAM_DEFS) as (keyof StakingParams)[];
const slotOf = (name: keyof StakingParams) => namedSlot(`azora.staking.params.${name}`);
const SLOTS = Object.fromEntries(STAKING_PARAM_NAMES.map((n) => [n, slotOf(n)])) as Record<
  keyof StakingParams,
  Uint8Array
>;

/** Reads parameters lazily within one use, each word at most once. */
export class StakingParamReader {
  private readonly cache = new Map<keyof StakingParams, bigint>();
  constructor(private readonly s: ModuleState) {}

  async get(name: keyof StakingParams): Promise<bigint> {
    let v = this.cache.get(name);
    if (v === undefined) {
      v = await this.s.load(SLOTS[name]);
      this.cache.set(name, v);
    }
    return v;
  }

  async all(): Promise<StakingParams> {
    const out = {} as StakingParams;
    for (const n of STAKING_PARAM_NAMES) out[n] = await this.get(n);
    return out;
  }
}

/** The parameter a governance key names, or undefined. */
export function stakingParamByKey(key: string): (ParamDef & { name: keyof StakingParams }) | undefined {
  for (const n of STAKING_PARAM_NAMES)
    if (STAKING_PARAM_DEFS[n].key === key) return { ...STAKING_PARAM_DEFS[n], name: n };
  return undefined;
}

/** Writes one parameter (governance; the value was checked against its bounds by `checkStakingParam`). */
export async function writeStakingParam(s: ModuleState, name: keyof StakingParams, value: bigint): Promise<void> {
  await s.store(SLOTS[name], value);
}

export function checkStakingParam(name: keyof StakingParams, value: bigint): string | null {
  const d = STAKING_PARAM_DEFS[name];
  if (value < d.min || value > d.max) return `${d.key} must be between ${d.min} and ${d.max}`;
  return null;
}

// --- genesis -------------------------------------------------------------------------------------

const FIELD = "modules.staking";

function fail(field: string, reason: string): never {
  throw new Error(`invalid genesis: ${field}: ${reason}`);
}

export interface StakingGenesis {
  params: StakingParams;
  /** Commission of the genesis validators (bps). */
  genesisCommissionBps: bigint;
}

/** Validates `modules.staking` strictly: every parameter required, within its bounds, no unknown key. */
export function parseStakingGenesis(v: unknown): StakingGenesis {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(FIELD, "expected an object");
  const p = v as Record<string, unknown>;
  const keys = [...STAKING_PARAM_NAMES, "genesisCommissionBps"] as string[];
  for (const k of Object.keys(p)) if (!keys.includes(k)) fail(`${FIELD}.${k}`, "unknown parameter");
  const params = {} as StakingParams;
  for (const n of STAKING_PARAM_NAMES) {
    const d = STAKING_PARAM_DEFS[n];
    const raw = p[n];
    const field = `${FIELD}.${n}`;
    if (raw === undefined) fail(field, "required");
    let x: bigint;
    if (d.amount === true) {
      if (typeof raw !== "string" || !/^(0|[1-9][0-9]*)$/.test(raw)) fail(field, "expected a decimal integer string");
      x = BigInt(raw);
    } else {
      if (typeof raw !== "number" || !Number.isSafeInteger(raw)) fail(field, "expected an integer");
      x = BigInt(raw);
    }
    const why = checkStakingParam(n, x);
    if (why !== null) fail(field, why.replace(`${d.key} `, ""));
    params[n] = x;
  }
  const c = p.genesisCommissionBps ?? 1000;
  if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 0 || c > 10_000) {
    fail(`${FIELD}.genesisCommissionBps`, "expected an integer between 0 and 10000");
  }
  return { params, genesisCommissionBps: BigInt(c) };
}

export async function writeStakingParams(s: ModuleState, params: StakingParams): Promise<void> {
  for (const n of STAKING_PARAM_NAMES) await s.store(SLOTS[n], params[n]);
}
