import type { Block as EthBlock } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import type { TypedTransaction } from "@ethereumjs/tx";
import type { Address } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { runTx } from "@ethereumjs/vm";
import { type BlockEffects, type BlockInfo, mergeEffects, NO_EFFECTS } from "./effects.js";
import { type BlockEnv, ethBlockForEnv, liftEIP3607Once } from "./evm/vm.js";
import { assert } from "./lib/assert.js";
import { applyModuleCall, looksLikeModuleCall } from "./moduleFastPath.js";
import { burnFromSupply, type CallBlock, NATIVE_MODULES } from "./modules/index.js";
import { bytesToHex } from "./primitives/bytes.js";
import {
  BLOOM_BYTES,
  encodeReceiptWithBloom,
  type Log,
  type Receipt,
  receiptBloom,
  rememberReceiptBloom,
} from "./primitives/receipt.js";
import { orderedTrieRoot } from "./primitives/trieRoot.js";
import { applyPlainTransfer, looksLikePlainTransfer } from "./transferFastPath.js";
import { effectiveGasPrice, fieldsOfRaw, fieldsOfTx, type TxFields } from "./txFields.js";

/** The result of executing a block's transactions: everything its header commits to. */
export interface ExecutedBlock {
  env: BlockEnv;
  transactions: Uint8Array[];
  receipts: Receipt[];
  stateRoot: Uint8Array;
  transactionsRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  logsBloom: Uint8Array;
  gasUsed: bigint;
  /** What the block's end-block hooks asked of the chain (validator updates, parameter changes, an upgrade). */
  effects: BlockEffects;
  /**
   * 0x-prefixed lowercase addresses of every account the block wrote or deleted (txs, end-block
   * hooks, the burn): a superset of those whose nonce or balance changed, for the mempool to
   * re-read. Writes a transaction reverted are included.
   */
  writtenAccounts: Set<string>;
}

export interface ExecutionOptions {
  /** Run plain EOA-to-EOA value transfers without the VM's per-transaction machinery (same result). */
  fastTransfers: boolean;
  /** Run top-level calls into LEARN and NFT collections without the VM's per-transaction machinery (same result). */
  fastModuleCalls: boolean;
}

export type ApplyResult = { included: true; receipt: Receipt } | { included: false; reason: string };

/**
 * One block's execution over the head state. Deterministic: the same env and transactions on the
 * same state always give the same roots. The whole block runs inside one state checkpoint, so
 * per-transaction commits stay in memory and the trie is hashed once, in `seal`.
 *
 * Builder mode (`apply` returning `included: false`) skips transactions that cannot be included
 * (bad nonce, unaffordable, does not fit); a verifier treats any such result as an invalid block.
 */
export class BlockExecution {
  readonly env: BlockEnv;
  private readonly vm: VM;
  private readonly stateManager: MerkleStateManager;
  private readonly ethBlock: EthBlock;
  private readonly transactions: Uint8Array[] = [];
  private readonly receipts: Receipt[] = [];
  private gasUsed = 0n;
  /** open → sealed → committed | aborted (abort also from open). */
  private phase: "open" | "sealed" | "committed" | "aborted" = "open";

  private readonly fastTransfers: boolean;
  private readonly fastModuleCalls: boolean;
  /** The block as module code reads it (TIMESTAMP, NUMBER, PREVRANDAO), for the direct module path. */
  private readonly callBlock: CallBlock;
  private readonly miner: Address;
  /** Tips credited to the miner by this block's transactions (what staking distributes). */
  private tips = 0n;
  private readonly writes: AccountWrites;

  private constructor(vm: VM, stateManager: MerkleStateManager, common: Common, env: BlockEnv, opts: ExecutionOptions) {
    this.vm = vm;
    this.stateManager = stateManager;
    this.env = env;
    this.ethBlock = ethBlockForEnv(common, env);
    this.miner = this.ethBlock.header.coinbase;
    this.fastTransfers = opts.fastTransfers;
    this.fastModuleCalls = opts.fastModuleCalls;
    const header = this.ethBlock.header;
    this.callBlock = { timestamp: header.timestamp, number: header.number, prevRandao: header.prevRandao };
    this.writes = recordAccountWrites(stateManager);
  }

  static async begin(
    vm: VM,
    stateManager: MerkleStateManager,
    common: Common,
    env: BlockEnv,
    opts: ExecutionOptions = { fastTransfers: true, fastModuleCalls: true },
  ): Promise<BlockExecution> {
    await stateManager.checkpoint();
    return new BlockExecution(vm, stateManager, common, env, opts);
  }

  get gasUsedSoFar(): bigint {
    return this.gasUsed;
  }

  get transactionCount(): number {
    return this.transactions.length;
  }

