import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { VM } from "@ethereumjs/vm";
import { ValidatorHistory } from "../../consensus/validators/history.js";
import { genesisValidators, type HeightValidators, nextValidators } from "../../consensus/validators/updates.js";
import { buildGenesis } from "../../genesis/build.js";
import type { GenesisSpec } from "../../genesis/spec.js";
import { type BlockEffects, hasEffects, NO_EFFECTS } from "../../runtime/effects.js";
import { type BlockHashLookup, createAzoraVM } from "../../runtime/evm/vm.js";
import { assert } from "../../runtime/lib/assert.js";
import { AzoraError } from "../../runtime/lib/errors.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { LRU } from "../../runtime/lib/lru.js";
import { ParamsHistory } from "../../runtime/params.js";
import { type BlockBody, type BlockHeader, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import type { Receipt } from "../../runtime/primitives/receipt.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import { DEFAULT_TRIE_CACHE_BYTES, TrieNodeStore } from "../../runtime/state/trieNodeStore.js";
import { HEAD_STATE_OPTIONS, openWorldState } from "../../runtime/state/worldState.js";
import type { ChainDB } from "../db/chainDb.js";
import type { CommittedRecord } from "../db/committedRecord.js";
import { StorageError, StorageErrorCode } from "../db/errors.js";
import { effectsKey, KeyPrefix } from "../db/keys.js";
import { rollbackChain } from "../db/rollback.js";
import { VERSION } from "../version.js";
import { decodeEffects, encodeEffects } from "./effectsCodec.js";
import { UpgradeSchedule } from "./upgrades.js";
import { ValidatorStore } from "./validatorStore.js";

export enum ChainErrorCode {
  GENESIS_MISMATCH = "CHAIN_ERROR_GENESIS_MISMATCH",
  CORRUPT = "CHAIN_ERROR_CORRUPT",
  /** A block at a height this node already committed (and made visible): never written. */
  COMMITTED_HEIGHT = "CHAIN_ERROR_COMMITTED_HEIGHT",
}

export class ChainError extends AzoraError<
  | { code: ChainErrorCode.GENESIS_MISMATCH; stored: string; expected: string }
  | { code: ChainErrorCode.CORRUPT; what: string }
  | { code: ChainErrorCode.COMMITTED_HEIGHT; height: bigint; committed: bigint }
> {}

/**
 * What one batch of a synced run holds at most (`Chain.commitSyncedRun`): a verified run is at most a response (64
 * blocks), and a run of full blocks is cut at about 8 MB of writes, so the held writes stay small beside the caches.
 */
export const SYNCED_RUN_LIMITS = { blocks: 64, bytes: 8 * 1024 * 1024 } as const;

export interface HeadInfo {
  header: BlockHeader;
  hash: Uint8Array;
}

/** A committed block as listeners (RPC subscriptions, filters, metrics) receive it. */
export interface CommittedBlock {
  header: BlockHeader;
  hash: Uint8Array;
  body: BlockBody;
  receipts: Receipt[];
  txHashes: Uint8Array[];
}

export type BlockListener = (block: CommittedBlock) => void;

/**
 * The canonical chain: the database, the head, the head state (owned by the block pipeline) and
 * committed-block events. Blocks are final when committed: there is no fork choice and no reorg,
 * so "latest", "safe" and "finalized" are the same block.
 */
export class Chain implements BlockHashLookup {
  readonly db: ChainDB;
  readonly common: Common;
  readonly spec: GenesisSpec;
  readonly trieStore: TrieNodeStore;
  readonly genesisHash: Uint8Array;
  /** State at the head, mutated only by the block pipeline. Readers use `StateReaders`. */
  readonly headState: MerkleStateManager;
  readonly headVM: VM;
  /** The validators of each height near the head (settled by committed blocks: H settles H + 2). */
  readonly validators: ValidatorHistory;
  /** The chain parameters of every height (genesis, then changes blocks reported). */
  readonly params: ParamsHistory;
  /** Software upgrades blocks scheduled, against this node's version. */
  readonly upgrades: UpgradeSchedule;
  private readonly validatorStore: ValidatorStore;
  private _head: HeadInfo;
  private readonly headersByHash = new LRU<string, BlockHeader>(4096);
  private readonly hashesByNumber = new LRU<bigint, Uint8Array>(4096);
  private readonly listeners = new Set<BlockListener>();
  private readonly rewindListeners = new Set<(head: HeadInfo) => void>();
  /** Dev mode: the head state's root after cheats (anvil_setBalance, …) changed it since the head block. */
  private devStateRoot: Uint8Array | null = null;
  private readonly log: Logger;
  /** The highest-committed record beside the database, rewritten after each durable committed block. */
  private record: CommittedRecord | null = null;
  /**
   * During `commitSyncedRun`: the hex hashes of the run's blocks (their writes are held for one batch), and the newest
   * block held, which the record names once the batch is written. Null outside a run.
   */
  private syncedRun: { hashes: Set<string>; last: HeadInfo | null } | null = null;

  private constructor(args: {
    db: ChainDB;
    common: Common;
    spec: GenesisSpec;
    trieStore: TrieNodeStore;
    genesisHash: Uint8Array;
    head: HeadInfo;
    headState: MerkleStateManager;
    headVM: VM;
    log: Logger;
    validators: ValidatorHistory;
    validatorStore: ValidatorStore;
    params: ParamsHistory;
    upgrades: UpgradeSchedule;
  }) {
    this.db = args.db;
    this.common = args.common;
    this.spec = args.spec;
    this.trieStore = args.trieStore;
    this.genesisHash = args.genesisHash;
    this._head = args.head;
    this.headState = args.headState;
    this.headVM = args.headVM;
    this.log = args.log;
    this.validators = args.validators;
    this.validatorStore = args.validatorStore;
    this.params = args.params;
    this.upgrades = args.upgrades;
  }

  /**
   * Opens the chain in `db`, writing genesis first when the database is empty; loads the validators
   * near the head, and the parameter changes and upgrade plans blocks reported. `nodeVersion` is what
   * upgrade plans are checked against (default: this package's version).
   */
  static async open(
    db: ChainDB,
    spec: GenesisSpec,
    common: Common,
    log: Logger,
    opts: { nodeVersion?: string; trieCacheBytes?: number } = {},
  ): Promise<Chain> {
    const trieStore = new TrieNodeStore(db, { cacheBytes: opts.trieCacheBytes ?? DEFAULT_TRIE_CACHE_BYTES });
    const genesis = await buildGenesis(spec, common, trieStore);
    const storedGenesis = await db.getCanonicalHash(0n);
    const validatorStore = new ValidatorStore(db, log);
    if (storedGenesis === undefined) {
      const nodes = trieStore.takeWrites();
      // Block 0 settles the validators of heights 1 and 2 (the genesis set, priorities advanced).
      const first = genesisValidators(spec.validators);
      const second = nextValidators(first, []);
      const records = [...(await validatorStore.recordsFor(first)), ...(await validatorStore.recordsFor(second))];
      await db.writeBlock({
        header: genesis.header,
        hash: genesis.hash,
        body: { transactions: [], lastCommit: new Uint8Array(0), evidence: [] },
        receipts: [],
        txHashes: [],
        commit: new Uint8Array(0),
        trieNodes: nodes,
        records: records.filter((r, i) => records.findIndex((x) => Buffer.compare(x.key, r.key) === 0) === i),
      });
      trieStore.confirmWritten(nodes);
      log.info("wrote genesis", { hash: bytesToHex(genesis.hash), chainId: spec.chainId.toString() });
    } else {
      trieStore.confirmWritten(trieStore.takeWrites()); // genesis nodes already persisted
      if (!equalsBytes(storedGenesis, genesis.hash)) {
        throw new ChainError(
          {
            code: ChainErrorCode.GENESIS_MISMATCH,
            stored: bytesToHex(storedGenesis),
            expected: bytesToHex(genesis.hash),
          },
          `data dir holds another chain (genesis ${bytesToHex(storedGenesis)}, expected ${bytesToHex(genesis.hash)})`,
        );
      }
    }
    const pointer = await db.getHead();
    if (pointer === undefined) throw new ChainError({ code: ChainErrorCode.CORRUPT, what: "head pointer missing" });
    const header = await db.getHeader(pointer.hash);
    if (header === undefined) throw new ChainError({ code: ChainErrorCode.CORRUPT, what: "head header missing" });
    // Pair assertion: the stored header must hash to the pointer that names it.
    assert(equalsBytes(hashHeader(header), pointer.hash), "head header hash matches head pointer");
    const headState = openWorldState(common, trieStore, header.stateRoot, HEAD_STATE_OPTIONS);
    const validators = new ValidatorHistory(header.number, await validatorStore.window(header.number, spec.validators));
    const params = new ParamsHistory(spec.params);
    const upgrades = new UpgradeSchedule(opts.nodeVersion ?? VERSION);
    // Blocks that reported effects are few (epoch boundaries, governance): all of them are read at start.
    for (const [key, value] of await db.entries({
      gte: effectsKey(1n),
      lt: Uint8Array.of(KeyPrefix.effects + 1),
    })) {
      const source = readHeight(key);
      if (source > header.number) continue; // left by a rollback's crash: not part of this chain
      const e = decodeEffects(value);
      params.record(source, e.paramChanges);
      if (e.upgradePlan !== null) upgrades.record(source, e.upgradePlan);
    }
    const chain = new Chain({
      db,
      common,
      spec,
      trieStore,
      genesisHash: genesis.hash,
      head: { header, hash: pointer.hash },
      headState,
      headVM: undefined as unknown as VM,
      log,
      validators,
      validatorStore,
      params,
      upgrades,
    });
    (chain as { headVM: VM }).headVM = await createAzoraVM(common, headState, chain);
    return chain;
  }

  get head(): HeadInfo {
    return this._head;
  }

  /**
   * Keeps `record` (the highest-committed record) in step with the head from now on; it is written
   * now, so it names the current head. Call after the start-up check has compared the two.
   */
  useCommittedRecord(record: CommittedRecord): void {
    const prev = record.get();
    assert(
      prev?.height == null || prev.height <= this._head.header.number,
      "the committed record is not above the head (the start-up check refuses that)",
    );
    record.write({ height: this._head.header.number, hash: this._head.hash, uncheckedLogBytes: 0 }, { sync: true });
    this.record = record;
  }

  /**
   * The root of the state that the next block builds on and that `latest` reads see. It is the head
   * block's state root, except in dev mode after a cheat (`anvil_setBalance`, `anvil_setCode`, …)
   * edited the head state between blocks, as Anvil and Hardhat do; the next block commits to it.
   */
  get headStateRoot(): Uint8Array {
    return this.devStateRoot ?? this._head.header.stateRoot;
  }

  /** The state root that reads at `ref` see: the head's state root for the head block, else the header's. */
  stateRootAt(ref: HeadInfo): Uint8Array {
    return equalsBytes(ref.hash, this._head.hash) ? this.headStateRoot : ref.header.stateRoot;
  }

  /**
   * Dev mode only: `headState` was edited outside a block (a cheat) and now has `root`. Its trie
   * nodes stay pending in the trie store and are persisted with the next block.
   */
  setDevStateRoot(root: Uint8Array): void {
    this.devStateRoot = equalsBytes(root, this._head.header.stateRoot) ? null : root;
  }

  /**
   * Dev mode only (`evm_revert`, `anvil_reset`): rewrites history. Lowers the highest-committed record
   * to `to`, deletes every block above `to` with the database rollback (one atomic synced batch),
   * resets the head and its state to block `to` (or to `stateRoot`, a snapshot's root with cheats) and
   * the validators, parameters and upgrade plans to what the blocks up to `to` settled,
   * and tells rewind listeners (filters) about the new head. The caller holds the block pipeline.
   */
  async rewindTo(to: bigint, stateRoot?: Uint8Array): Promise<HeadInfo> {
    assert(to <= this._head.header.number, "rewind goes back");
    const hash = await this.db.getCanonicalHash(to);
    assert(hash !== undefined, "the rewind target is stored");
    // The record first: a crash before the rollback leaves it below the database's head (the next start
    // accepts that and goes on from the old head); the other order would leave it above, which the
    // start refuses as lost committed blocks.
    this.record?.write({ height: to, hash, uncheckedLogBytes: 0 }, { sync: true });
    const r = await rollbackChain(this.db, to);
    assert(equalsBytes(r.hash, hash), "the rolled-back head is the rewind target");
    const header = await this.db.getHeader(r.hash);
    assert(header !== undefined && header.number === to, "the rolled-back head is stored");
    this.headersByHash.clear();
    this.hashesByNumber.clear();
    this._head = { header, hash: r.hash };
    this.devStateRoot = null;
    // What the dropped blocks settled or reported is gone with them (the rollback deleted their records).
    this.validators.reset(to, await this.validatorStore.window(to, this.spec.validators));
    this.params.truncate(to);
    this.upgrades.truncate(to);
    await this.headState.setStateRoot(stateRoot ?? header.stateRoot, true);
    if (stateRoot !== undefined) this.setDevStateRoot(stateRoot);
    this.log.warn("dev chain rewound: blocks above the new head are gone", {
      head: to.toString(),
      dropped: (r.previousTop - to).toString(),
    });
    for (const l of this.rewindListeners) {
      try {
        l(this._head);
      } catch (e) {
        this.log.error("rewind listener failed", {}, e);
      }
    }
    return this._head;
  }

  /**
   * The state root block `ref` was built on: its parent's, or in dev mode the one cheats made
   * between the parent and it (recorded with the block). What a replay of the block starts from.
   */
  async preStateRoot(ref: HeadInfo): Promise<Uint8Array | undefined> {
    const dev = await this.db.getDevPreStateRoot(ref.hash);
    if (dev !== undefined) return dev;
    return (await this.getHeaderByHash(ref.header.parentHash))?.stateRoot;
  }

  /** Called after a dev rewind (`rewindTo`) with the new head. */
  onRewind(listener: (head: HeadInfo) => void): () => void {
    this.rewindListeners.add(listener);
    return () => this.rewindListeners.delete(listener);
  }

  onBlock(listener: BlockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async getBlockHash(number: bigint): Promise<Uint8Array | undefined> {
    if (number > this._head.header.number || number < 0n) return undefined;
    const cached = this.hashesByNumber.get(number);
    if (cached !== undefined) return cached;
    const hash = await this.db.getCanonicalHash(number);
    if (hash !== undefined) this.hashesByNumber.set(number, hash);
    return hash;
  }

  async getHeaderByHash(hash: Uint8Array): Promise<BlockHeader | undefined> {
    const key = bytesToHex(hash);
    const cached = this.headersByHash.get(key);
    if (cached !== undefined) return cached;
    const header = await this.db.getHeader(hash);
    if (header !== undefined) this.headersByHash.set(key, header);
    return header;
  }

  async getHeaderByNumber(number: bigint): Promise<HeadInfo | undefined> {
    const hash = await this.getBlockHash(number);
    if (hash === undefined) return undefined;
    const header = await this.getHeaderByHash(hash);
    return header === undefined ? undefined : { header, hash };
  }

  /**
   * The validators of any committed or settled height, or undefined when unknown: the in-memory window
   * near the head, else the height's record (two LevelDB reads, whatever the chain's length).
   */
  async validatorsAt(height: bigint): Promise<readonly Validator[] | undefined> {
    const near = this.validators.validators(height);
    if (near !== null) return near;
    if (height < 1n || height > this.validators.settledThrough) return undefined;
    return (await this.validatorStore.load(height))?.validators;
  }

  /**
   * The records a block at the head + 1 with `effects` settles: the validators of its height + 2 (with the
   * updates it reported) and the effects themselves. Throws `ValidatorUpdateError` when the updates cannot
   * apply — before anything is written: every node stops at that block alike.
   */
  private async settlementOf(number: bigint, effects: BlockEffects) {
    const next = this.validators.next(number, effects.validatorUpdates);
    const records = await this.validatorStore.recordsFor(next);
    if (hasEffects(effects)) records.push({ key: effectsKey(number), value: encodeEffects(effects) });
    return { next, records };
  }

  /**
   * Block sync: runs `apply`, which commits a verified run of synced blocks (`hashes`, in order) through
   * `commitBlock`, with ONE atomic, synced LevelDB batch for the whole run instead of one per block (the blocks
   * before the last are held; the last one's commit writes them with it), and the highest-committed record written
   * once after it. A run longer than `SYNCED_RUN_LIMITS` (blocks or bytes) is
   * written in several such batches, so memory stays bounded. A block not in `hashes` (consensus committing a height
   * meanwhile) is written at once with the held blocks before it, synced, and the record follows: per-block
   * durability for consensus commits is untouched.
   *
   * Why it is safe. Each batch is atomic and synced: after any crash (kill -9, OS crash, power loss) the database
   * holds all of a batch or none of it, and every earlier batch; no write is ever left unsynced in a LevelDB log
   * file (so a log rotated without an fsync loses nothing). The record is written only after the batch that holds
   * the block it names, so it never runs ahead of the database's durable head (the start-up check would refuse that
   * as lost committed blocks). What a crash takes back is the held blocks of the run in progress: they were visible
   * (head, RPC, listeners; reads see held writes) before they were durable, but each carries a commit certificate
   * sync verified, so it is final, no other block can be committed at its height, and the node re-syncs exactly the
   * same blocks after the restart. If `apply` ends early (stop, failure, halt), what it committed is written in the
   * `finally`.
   */
  async commitSyncedRun<T>(hashes: readonly Uint8Array[], apply: () => Promise<T>): Promise<T> {
    assert(this.syncedRun === null, "one synced run at a time");
    // The run's last block is not held: its commit writes the held blocks and itself in one batch and the record
    // before it returns, so the run is durable before the driver moves consensus past it (and signs there).
    this.syncedRun = { hashes: new Set(hashes.slice(0, -1).map((h) => bytesToHex(h))), last: null };
    try {
      return await apply();
    } finally {
      try {
        await this.writeHeld();
      } finally {
        this.syncedRun = null;
      }
    }
  }

  /** Writes the blocks a synced run holds (one batch), then the record naming the newest of them. */
  private async writeHeld(): Promise<void> {
    const last = this.syncedRun?.last ?? null;
    if (this.syncedRun !== null) this.syncedRun.last = null;
    // Also when a scan of the database wrote the held blocks earlier (`flushHeld` waits for that batch too).
    await this.db.flushHeld();
    if (last !== null) await this.writeRecord(last);
  }

  /**
   * Persists a committed block (one atomic batch: block, receipts, indexes, commit, state nodes, the
   * validators it settles, the effects it reported and the head pointer), then advances the head, applies
   * the effects (validators of H + 2, parameter changes, upgrade plans) and notifies listeners. Inside
   * `commitSyncedRun`, the run's blocks are held for the run's batch instead.
   */
  async commitBlock(block: CommittedBlock, commit: Uint8Array, effects: BlockEffects = NO_EFFECTS): Promise<void> {
    assert(block.header.number === this._head.header.number + 1n, "commit extends the head by one");
    assert(equalsBytes(block.header.parentHash, this._head.hash), "commit extends the head's hash");
    const committed = this.record?.get()?.height ?? null;
    if (committed !== null && block.header.number <= committed) {
      // Clients saw another block at this height as final: writing this one would rewrite history.
      throw new ChainError(
        { code: ChainErrorCode.COMMITTED_HEIGHT, height: block.header.number, committed },
        `refusing to commit a block at height ${block.header.number}: this node already committed height ${committed}`,
      );
    }
    const settled = await this.settlementOf(block.header.number, effects);
    const trieNodes = this.trieStore.takeWrites();
    // Built on a state cheats edited (dev mode): replays of the block (traces) start from that root.
    const devPreStateRoot = this.devStateRoot ?? undefined;
    const run = this.syncedRun;
    const hold = run?.hashes.has(bytesToHex(block.hash)) === true;
    await this.db.writeBlock({ ...block, commit, trieNodes, records: settled.records, devPreStateRoot }, { hold });
    // Held nodes are read from the database's held writes from now on.
    this.trieStore.confirmWritten(trieNodes);
    const head = { header: block.header, hash: block.hash };
    if (!hold) {
      // After the batch and before anyone can see the block: the record never runs ahead of the
      // database's durable head, and a database that later ends below it has lost committed blocks.
      if (run !== null) run.last = null; // written with this block's batch
      await this.writeRecord(head);
    } else if (run !== null) {
      run.last = head;
      const size = this.db.heldSize;
      if (size.blocks >= SYNCED_RUN_LIMITS.blocks || size.bytes >= SYNCED_RUN_LIMITS.bytes) await this.writeHeld();
    }
    this.headersByHash.set(bytesToHex(block.hash), block.header);
    this.hashesByNumber.set(block.header.number, block.hash);
    this._head = head;
    this.devStateRoot = null;
    this.applyEffects(block.header.number, effects, settled.next);
    for (const l of this.listeners) {
      try {
        l(block);
      } catch (e) {
        this.log.error("block listener failed", { number: block.header.number.toString() }, e);
      }
    }
  }

  /** Names `head` in the highest-committed record (fdatasync'd); a failure stops the node like a LevelDB one. */
  private async writeRecord(head: HeadInfo): Promise<void> {
    if (this.record === null) return;
    const record = this.record;
    try {
      await this.db.blockWriteWaitFor(() =>
        record.writeAsync({ height: head.header.number, hash: head.hash, uncheckedLogBytes: 0 }),
      );
    } catch (e) {
      const err = new StorageError(
        { code: StorageErrorCode.IO_ERROR, dir: record.file, op: "write", reason: (e as Error).message },
        `cannot write the highest-committed record: ${(e as Error).message}`,
      );
      this.db.reportFailure(err);
      throw err;
    }
  }

  private applyEffects(number: bigint, effects: BlockEffects, next: HeightValidators): void {
    this.validatorStore.remember(next);
    this.validators.settle(number, next);
    if (effects.validatorUpdates.length > 0) {
      this.log.info("validator set changes", {
        height: next.height.toString(),
        updates: effects.validatorUpdates.length,
        validators: next.validators.length,
      });
    }
    if (effects.paramChanges.length > 0) {
      const skippedBefore = this.params.skipped.length;
      for (const c of this.params.record(number, effects.paramChanges)) {
        this.log.info("chain parameters change", { height: c.height.toString(), reportedBy: number.toString() });
      }
      for (const s of this.params.skipped.slice(skippedBefore)) {
        this.log.error("parameter change out of bounds, skipped", {
          height: s.change.height.toString(),
          reason: s.reason,
        });
      }
    }
    if (effects.upgradePlan !== null) {
      const why = this.upgrades.record(number, effects.upgradePlan);
      if (why !== null) {
        this.log.error("invalid upgrade plan, skipped", { name: effects.upgradePlan.name, reason: why });
      } else {
        this.log.warn("software upgrade scheduled", {
          name: effects.upgradePlan.name,
          height: effects.upgradePlan.height.toString(),
          version: effects.upgradePlan.version,
        });
      }
    }
  }
}

function readHeight(key: Uint8Array): bigint {
  return Buffer.from(key.buffer, key.byteOffset + 1, 8).readBigUInt64BE();
}
