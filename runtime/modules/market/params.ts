import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { type Address, isValidChecksumAddress } from "@ethereumjs/util";
import { hexToBytes } from "../../primitives/bytes.js";
import { uintWord, wordToBigInt } from "../abi.js";
import { isZeroAddress } from "../erc20Events.js";
import { type ModuleCall, namedSlot } from "../host.js";
import { LEARN_ADDRESS } from "../learn/index.js";
import { issuerSlot } from "../learn/ledger.js";

/**
 * The market's chain parameters: written at genesis from `modules.market` (strictly validated here),
 * kept in the module's storage so governance can change them later, read back per call. Units: AZR
 * and LEARN amounts in wei, windows in seconds, shares in basis points (1/10,000).
 */
export interface MarketParams {
  minWorkerStake: bigint;
  claimBondBps: bigint;
  minClaimBond: bigint;
  feeBps: bigint;
  challengeBond: bigint;
  disputeWindow: bigint;
  unbondingPeriod: bigint;
  maxWindow: bigint;
  maxRedundancy: bigint;
  slashBurnBps: bigint;
  learnRewardPerJob: bigint;
  minWindow: bigint;
  feeRecipient: Uint8Array;
}

/** Hard limits the parameters must respect (loops over slots are bounded by MAX_REDUNDANCY). */
export const MAX_REDUNDANCY = 8;
export const BPS = 10_000n;
/** Amounts are kept below 2^128 so that price × redundancy + fee and every share fit a word. */
export const MAX_AMOUNT = 2n ** 128n - 1n;
/** Windows fit 32 bits (136 years): sums of windows and timestamps never approach 2^64. */
export const MAX_WINDOW_SECONDS = 2n ** 32n - 1n;

const P = {
  minWorkerStake: namedSlot("azora.market.params.minWorkerStake"),
  minClaimBond: namedSlot("azora.market.params.minClaimBond"),
  challengeBond: namedSlot("azora.market.params.challengeBond"),
  learnRewardPerJob: namedSlot("azora.market.params.learnRewardPerJob"),
  /** claimBondBps | feeBps << 16 | slashBurnBps << 32 | maxRedundancy << 48 | minWindow << 56 | maxWindow << 120 | disputeWindow << 184 */
  config: namedSlot("azora.market.params.config"),
  /** unbondingPeriod | feeRecipient << 64 */
  tail: namedSlot("azora.market.params.tail"),
} as const;

const M16 = (1n << 16n) - 1n;
const M8 = (1n << 8n) - 1n;
const M64 = (1n << 64n) - 1n;
const M160 = (1n << 160n) - 1n;

export interface MarketConfig {
  claimBondBps: bigint;
  feeBps: bigint;
  slashBurnBps: bigint;
  maxRedundancy: bigint;
  minWindow: bigint;
  maxWindow: bigint;
  disputeWindow: bigint;
}

function packConfig(c: MarketConfig): bigint {
  return (
    c.claimBondBps |
    (c.feeBps << 16n) |
    (c.slashBurnBps << 32n) |
    (c.maxRedundancy << 48n) |
    (c.minWindow << 56n) |
    (c.maxWindow << 120n) |
    (c.disputeWindow << 184n)
  );
}

function unpackConfig(w: bigint): MarketConfig {
  return {
    claimBondBps: w & M16,
    feeBps: (w >> 16n) & M16,
    slashBurnBps: (w >> 32n) & M16,
    maxRedundancy: (w >> 48n) & M8,
    minWindow: (w >> 56n) & M64,
    maxWindow: (w >> 120n) & M64,
    disputeWindow: (w >> 184n) & M64,
  };
}

/**
 * Reads parameters lazily within one call: each storage word at most once, only those the
 * function needs (each read is charged as a storage read).
 */
export class ParamReader {
  private readonly cache = new Map<Uint8Array, bigint>();
  constructor(private readonly call: Pick<ModuleCall, "load">) {}

  private async word(slot: Uint8Array): Promise<bigint> {
    let v = this.cache.get(slot);
    if (v === undefined) {
      v = await this.call.load(slot);
      this.cache.set(slot, v);
    }
    return v;
  }

  minWorkerStake = () => this.word(P.minWorkerStake);
  minClaimBond = () => this.word(P.minClaimBond);
  challengeBond = () => this.word(P.challengeBond);
  learnRewardPerJob = () => this.word(P.learnRewardPerJob);
  config = async () => unpackConfig(await this.word(P.config));
  unbondingPeriod = async () => (await this.word(P.tail)) & M64;
  feeRecipient = async () => uintWord(((await this.word(P.tail)) >> 64n) & M160).slice(12);

