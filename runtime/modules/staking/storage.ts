import { wordToBigInt } from "../abi.js";
import { namedSlot, storageSlot } from "../host.js";
import { addressOfWord, bitsOf, type ModuleState, Words, withBits } from "../state.js";

/**
 * The staking module's storage layout (README.md, "Storage layout"). Records are runs of words at
 * `keccak256(base ‖ keys) + field`; dense lists keep `count`, `item[i]` and `pos[key] = i + 1` so
 * joining and leaving are O(1).
 */
export const SLOTS = {
  validators: namedSlot("azora.staking.validators"),
  delegations: namedSlot("azora.staking.delegations"),
  /** consensus address → operator. */
  byConsensus: namedSlot("azora.staking.byConsensus"),
  /** Registered, not tombstoned validators (candidates for the set). */
  candidateCount: namedSlot("azora.staking.candidateCount"),
  candidate: namedSlot("azora.staking.candidate"),
  candidatePos: namedSlot("azora.staking.candidatePos"),
  /** The active set as last reported to consensus. */
  activeCount: namedSlot("azora.staking.activeCount"),
  active: namedSlot("azora.staking.active"),
  /** Validators each delegator has a delegation with (bounded by MAX_DELEGATIONS). */
  delegCount: namedSlot("azora.staking.delegCount"),
  deleg: namedSlot("azora.staking.deleg"),
  delegPos: namedSlot("azora.staking.delegPos"),
  /** The unbonding queue: FIFO by completion time. */
  queueHead: namedSlot("azora.staking.queueHead"),
  queueTail: namedSlot("azora.staking.queueTail"),
  queueLastEnd: namedSlot("azora.staking.queueLastEnd"),
  queue: namedSlot("azora.staking.queue"),
  /** Totals: AZR minted as inflation, slashed (burned), tips waiting for distribution, last reward time. */
  totalMinted: namedSlot("azora.staking.totalMinted"),
  totalSlashed: namedSlot("azora.staking.totalSlashed"),
  pendingFees: namedSlot("azora.staking.pendingFees"),
  lastRewardTime: namedSlot("azora.staking.lastRewardTime"),
} as const;

export const MAX_CANDIDATES = 256;
export const MAX_DELEGATIONS = 16;
export const MAX_UNBONDINGS_PER_PAIR = 7;
/** Unbonding entries paid per block at most (the rest wait for the next blocks). */
export const MATURE_PER_BLOCK = 32;
/** Reward-per-share accumulator scale. */
export const ACC_SCALE = 10n ** 36n;

const baseOf = (...parts: (Uint8Array | bigint)[]) => wordToBigInt(storageSlot(...parts));

export enum Flag {
  Exists = 1,
  Jailed = 2,
  Tombstoned = 4,
  Active = 8,
}

/** Words of a validator (at `keccak256(validators ‖ operator) + field`). */
export enum V {
  PubKey = 0,
  /** commissionBps(16) | flags(8)<<16 | jailedUntil(64)<<24 | lastCommissionChange(64)<<88 | power(64)<<152 */
  Status = 1,
  Tokens = 2,
  Shares = 3,
  /** Rewards per share × ACC_SCALE, summed over the validator's life. */
  Acc = 4,
  Commission = 5,
  /** Delegators' rewards distributed and not yet paid out (with the rounding dust). */
  RewardPool = 6,
  UnbondTokens = 7,
  UnbondShares = 8,
  /** blocks counted(64) | missed(32)<<64 | window(64)<<96: the downtime window and the length it was counted under */
  Signing = 9,
  Moniker = 10,
  Bitmap = 16,
}

export interface ValidatorStatus {
  commissionBps: bigint;
  flags: number;
  jailedUntil: bigint;
  lastCommissionChange: bigint;
  power: bigint;
}

export class ValidatorRecord {
  readonly w: Words;
  constructor(
    readonly s: ModuleState,
    readonly operator: Uint8Array,
  ) {
    this.w = new Words(s, baseOf(SLOTS.validators, operator));
  }

  async status(): Promise<ValidatorStatus> {
    const w = await this.w.get(V.Status);
    return {
      commissionBps: bitsOf(w, 0n, 16n),
      flags: Number(bitsOf(w, 16n, 8n)),
      jailedUntil: bitsOf(w, 24n, 64n),
      lastCommissionChange: bitsOf(w, 88n, 64n),
      power: bitsOf(w, 152n, 64n),
    };
  }

  async setStatus(st: ValidatorStatus): Promise<void> {
    let w = 0n;
    w = withBits(w, 0n, 16n, st.commissionBps);
    w = withBits(w, 16n, 8n, BigInt(st.flags));
    w = withBits(w, 24n, 64n, st.jailedUntil);
    w = withBits(w, 88n, 64n, st.lastCommissionChange);
    w = withBits(w, 152n, 64n, st.power);
    await this.w.set(V.Status, w);
  }

  async exists(): Promise<boolean> {
    return ((await this.status()).flags & Flag.Exists) !== 0;
  }

  get = (f: V) => this.w.get(f);
  set = (f: V, v: bigint) => this.w.set(f, v);

  /** AZR value of `shares` of this validator's bonded stake (rounded down). */
  async tokensOf(shares: bigint): Promise<bigint> {
    const total = await this.get(V.Shares);
    return total === 0n ? 0n : (shares * (await this.get(V.Tokens))) / total;
  }
}

