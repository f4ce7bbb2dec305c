import { uintWord, wordToBigInt } from "../abi.js";
import { type ModuleCall, namedSlot, storageSlot } from "../host.js";

/**
 * The market's storage layout (README.md, "Storage layout") and typed access to it. Records (a job,
 * a slot, a worker) are runs of words at `keccak256(base ‖ keys) + field`, packed so that the fields
 * an operation changes together share a word. `Words` reads each word at most once per call and skips
 * writes that would not change a word, so an operation pays for what it touches.
 */
export const SLOTS = {
  jobCount: namedSlot("azora.market.jobCount"),
  jobs: namedSlot("azora.market.jobs"),
  slots: namedSlot("azora.market.slots"),
  workers: namedSlot("azora.market.workers"),
  kindCount: namedSlot("azora.market.kindCount"),
  kindMember: namedSlot("azora.market.kindMember"),
  kindPos: namedSlot("azora.market.kindPos"),
  claimed: namedSlot("azora.market.claimed"),
  credits: namedSlot("azora.market.credits"),
} as const;

const M8 = 0xffn;
const M64 = (1n << 64n) - 1n;
const M160 = (1n << 160n) - 1n;
const WORD = 2n ** 256n;

export const toAddress = (w: bigint): Uint8Array => uintWord(w & M160).slice(12);
export const fromAddress = (a: Uint8Array): bigint => wordToBigInt(a);
const bits = (w: bigint, at: bigint, mask: bigint) => (w >> at) & mask;
const put = (w: bigint, at: bigint, mask: bigint, v: bigint) => (w & ~(mask << at)) | ((v & mask) << at);

/** A run of storage words at `base + field`, cached for the duration of one call. */
export class Words {
  private readonly cache = new Map<number, bigint>();
  constructor(
    private readonly call: ModuleCall,
    private readonly base: bigint,
  ) {}

  slot(field: number): Uint8Array {
    return uintWord((this.base + BigInt(field)) % WORD);
  }

  async get(field: number): Promise<bigint> {
    let v = this.cache.get(field);
    if (v === undefined) {
      v = await this.call.load(this.slot(field));
      this.cache.set(field, v);
    }
    return v;
  }

  async set(field: number, value: bigint): Promise<void> {
    if (this.cache.get(field) === value) return;
    await this.call.store(this.slot(field), value);
    this.cache.set(field, value);
  }

  getString(field: number): Promise<string> {
    return this.call.loadString(this.slot(field));
  }

  setString(field: number, value: string): Promise<void> {
    return this.call.storeString(this.slot(field), value);
  }
}

const baseOf = (...parts: (Uint8Array | bigint)[]) => wordToBigInt(storageSlot(...parts));

// --- jobs ----------------------------------------------------------------------------------------

/** IJobMarket.JobStatus. */
export enum JobStatus {
  None = 0,
  Open = 1,
  Claimed = 2,
  Submitted = 3,
  Challenged = 4,
  Finalized = 5,
  Refunded = 6,
  Cancelled = 7,
}

/** IJobMarket.SlotStatus. */
export enum SlotStatus {
  Empty = 0,
  Claimed = 1,
  Committed = 2,
  Revealed = 3,
  Paid = 4,
  Slashed = 5,
  Expired = 6,
}

/** IJobMarket.Verification. */
export enum Verification {
  RequesterAccept = 0,
  Replay = 1,
  Arbiter = 2,
  /**
   * Custody over time (pinning): a challenge asks 3 verifiers whether the worker still answers; a rejected
   * challenge returns the job to Submitted until the challenge window ends, an upheld one slashes the worker
   * and refunds the requester pro rata for the time left.
   */
  Retrieval = 3,
}

/** The highest Verification value `post` accepts. */
export const MAX_VERIFICATION = Verification.Retrieval;