  /**
   * Runs one transaction; on `included: false` the state is exactly as before the call.
   * `allowContractSender` (dev mode's impersonation of a contract account, as Anvil allows) lifts
   * EIP-3607's rule that a sender has no code, for this transaction only.
   *
   * `tx` may be a function that builds the ethereumjs object (the mempool's lazy one): the fast paths
   * (plain value transfers, calls into native modules) then run on the fields read from `raw` and
   * never build it (its construction cost more than a transfer). `raw` must then be the
   * transaction's bytes, already decoded and validated.
   */
  async apply(
    tx: TypedTransaction | (() => TypedTransaction),
    sender: Address,
    raw: Uint8Array,
    opts: { allowContractSender?: boolean } = {},
  ): Promise<ApplyResult> {
    assert(this.phase === "open", "apply after seal/abort");
    let built = typeof tx === "function" ? undefined : tx;
    let fields = built !== undefined ? fieldsOfTx(built) : fieldsOfRaw(raw);
    if (fields === undefined) {
      built = (tx as () => TypedTransaction)(); // a type the raw reading leaves to ethereumjs
      fields = fieldsOfTx(built);
    }
    if (this.gasUsed + fields.gasLimit > this.env.gasLimit)
      return { included: false, reason: "block gas limit reached" };
    if (this.fastTransfers && looksLikePlainTransfer(fields)) {
      const t = await applyPlainTransfer(this.vm, this.stateManager, fields, sender, {
        baseFeePerGas: this.env.baseFeePerGas,
        miner: this.miner,
      });
      if (t !== undefined) {
        if (!t.included) return t;
        this.gasUsed += t.gasUsed;
        return this.record(fields, sender, raw, { status: 1, gasUsed: t.gasUsed, logs: [], contractAddress: null });
      }
    }
    if (this.fastModuleCalls && looksLikeModuleCall(fields)) {
      const c = await applyModuleCall(this.vm, this.stateManager, fields, sender, {
        baseFeePerGas: this.env.baseFeePerGas,
        miner: this.miner,
        block: this.callBlock,
      });
      if (c !== undefined) {
        if (!c.included) return c;
        this.gasUsed += c.gasUsed;
        return this.record(fields, sender, raw, {
          status: c.status,
          gasUsed: c.gasUsed,
          logs: c.logs,
          contractAddress: null,
        });
      }
    }
    built ??= (tx as () => TypedTransaction)();
    return this.applyWithVM(built, fields, sender, raw, opts);
  }

  /** `apply` past the fast paths: ethereumjs's `runTx`. */
  private async applyWithVM(
    tx: TypedTransaction,
    fields: TxFields,
    sender: Address,
    raw: Uint8Array,
    opts: { allowContractSender?: boolean },
  ): Promise<ApplyResult> {
    let result: Awaited<ReturnType<typeof runTx>>;
    const restore = opts.allowContractSender === true ? liftEIP3607Once(this.vm, sender) : undefined;
    try {
      result = await runTx(this.vm, {
        tx,
        block: this.ethBlock,
        blockGasUsed: this.gasUsed,
        skipHardForkValidation: true,
      });
    } catch (e) {
      // runTx reverts its own journal checkpoint before throwing: nothing of this tx remains.
      return { included: false, reason: (e as Error).message };
    } finally {
      restore?.();
    }
    this.gasUsed += result.totalGasSpent;
    const applied = this.record(fields, sender, raw, {
      status: result.execResult.exceptionError === undefined ? 1 : 0,
      gasUsed: result.totalGasSpent,
      logs: (result.execResult.logs ?? []) as Log[],
      contractAddress: result.createdAddress?.bytes ?? null,
    });
    // runTx hashed these logs into a bloom already: keep it rather than hash them again at seal.
    if (applied.included && applied.receipt.logs.length > 0) {
      rememberReceiptBloom(applied.receipt, result.bloom.bitvector);
    }
    return applied;
  }

  private record(
    tx: TxFields,
    sender: Address,
    raw: Uint8Array,
    r: Pick<Receipt, "status" | "gasUsed" | "logs" | "contractAddress">,
  ): ApplyResult {
    const price = effectiveGasPrice(tx, this.env.baseFeePerGas);
    if (price > this.env.baseFeePerGas) this.tips += r.gasUsed * (price - this.env.baseFeePerGas);
    const receipt: Receipt = {
      type: tx.type,
      status: r.status,
      cumulativeGasUsed: this.gasUsed,
      gasUsed: r.gasUsed,
      logs: r.logs,
      contractAddress: r.contractAddress,
      effectiveGasPrice: price,
      from: sender.bytes,
    };
    this.transactions.push(raw);
    this.receipts.push(receipt);
    return { included: true, receipt };
  }