  async all(): Promise<MarketParams> {
    return {
      ...(await this.config()),
      minWorkerStake: await this.minWorkerStake(),
      minClaimBond: await this.minClaimBond(),
      challengeBond: await this.challengeBond(),
      learnRewardPerJob: await this.learnRewardPerJob(),
      unbondingPeriod: await this.unbondingPeriod(),
      feeRecipient: await this.feeRecipient(),
    };
  }
}

// --- genesis -------------------------------------------------------------------------------------

const FIELD = "modules.market";

function fail(field: string, reason: string): never {
  throw new Error(`invalid genesis: ${field}: ${reason}`);
}

function amount(v: unknown, field: string, min: bigint): bigint {
  // Decimal strings only: JSON numbers lose precision above 2^53, and 18-decimal amounts are far above it.
  if (typeof v !== "string" || !/^(0|[1-9][0-9]*)$/.test(v)) fail(field, "expected a decimal integer string");
  const n = BigInt(v);
  if (n < min) fail(field, `must be at least ${min}`);
  if (n > MAX_AMOUNT) fail(field, "must be below 2^128");
  return n;
}

function int(v: unknown, field: string, min: bigint, max: bigint): bigint {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(field, "expected an integer");
  const n = BigInt(v);
  if (n < min || n > max) fail(field, `must be between ${min} and ${max}`);
  return n;
}

function address(v: unknown, field: string): Uint8Array {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(v)) fail(field, "expected a 0x-prefixed address");
  const body = v.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && !isValidChecksumAddress(v)) {
    fail(field, "bad EIP-55 checksum");
  }
  const a = hexToBytes(v.toLowerCase() as `0x${string}`);
  if (isZeroAddress(a)) fail(field, "must not be the zero address");
  return a;
}

const KEYS = [
  "minWorkerStake",
  "claimBondBps",
  "minClaimBond",
  "feeBps",
  "challengeBond",
  "disputeWindow",
  "unbondingPeriod",
  "minWindow",
  "maxWindow",
  "maxRedundancy",
  "slashBurnBps",
  "learnRewardPerJob",
  "feeRecipient",
] as const;

/**
 * Validates `modules.market` strictly: every key required, no unknown key, amounts as decimal
 * strings below 2^128, shares ≤ 10,000 bps, windows within 32 bits, and an unbonding period longer
 * than the longest a bond can stay at stake on one job (claim + deliver + reveal + challenge windows
 * at their maximum, plus the dispute window).
 */
export function parseMarketParams(params: unknown): MarketParams {
  if (typeof params !== "object" || params === null || Array.isArray(params)) fail(FIELD, "expected an object");
  const p = params as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (!(KEYS as readonly string[]).includes(k)) fail(`${FIELD}.${k}`, "unknown parameter");
  }
  for (const k of KEYS) if (p[k] === undefined) fail(`${FIELD}.${k}`, "required");
  const f = (k: string) => `${FIELD}.${k}`;
  const out: MarketParams = {
    minWorkerStake: amount(p.minWorkerStake, f("minWorkerStake"), 1n),
    claimBondBps: int(p.claimBondBps, f("claimBondBps"), 0n, BPS),
    minClaimBond: amount(p.minClaimBond, f("minClaimBond"), 1n),
    feeBps: int(p.feeBps, f("feeBps"), 0n, BPS),
    challengeBond: amount(p.challengeBond, f("challengeBond"), 1n),
    disputeWindow: int(p.disputeWindow, f("disputeWindow"), 1n, MAX_WINDOW_SECONDS),
    unbondingPeriod: int(p.unbondingPeriod, f("unbondingPeriod"), 1n, 2n ** 40n),
    minWindow: int(p.minWindow, f("minWindow"), 1n, MAX_WINDOW_SECONDS),
    maxWindow: int(p.maxWindow, f("maxWindow"), 1n, MAX_WINDOW_SECONDS),
    maxRedundancy: int(p.maxRedundancy, f("maxRedundancy"), 1n, BigInt(MAX_REDUNDANCY)),
    slashBurnBps: int(p.slashBurnBps, f("slashBurnBps"), 0n, BPS),
    learnRewardPerJob: amount(p.learnRewardPerJob, f("learnRewardPerJob"), 0n),
    feeRecipient: address(p.feeRecipient, f("feeRecipient")),
  };
  if (out.minWindow > out.maxWindow) fail(f("minWindow"), "must not exceed maxWindow");
  const longest = 4n * out.maxWindow + out.disputeWindow;
  if (out.unbondingPeriod <= longest) {
    fail(
      f("unbondingPeriod"),
      `must exceed 4 × maxWindow + disputeWindow (${longest} s): a bond's longest time at stake`,
    );
  }
  return out;
}