/** Words of a job (at `keccak256(jobs ‖ id) + field`). */
enum J {
  /** requester | status << 160 | verification << 168 | redundancy << 176 | learn << 184 | votedMask << 192 */
  Head = 0,
  Kind = 1,
  InputHash = 2,
  Price = 3,
  Fee = 4,
  /** The claim bond, fixed at post: locked per claim and per verifier duty. */
  Bond = 5,
  /** postedAt | claimWindow << 64 | deliverWindow << 128 | challengeWindow << 192 */
  Windows = 6,
  /** challengeEnds | revealEnds << 64 | disputeEnds << 128 | challengedAt << 192 */
  Times = 7,
  Arbiter = 8,
  Challenger = 9,
  ChallengeBond = 10,
  Verifier0 = 11,
  Vote0 = 14,
  SpecURI = 17,
}

export const VERIFIERS = 3;

export interface JobHead {
  requester: Uint8Array;
  status: JobStatus;
  verification: Verification;
  redundancy: number;
  learn: boolean;
  votedMask: number;
}

export interface JobWindows {
  postedAt: bigint;
  claimWindow: bigint;
  deliverWindow: bigint;
  challengeWindow: bigint;
}

export interface JobTimes {
  challengeEnds: bigint;
  revealEnds: bigint;
  disputeEnds: bigint;
  /** When the open challenge was posted (0 without one): Retrieval pays the worker up to it when upheld. */
  challengedAt: bigint;
}

export class JobRecord {
  readonly w: Words;
  private readonly slotRecords = new Map<number, SlotRecord>();
  constructor(
    readonly call: ModuleCall,
    readonly id: bigint,
  ) {
    this.w = new Words(call, baseOf(SLOTS.jobs, id));
  }

  async head(): Promise<JobHead> {
    const h = await this.w.get(J.Head);
    return {
      requester: toAddress(h),
      status: Number(bits(h, 160n, M8)) as JobStatus,
      verification: Number(bits(h, 168n, M8)) as Verification,
      redundancy: Number(bits(h, 176n, M8)),
      learn: bits(h, 184n, M8) === 1n,
      votedMask: Number(bits(h, 192n, M8)),
    };
  }

  async setHead(h: JobHead): Promise<void> {
    await this.w.set(
      J.Head,
      fromAddress(h.requester) |
        (BigInt(h.status) << 160n) |
        (BigInt(h.verification) << 168n) |
        (BigInt(h.redundancy) << 176n) |
        ((h.learn ? 1n : 0n) << 184n) |
        (BigInt(h.votedMask) << 192n),
    );
  }

  async setStatus(status: JobStatus): Promise<void> {
    await this.w.set(J.Head, put(await this.w.get(J.Head), 160n, M8, BigInt(status)));
  }

  async setVotedMask(mask: number): Promise<void> {
    await this.w.set(J.Head, put(await this.w.get(J.Head), 192n, M8, BigInt(mask)));
  }

  kind = () => this.w.get(J.Kind);
  inputHash = () => this.w.get(J.InputHash);
  price = () => this.w.get(J.Price);
  fee = () => this.w.get(J.Fee);
  bond = () => this.w.get(J.Bond);
  arbiter = async () => toAddress(await this.w.get(J.Arbiter));
  challenger = async () => toAddress(await this.w.get(J.Challenger));
  challengeBond = () => this.w.get(J.ChallengeBond);
  specURI = () => this.w.getString(J.SpecURI);

  async windows(): Promise<JobWindows> {
    const w = await this.w.get(J.Windows);
    return {
      postedAt: bits(w, 0n, M64),
      claimWindow: bits(w, 64n, M64),
      deliverWindow: bits(w, 128n, M64),
      challengeWindow: bits(w, 192n, M64),
    };
  }

  async claimEnds(): Promise<bigint> {
    const w = await this.windows();
    return w.postedAt + w.claimWindow;
  }

  async times(): Promise<JobTimes> {
    const t = await this.w.get(J.Times);
    return {
      challengeEnds: bits(t, 0n, M64),
      revealEnds: bits(t, 64n, M64),
      disputeEnds: bits(t, 128n, M64),
      challengedAt: bits(t, 192n, M64),
    };
  }

  async setTimes(t: JobTimes): Promise<void> {
    await this.w.set(
      J.Times,
      t.challengeEnds | (t.revealEnds << 64n) | (t.disputeEnds << 128n) | (t.challengedAt << 192n),
    );
  }