/** Words of a delegation (at `keccak256(delegations ‖ delegator ‖ validator) + field`). */
export enum D {
  Shares = 0,
  /** The validator's accumulator when rewards were last settled into `Credited`. */
  AccStart = 1,
  Credited = 2,
  /** Unbonding entries of this pair waiting in the queue. */
  UnbondEntries = 3,
  /** Unbonding-pool shares of this pair's entries. */
  UnbondShares = 4,
}

export class DelegationRecord {
  readonly w: Words;
  constructor(
    readonly s: ModuleState,
    readonly delegator: Uint8Array,
    readonly validator: Uint8Array,
  ) {
    this.w = new Words(s, baseOf(SLOTS.delegations, delegator, validator));
  }
  get = (f: D) => this.w.get(f);
  set = (f: D, v: bigint) => this.w.set(f, v);
}

/** A dense list of addresses in storage (count, items, positions). */
export class AddressList {
  constructor(
    private readonly s: ModuleState,
    private readonly countSlot: Uint8Array,
    private readonly itemBase: Uint8Array,
    private readonly posBase: Uint8Array,
    private readonly key: Uint8Array[] = [],
  ) {}

  count = async (): Promise<number> => Number(await this.s.load(this.countSlot));
  at = async (i: number): Promise<Uint8Array> =>
    addressOfWord(await this.s.load(storageSlot(this.itemBase, ...this.key, BigInt(i))));
  has = async (a: Uint8Array): Promise<boolean> =>
    (await this.s.load(storageSlot(this.posBase, ...this.key, a))) !== 0n;

  async all(): Promise<Uint8Array[]> {
    const n = await this.count();
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(await this.at(i));
    return out;
  }

  async add(a: Uint8Array): Promise<void> {
    if (await this.has(a)) return;
    const n = await this.count();
    await this.s.store(storageSlot(this.itemBase, ...this.key, BigInt(n)), wordToBigInt(a));
    await this.s.store(storageSlot(this.posBase, ...this.key, a), BigInt(n + 1));
    await this.s.store(this.countSlot, BigInt(n + 1));
  }

  async remove(a: Uint8Array): Promise<void> {
    const pos = await this.s.load(storageSlot(this.posBase, ...this.key, a));
    if (pos === 0n) return;
    const n = await this.count();
    const i = Number(pos) - 1;
    if (i !== n - 1) {
      const last = await this.at(n - 1);
      await this.s.store(storageSlot(this.itemBase, ...this.key, BigInt(i)), wordToBigInt(last));
      await this.s.store(storageSlot(this.posBase, ...this.key, last), BigInt(i + 1));
    }
    await this.s.store(storageSlot(this.itemBase, ...this.key, BigInt(n - 1)), 0n);
    await this.s.store(storageSlot(this.posBase, ...this.key, a), 0n);
    await this.s.store(this.countSlot, BigInt(n - 1));
  }
}

export const candidates = (s: ModuleState) =>
  new AddressList(s, SLOTS.candidateCount, SLOTS.candidate, SLOTS.candidatePos);

/** The validators `delegator` has delegations with. */
export const delegationsOf = (s: ModuleState, delegator: Uint8Array) =>
  new AddressList(s, storageSlot(SLOTS.delegCount, delegator), SLOTS.deleg, SLOTS.delegPos, [delegator]);

/** The active set (operators, in the order last reported). */
export async function activeSet(s: ModuleState): Promise<Uint8Array[]> {
  const n = Number(await s.load(SLOTS.activeCount));
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(addressOfWord(await s.load(storageSlot(SLOTS.active, BigInt(i)))));
  return out;
}

export async function setActiveSet(s: ModuleState, operators: Uint8Array[]): Promise<void> {
  const old = Number(await s.load(SLOTS.activeCount));
  for (let i = 0; i < operators.length; i++)
    await s.store(storageSlot(SLOTS.active, BigInt(i)), wordToBigInt(operators[i]));
  for (let i = operators.length; i < old; i++) await s.store(storageSlot(SLOTS.active, BigInt(i)), 0n);
  await s.store(SLOTS.activeCount, BigInt(operators.length));
}

export async function operatorOf(s: ModuleState, consensusAddress: Uint8Array): Promise<Uint8Array | null> {
  const w = await s.load(storageSlot(SLOTS.byConsensus, consensusAddress));
  return w === 0n ? null : addressOfWord(w);
}

export async function setOperatorOf(s: ModuleState, consensusAddress: Uint8Array, operator: Uint8Array): Promise<void> {
  await s.store(storageSlot(SLOTS.byConsensus, consensusAddress), wordToBigInt(operator));
}

/** Unbonding queue entry `i`: 0 delegator | completion(64)<<160; 1 validator; 2 pool shares. */
export interface QueueEntry {
  delegator: Uint8Array;
  validator: Uint8Array;
  completion: bigint;
  poolShares: bigint;
}

const entryBase = (i: bigint) => baseOf(SLOTS.queue, i);

export async function readEntry(s: ModuleState, i: bigint): Promise<QueueEntry> {
  const w = new Words(s, entryBase(i));
  const head = await w.get(0);
  return {
    delegator: addressOfWord(head),
    completion: bitsOf(head, 160n, 64n),
    validator: addressOfWord(await w.get(1)),
    poolShares: await w.get(2),
  };
}

export async function writeEntry(s: ModuleState, i: bigint, e: QueueEntry | null): Promise<void> {
  const w = new Words(s, entryBase(i));
  if (e === null) {
    await w.set(0, 0n);
    await w.set(1, 0n);
    await w.set(2, 0n);
    return;
  }
  await w.set(0, wordToBigInt(e.delegator) | (e.completion << 160n));
  await w.set(1, wordToBigInt(e.validator));
  await w.set(2, e.poolShares);
}
