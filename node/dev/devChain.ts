import { Account, type Address, createAddressFromString, setLengthLeft, unpadBytes } from "@ethereumjs/util";
import { decodeCommit } from "../../consensus/commit.js";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { AzoraError } from "../../runtime/lib/errors.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { bytesToHex } from "../../runtime/primitives/bytes.js";
import type { Chain } from "../chain/chain.js";
import type { GuardedSigner } from "../consensus/signer.js";
import type { Mempool } from "../mempool/index.js";
import type { BlockProducer } from "../producer/blockProducer.js";
import type { DevAccounts } from "./accounts.js";

export enum DevChainErrorCode {
  /** A cheat's value does not fit (a storage value over 32 bytes, …). */
  INVALID_VALUE = "DEV_CHAIN_ERROR_INVALID_VALUE",
}

export class DevChainError extends AzoraError<{ code: DevChainErrorCode.INVALID_VALUE; reason: string }> {}

/** What `evm_snapshot` keeps: enough to put the dev chain back exactly (blocks, state, clock, fees). */
interface Snapshot {
  height: bigint;
  hash: Uint8Array;
  /** The head state's root at snapshot time (the head block's, or one cheats made since). */
  stateRoot: Uint8Array;
  timeOffsetSeconds: bigint;
}

export interface DevChainModules {
  chain: Chain;
  producer: BlockProducer;
  mempool: Mempool;
  signer: GuardedSigner;
  accounts: DevAccounts;
  log: Logger;
  nowMs?: () => number;
}

/** At most this many blocks per anvil_mine / hardhat_mine / evm_mine call. */
export const MAX_MINE_BLOCKS = 10_000;

/**
 * Dev mode's control of its own chain: the cheats of Anvil and Hardhat (state edits between blocks,
 * mining modes, time), snapshots and rewinds. Every change to the head state or the chain runs inside
 * the block producer's lock, so it never interleaves with a block being built. A rewind is history
 * rewriting, allowed only here: the database rollback, the highest-committed record and the dev
 * validator's double-sign guard move back together.
 */
export class DevChain {
  private readonly m: DevChainModules;
  private readonly nowMs: () => number;
  private readonly snapshots = new Map<bigint, Snapshot>();
  private nextSnapshotId = 1n;

  constructor(modules: DevChainModules) {
    this.m = modules;
    this.nowMs = modules.nowMs ?? Date.now;
  }

  // --- state cheats (anvil_set*, hardhat_set*) ---

  setBalance(address: string, balance: bigint): Promise<void> {
    return this.editAccount(address, async (sm, a) => {
      const account = (await sm.getAccount(a)) ?? newAccount();
      account.balance = balance;
      await sm.putAccount(a, account);
    });
  }

  setNonce(address: string, nonce: bigint): Promise<void> {
    return this.editAccount(address, async (sm, a) => {
      const account = (await sm.getAccount(a)) ?? newAccount();
      account.nonce = nonce;
      await sm.putAccount(a, account);
    });
  }

  setCode(address: string, code: Uint8Array): Promise<void> {
    return this.editAccount(address, async (sm, a) => {
      if ((await sm.getAccount(a)) === undefined) await sm.putAccount(a, newAccount());
      await sm.putCode(a, code);
    });
  }

  setStorageAt(address: string, slot: Uint8Array, value: Uint8Array): Promise<void> {
    if (value.length > 32) {
      throw new DevChainError(
        { code: DevChainErrorCode.INVALID_VALUE, reason: "storage value over 32 bytes" },
        "storage value must be at most 32 bytes",
      );
    }
    return this.editAccount(address, async (sm, a) => {
      if ((await sm.getAccount(a)) === undefined) await sm.putAccount(a, newAccount());
      await sm.putStorage(a, setLengthLeft(slot, 32), unpadBytes(value));
    });
  }

  /**
   * Edits the head state between blocks: the change is visible to `latest` reads at once and the next
   * block commits to it (`Chain.headStateRoot`). The mempool re-reads the account (nonce, balance).
   */
  private async editAccount(
    address: string,
    edit: (sm: Chain["headState"], a: Address) => Promise<void>,
  ): Promise<void> {
    const { chain, producer, mempool } = this.m;
    await producer.runExclusive(async () => {
      await edit(chain.headState, createAddressFromString(address));
      chain.setDevStateRoot(await chain.headState.getStateRoot());
    });
    await mempool.onNewHead({ accounts: [address] });
  }

  // --- mining and time ---