  /** Writes a new job's fixed fields (ids are never reused: zero words need no write). */
  async create(f: {
    head: JobHead;
    kind: Uint8Array;
    inputHash: Uint8Array;
    price: bigint;
    fee: bigint;
    bond: bigint;
    windows: JobWindows;
    arbiter: Uint8Array;
    specURI: string;
  }): Promise<void> {
    await this.setHead(f.head);
    await this.w.set(J.Kind, wordToBigInt(f.kind));
    if (wordToBigInt(f.inputHash) !== 0n) await this.w.set(J.InputHash, wordToBigInt(f.inputHash));
    await this.w.set(J.Price, f.price);
    if (f.fee !== 0n) await this.w.set(J.Fee, f.fee);
    await this.w.set(J.Bond, f.bond);
    const w = f.windows;
    await this.w.set(
      J.Windows,
      w.postedAt | (w.claimWindow << 64n) | (w.deliverWindow << 128n) | (w.challengeWindow << 192n),
    );
    if (fromAddress(f.arbiter) !== 0n) await this.w.set(J.Arbiter, fromAddress(f.arbiter));
    await this.w.setString(J.SpecURI, f.specURI);
  }

  async setChallenge(challenger: Uint8Array, bond: bigint, verifiers: Uint8Array[]): Promise<void> {
    await this.w.set(J.Challenger, fromAddress(challenger));
    await this.w.set(J.ChallengeBond, bond);
    for (let i = 0; i < verifiers.length; i++) await this.w.set(J.Verifier0 + i, fromAddress(verifiers[i]));
  }

  /**
   * Ends a challenge round without ending the job (Retrieval): challenger, bond, verifiers, votes and the
   * dispute's times go back to zero, so the next challenge starts from a clean record and the view shows none.
   */
  async clearChallenge(): Promise<void> {
    const n = (await this.verifiers()).length;
    await this.w.set(J.Challenger, 0n);
    await this.w.set(J.ChallengeBond, 0n);
    for (let i = 0; i < n; i++) {
      await this.w.set(J.Verifier0 + i, 0n);
      await this.w.set(J.Vote0 + i, 0n);
    }
    await this.setVotedMask(0);
    const t = await this.times();
    await this.setTimes({ ...t, disputeEnds: 0n, challengedAt: 0n });
  }

  async verifiers(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < VERIFIERS; i++) {
      const v = await this.w.get(J.Verifier0 + i);
      if (v === 0n) break;
      out.push(toAddress(v));
    }
    return out;
  }

  vote = async (i: number) => uintWord(await this.w.get(J.Vote0 + i));
  setVote = (i: number, hash: Uint8Array) => this.w.set(J.Vote0 + i, wordToBigInt(hash));

  slot(i: number): SlotRecord {
    let s = this.slotRecords.get(i);
    if (s === undefined) {
      s = new SlotRecord(this.call, this.id, i);
      this.slotRecords.set(i, s);
    }
    return s;
  }
}

// --- slots ---------------------------------------------------------------------------------------

/** Words of slot i of a job (at `keccak256(slots ‖ id ‖ i) + field`). */
enum S {
  /**
   * worker | status << 160 | deliverBy << 168 | metered << 232 (claimedAt = deliverBy − the job's deliverWindow;
   * metered: delivered by `submitMetered`, so the Earned word holds what the result claims of the price)
   */
  Head = 0,
  Commitment = 1,
  ResultHash = 2,
  ResultURI = 3,
  /** The part of the price a metered result claims (read only when the head's metered bit is set). */
  Earned = 4,
}

export interface SlotHead {
  worker: Uint8Array;
  status: SlotStatus;
  deliverBy: bigint;
  /** Delivered by `submitMetered`: settlement pays `earned()`, not the whole price. */
  metered?: boolean;
}

export class SlotRecord {
  readonly w: Words;
  constructor(
    call: ModuleCall,
    readonly jobId: bigint,
    readonly index: number,
  ) {
    this.w = new Words(call, baseOf(SLOTS.slots, jobId, BigInt(index)));
  }