/** Writes the parameters into the market's storage (after LEARN's genesis, which sets the issuers). */
export async function marketGenesis(state: MerkleStateManager, market: Address, params: unknown): Promise<void> {
  if (params === undefined) return;
  const p = parseMarketParams(params);
  if (p.learnRewardPerJob > 0n) {
    // The reward is minted at settlement; without the role every reward would silently be 0.
    const role = await state.getStorage(LEARN_ADDRESS, issuerSlot(market.bytes));
    if (role.length === 0 || wordToBigInt(role) !== 1n) {
      fail(`${FIELD}.learnRewardPerJob`, `${market.toString()} must be listed in modules.learn.issuers`);
    }
  }
  const put = (slot: Uint8Array, v: bigint) => state.putStorage(market, slot, stripZeros(uintWord(v)));
  await put(P.minWorkerStake, p.minWorkerStake);
  await put(P.minClaimBond, p.minClaimBond);
  await put(P.challengeBond, p.challengeBond);
  await put(P.learnRewardPerJob, p.learnRewardPerJob);
  await put(P.config, packConfig(p));
  await put(P.tail, p.unbondingPeriod | (wordToBigInt(p.feeRecipient) << 64n));
}

// Storage tries hold no leading zeros (an empty value deletes the slot), as SSTORE writes them.
function stripZeros(w: Uint8Array): Uint8Array {
  let i = 0;
  while (i < w.length && w[i] === 0) i++;
  return w.subarray(i);
}

// --- governance ----------------------------------------------------------------------------------

/** The market parameters governance may change (`market.<name>`), with the genesis bounds. */
export const MARKET_PARAM_BOUNDS: Record<Exclude<keyof MarketParams, "feeRecipient">, [bigint, bigint]> = {
  minWorkerStake: [1n, MAX_AMOUNT],
  claimBondBps: [0n, BPS],
  minClaimBond: [1n, MAX_AMOUNT],
  feeBps: [0n, BPS],
  challengeBond: [1n, MAX_AMOUNT],
  disputeWindow: [1n, MAX_WINDOW_SECONDS],
  unbondingPeriod: [1n, 2n ** 40n],
  minWindow: [1n, MAX_WINDOW_SECONDS],
  maxWindow: [1n, MAX_WINDOW_SECONDS],
  maxRedundancy: [1n, BigInt(MAX_REDUNDANCY)],
  slashBurnBps: [0n, BPS],
  learnRewardPerJob: [0n, MAX_AMOUNT],
};

/**
 * Sets one market parameter as governance decided (`value` is an address as a number for
 * `feeRecipient`), keeping the genesis rules: bounds, `minWindow ≤ maxWindow`, and an unbonding
 * period longer than a bond's longest time at stake. Returns why it is refused, or null once written.
 * `s` addresses the market's storage (its account is the default of load/store).
 */
export async function setMarketParam(
  s: Pick<ModuleCall, "load" | "store">,
  name: keyof MarketParams,
  value: bigint,
  dryRun = false,
): Promise<string | null> {
  const p = await new ParamReader(s).all();
  if (p.minWorkerStake === 0n) return "the market is not configured";
  if (name === "feeRecipient") {
    if (value === 0n || value >= 2n ** 160n) return "market.feeRecipient must be a non-zero address";
    p.feeRecipient = uintWord(value).slice(12);
  } else {
    const [min, max] = MARKET_PARAM_BOUNDS[name];
    if (value < min || value > max) return `market.${name} must be between ${min} and ${max}`;
    (p as unknown as Record<string, bigint>)[name] = value;
  }
  if (p.minWindow > p.maxWindow) return "market.minWindow must not exceed market.maxWindow";
  if (p.unbondingPeriod <= 4n * p.maxWindow + p.disputeWindow) {
    return "market.unbondingPeriod must exceed 4 × maxWindow + disputeWindow";
  }
  if (dryRun) return null;
  await s.store(P.minWorkerStake, p.minWorkerStake);
  await s.store(P.minClaimBond, p.minClaimBond);
  await s.store(P.challengeBond, p.challengeBond);
  await s.store(P.learnRewardPerJob, p.learnRewardPerJob);
  await s.store(P.config, packConfig(p));
  await s.store(P.tail, p.unbondingPeriod | (wordToBigInt(p.feeRecipient) << 64n));
  return null;
}