  /** Mines `blocks` blocks now; the first at `timestamp` when given, each next `intervalSeconds` later when given. */
  async mine(blocks: number, opts: { timestamp?: bigint; intervalSeconds?: bigint } = {}): Promise<void> {
    const { producer } = this.m;
    let ts = opts.timestamp;
    for (let i = 0; i < blocks; i++) {
      if (ts !== undefined) this.setNextBlockTimestamp(ts);
      const block = await producer.mineNow();
      if (opts.intervalSeconds !== undefined) ts = block.header.timestamp + opts.intervalSeconds;
    }
  }

  /**
   * As in Hardhat and Anvil, the clock continues from an explicitly set timestamp: without moving the
   * offset, every later block would repeat that timestamp (the producer never goes backwards) until
   * the wall clock caught up.
   */
  setNextBlockTimestamp(timestamp: bigint): void {
    const { producer } = this.m;
    producer.nextTimestamp = timestamp;
    producer.timeOffsetSeconds = timestamp - BigInt(Math.floor(this.nowMs() / 1000));
  }

  increaseTime(seconds: bigint): bigint {
    this.m.producer.timeOffsetSeconds += seconds;
    return this.m.producer.timeOffsetSeconds;
  }

  setNextBlockBaseFeePerGas(fee: bigint): void {
    this.m.producer.nextBaseFeePerGas = fee;
  }

  setAutomine(on: boolean): void {
    this.m.producer.setMining({ automine: on });
  }

  setIntervalMining(ms: number): void {
    this.m.producer.setMining({ intervalMs: ms });
  }

  get mining(): { automine: boolean; intervalMs: number | undefined } {
    return this.m.producer.mining;
  }

  // --- snapshots and rewinds (history rewriting) ---

  snapshot(): bigint {
    const { chain, producer } = this.m;
    const id = this.nextSnapshotId++;
    this.snapshots.set(id, {
      height: chain.head.header.number,
      hash: chain.head.hash,
      stateRoot: chain.headStateRoot,
      timeOffsetSeconds: producer.timeOffsetSeconds,
    });
    return id;
  }

  /**
   * `evm_revert`: back to snapshot `id` — its blocks, state and clock — dropping the blocks mined
   * since; the snapshot and every later one are used up (Hardhat's and Anvil's rule). False for an
   * unknown id.
   */
  async revert(id: bigint): Promise<boolean> {
    const snap = this.snapshots.get(id);
    if (snap === undefined) return false;
    for (const k of [...this.snapshots.keys()]) if (k >= id) this.snapshots.delete(k);
    await this.rewind(snap.height, snap.stateRoot);
    this.m.producer.timeOffsetSeconds = snap.timeOffsetSeconds;
    return true;
  }

  /** `anvil_reset` / `hardhat_reset`: back to genesis, no snapshots, no time offset, no impersonation. */
  async reset(): Promise<void> {
    this.snapshots.clear();
    await this.rewind(0n);
    this.m.producer.timeOffsetSeconds = 0n;
    this.m.accounts.clearImpersonation();
  }

  /**
   * Rewinds the chain to `height` inside the producer's lock: the database drops the blocks above
   * (with their indexes), the highest-committed record and the dev validator's signer state move back
   * to that block, the head state to `stateRoot` (or the block's), and the pool is emptied (its
   * transactions were signed against the dropped state; Hardhat restores the snapshot's pool, which
   * under automine is empty).
   */
  private async rewind(height: bigint, stateRoot?: Uint8Array): Promise<void> {
    const { chain, producer, mempool, signer } = this.m;
    await producer.runExclusive(async () => {
      // The guard first: a crash between the two leaves it at or below the database's head, which
      // the next start accepts (the other order would leave it above, which the start refuses).
      if (height === 0n) {
        await signer.rewindForDevChain(signer.publicKey, null);
      } else {
        const hash = await chain.db.getCanonicalHash(height);
        const raw = await chain.db.getCommit(height);
        if (hash === undefined || raw === undefined) throw new Error(`block ${height} or its commit is missing`);
        const commit = decodeCommit(raw);
        await signer.rewindForDevChain(signer.publicKey, {
          height,
          round: commit.round,
          signBytes: voteSignBytes(chain.spec.chainId, VoteType.Precommit, height, commit.round, hash),
        });
      }
      await chain.rewindTo(height, stateRoot);
      producer.restartClock();
      const content = mempool.content();
      for (const side of [content.pending, content.queued]) {
        for (const txs of side.values()) for (const t of txs) mempool.drop(t.hash, "dev chain rewound");
      }
    });
    this.m.log.info("dev chain rewound", { head: height.toString(), hash: bytesToHex(chain.head.hash) });
  }
}

function newAccount(): Account {
  return new Account(0n, 0n);
}