  async head(): Promise<SlotHead> {
    const h = await this.w.get(S.Head);
    return {
      worker: toAddress(h),
      status: Number(bits(h, 160n, M8)) as SlotStatus,
      deliverBy: bits(h, 168n, M64),
      metered: bits(h, 232n, 1n) === 1n,
    };
  }

  async setHead(h: SlotHead): Promise<void> {
    const metered = h.metered === true ? 1n << 232n : 0n;
    await this.w.set(S.Head, fromAddress(h.worker) | (BigInt(h.status) << 160n) | (h.deliverBy << 168n) | metered);
  }

  /** Marks the slot metered and records what its result claims (`submitMetered`). */
  async setMetered(earned: bigint): Promise<void> {
    await this.w.set(S.Earned, earned);
    await this.w.set(S.Head, put(await this.w.get(S.Head), 232n, 1n, 1n));
  }

  earned = () => this.w.get(S.Earned);

  async setStatus(status: SlotStatus): Promise<void> {
    await this.w.set(S.Head, put(await this.w.get(S.Head), 160n, M8, BigInt(status)));
  }

  commitment = async () => uintWord(await this.w.get(S.Commitment));
  setCommitment = (c: Uint8Array) => this.w.set(S.Commitment, wordToBigInt(c));
  resultHash = async () => uintWord(await this.w.get(S.ResultHash));
  setResultHash = (h: Uint8Array) => this.w.set(S.ResultHash, wordToBigInt(h));
  resultURI = () => this.w.getString(S.ResultURI);
  setResultURI = (uri: string) => this.w.setString(S.ResultURI, uri);
}

// --- workers -------------------------------------------------------------------------------------

export const MAX_KINDS = 8;

/** Words of a worker (at `keccak256(workers ‖ address) + field`). */
enum W {
  /** registered | kindCount << 8 | unbondingEnds << 16 | jobsDone << 80 | jobsSlashed << 144 */
  Head = 0,
  Stake = 1,
  Locked = 2,
  Unbonding = 3,
  Kind0 = 4,
  /** After the MAX_KINDS kind words. */
  Endpoint = 12,
}

/** The storage slots of a worker's bonded amounts (README.md "Storage layout"; tests read them directly). */
export function workerAmountSlots(address: Uint8Array): {
  stake: Uint8Array;
  locked: Uint8Array;
  unbonding: Uint8Array;
} {
  const base = baseOf(SLOTS.workers, address);
  const at = (f: W) => uintWord((base + BigInt(f)) % WORD);
  return { stake: at(W.Stake), locked: at(W.Locked), unbonding: at(W.Unbonding) };
}

export interface WorkerHead {
  registered: boolean;
  kindCount: number;
  unbondingEnds: bigint;
  jobsDone: bigint;
  jobsSlashed: bigint;
}

export class WorkerRecord {
  readonly w: Words;
  constructor(
    call: ModuleCall,
    readonly address: Uint8Array,
  ) {
    this.w = new Words(call, baseOf(SLOTS.workers, address));
  }

  async head(): Promise<WorkerHead> {
    const h = await this.w.get(W.Head);
    return {
      registered: bits(h, 0n, M8) === 1n,
      kindCount: Number(bits(h, 8n, M8)),
      unbondingEnds: bits(h, 16n, M64),
      jobsDone: bits(h, 80n, M64),
      jobsSlashed: bits(h, 144n, M64),
    };
  }

  async setHead(h: WorkerHead): Promise<void> {
    await this.w.set(
      W.Head,
      (h.registered ? 1n : 0n) |
        (BigInt(h.kindCount) << 8n) |
        (h.unbondingEnds << 16n) |
        ((h.jobsDone & M64) << 80n) |
        ((h.jobsSlashed & M64) << 144n),
    );
  }