  /**
   * Runs the modules' end-block hooks (with `info`: a chain's block always passes it; a stand-alone
   * execution without it — unit tests, benches — runs none), then computes every root the header
   * commits to. The block's state changes stay inside its checkpoint until `commit` (the block was
   * decided) or `abort` (another block was), so a validator can execute a proposal, vote on it, and
   * still drop it.
   */
  async seal(info?: BlockInfo): Promise<ExecutedBlock> {
    assert(this.phase === "open", "seal twice");
    this.phase = "sealed";
    let effects: BlockEffects = NO_EFFECTS;
    if (info !== undefined) {
      const parts: Partial<BlockEffects>[] = [];
      for (const m of NATIVE_MODULES) {
        const part = await m.endBlock?.({ state: this.stateManager, env: this.env, info, tips: this.tips });
        if (part !== undefined) parts.push(part);
      }
      effects = mergeEffects(parts);
    }
    await burnFromSupply(this.stateManager, this.gasUsed * this.env.baseFeePerGas);
    const stateRoot = await this.stateManager.getStateRoot();
    // Each receipt's bloom once (kept from runTx when the VM ran it): it is part of the receipt's
    // encoding, the block's is their union, and the RPC reads it back through `receiptBloom`.
    const bloom = new Uint8Array(BLOOM_BYTES);
    const leaves = this.receipts.map((r) => {
      const own = receiptBloom(r);
      if (r.logs.length > 0) for (let i = 0; i < BLOOM_BYTES; i++) bloom[i] |= own[i];
      return encodeReceiptWithBloom(r, own);
    });
    return {
      env: this.env,
      transactions: this.transactions,
      receipts: this.receipts,
      stateRoot,
      transactionsRoot: await orderedTrieRoot(this.transactions),
      receiptsRoot: await orderedTrieRoot(leaves),
      logsBloom: bloom,
      gasUsed: this.gasUsed,
      effects,
      writtenAccounts: this.writes.stop(),
    };
  }

  /** Makes the sealed block's state the head state (its trie nodes become pending writes). */
  async commit(): Promise<void> {
    assert(this.phase === "sealed", "commit needs a sealed block");
    this.phase = "committed";
    await this.stateManager.commit();
  }

  /**
   * Throws away every change of this block (a proposal that was not decided). After `seal` the
   * state manager's caches cannot be rolled back: computing the state root flushed them, and with
   * them the pre-block values a revert would restore (ethereumjs 10 `AccountCache.flush` resets the
   * checkpoint's diff). The trie is reverted, so the caches are emptied and refill from it.
   */
  async abort(): Promise<void> {
    assert(this.phase === "open" || this.phase === "sealed", "abort after commit");
    const wasSealed = this.phase === "sealed";
    this.phase = "aborted";
    this.writes.stop();
    await this.stateManager.revert();
    if (wasSealed) this.stateManager.clearCaches();
  }

  get sealed(): boolean {
    return this.phase === "sealed";
  }
}

interface AccountWrites {
  /** Stops recording (idempotent) and returns the addresses written since `recordAccountWrites`. */
  stop(): Set<string>;
}

/** Per state manager: the set the current block execution records into, if any. */
const writeRecorders = new WeakMap<MerkleStateManager, { current: Set<string> | null }>();

/**
 * Records the addresses passed to the state manager's account writes until `stop`. The VM, the
 * fast path, the modules and ethereumjs's own `modifyAccountFields` all write through this one
 * instance's `putAccount`/`deleteAccount`, so wrapping them once on the instance (not the
 * prototype: other state managers are untouched) sees every account write without a second
 * journal. An execution dropped without `seal`/`abort` is simply replaced by the next one.
 */
function recordAccountWrites(sm: MerkleStateManager): AccountWrites {
  let recorder = writeRecorders.get(sm);
  if (recorder === undefined) {
    const r: { current: Set<string> | null } = { current: null };
    const own = { putAccount: sm.putAccount, deleteAccount: sm.deleteAccount };
    // `Address.toString()`'s hex is noble's `+=` per byte, a rope of ~20 strings (~1 KB per write,
    // several writes per transaction); `bytesToHex` gives the same string flat.
    sm.putAccount = (address, account) => {
      r.current?.add(bytesToHex(address.bytes));
      return own.putAccount.call(sm, address, account);
    };
    sm.deleteAccount = (address) => {
      r.current?.add(bytesToHex(address.bytes));
      return own.deleteAccount.call(sm, address);
    };
    writeRecorders.set(sm, r);
    recorder = r;
  }
  const written = new Set<string>();
  const r = recorder;
  r.current = written;
  return {
    stop() {
      if (r.current === written) r.current = null;
      return written;
    },
  };
}