  stake = () => this.w.get(W.Stake);
  setStake = (v: bigint) => this.w.set(W.Stake, v);
  locked = () => this.w.get(W.Locked);
  setLocked = (v: bigint) => this.w.set(W.Locked, v);
  unbonding = () => this.w.get(W.Unbonding);
  setUnbonding = (v: bigint) => this.w.set(W.Unbonding, v);
  kind = async (i: number) => uintWord(await this.w.get(W.Kind0 + i));
  setKind = (i: number, kind: Uint8Array) => this.w.set(W.Kind0 + i, wordToBigInt(kind));
  endpoint = () => this.w.getString(W.Endpoint);
  setEndpoint = (e: string) => this.w.setString(W.Endpoint, e);

  async kinds(): Promise<Uint8Array[]> {
    const n = (await this.head()).kindCount;
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(await this.kind(i));
    return out;
  }

  async hasKind(kind: Uint8Array): Promise<boolean> {
    const n = (await this.head()).kindCount;
    const k = wordToBigInt(kind);
    for (let i = 0; i < n; i++) if ((await this.w.get(W.Kind0 + i)) === k) return true;
    return false;
  }

  /** Stake that is neither locked by a bond nor needed to cover one (0 when bonds exceed the stake). */
  async freeStake(): Promise<bigint> {
    const stake = await this.stake();
    const locked = await this.locked();
    return stake > locked ? stake - locked : 0n;
  }
}

// --- per-kind worker lists -----------------------------------------------------------------------

/** Registered workers of a kind: a dense list with positions, so joining and leaving are O(1). */
export const kindIndex = {
  count: (call: ModuleCall, kind: Uint8Array) => call.load(storageSlot(SLOTS.kindCount, kind)),
  member: async (call: ModuleCall, kind: Uint8Array, i: bigint) =>
    toAddress(await call.load(storageSlot(SLOTS.kindMember, kind, i))),

  async add(call: ModuleCall, kind: Uint8Array, worker: Uint8Array): Promise<void> {
    const n = await call.load(storageSlot(SLOTS.kindCount, kind));
    await call.store(storageSlot(SLOTS.kindMember, kind, n), fromAddress(worker));
    await call.store(storageSlot(SLOTS.kindPos, kind, worker), n + 1n);
    await call.store(storageSlot(SLOTS.kindCount, kind), n + 1n);
  },

  /** Swap-and-pop: the last member takes the leaver's place. */
  async remove(call: ModuleCall, kind: Uint8Array, worker: Uint8Array): Promise<void> {
    const pos = await call.load(storageSlot(SLOTS.kindPos, kind, worker));
    if (pos === 0n) return;
    const n = await call.load(storageSlot(SLOTS.kindCount, kind));
    const last = n - 1n;
    if (pos - 1n !== last) {
      const moved = await call.load(storageSlot(SLOTS.kindMember, kind, last));
      await call.store(storageSlot(SLOTS.kindMember, kind, pos - 1n), moved);
      await call.store(storageSlot(SLOTS.kindPos, kind, toAddress(moved)), pos);
    }
    await call.store(storageSlot(SLOTS.kindMember, kind, last), 0n);
    await call.store(storageSlot(SLOTS.kindPos, kind, worker), 0n);
    await call.store(storageSlot(SLOTS.kindCount, kind), last);
  },
};

// --- claims and credits ----------------------------------------------------------------------------

/** 1 + the slot `worker` claimed on job `id` (0: never claimed it). Never cleared: a worker claims a job once. */
export const claimedSlot = {
  get: (call: ModuleCall, id: bigint, worker: Uint8Array) => call.load(storageSlot(SLOTS.claimed, id, worker)),
  set: (call: ModuleCall, id: bigint, worker: Uint8Array, slot: number) =>
    call.store(storageSlot(SLOTS.claimed, id, worker), BigInt(slot) + 1n),
};

/** What `withdraw(token)` pays an account: `token` is 0 for AZR, 1 for LEARN. */
export const credits = {
  slot: (account: Uint8Array, learn: boolean) => storageSlot(SLOTS.credits, account, learn ? 1n : 0n),
  get: (call: ModuleCall, account: Uint8Array, learn: boolean) => call.load(credits.slot(account, learn)),
  set: (call: ModuleCall, account: Uint8Array, learn: boolean, v: bigint) =>
    call.store(credits.slot(account, learn), v),
};
