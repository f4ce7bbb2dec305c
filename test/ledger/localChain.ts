/**
 * The runtime without a node: genesis built in memory, blocks executed by `BlockExecution` at a
 * timestamp the test chooses, eth_call-style reads on the EVM. Thousands of module calls per test
 * run in seconds this way (the property tests), with the same state transition the node runs.
 */
import { createFeeMarket1559Tx, type TypedTransaction } from "@ethereumjs/tx";
import { Address, hexToBytes } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { getBytes, HDNodeWallet } from "ethers";
import { DEV_MNEMONIC, devAccountPath } from "../../genesis/devnet.js";
import devnetJSON from "../../genesis/devnet.json" with { type: "json" };
import { memoryGenesisWorld } from "../../genesis/memoryWorld.js";
import { type GenesisJSON, parseGenesis } from "../../genesis/spec.js";
import type { BlockEffects, BlockInfo } from "../../runtime/effects.js";
import { createChainCommon } from "../../runtime/evm/common.js";
import { type BlockEnv, ethBlockForEnv } from "../../runtime/evm/vm.js";
import { BlockExecution } from "../../runtime/executor.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import type { Receipt } from "../../runtime/primitives/receipt.js";
import type { openWorldState } from "../../runtime/state/worldState.js";

export interface Account {
  key: Uint8Array;
  address: string;
  nonce: bigint;
}

export interface TxRequest {
  from: Account;
  to: string;
  data: string;
  value?: bigint;
  gasLimit?: bigint;
  /** Priority fee per gas (default 0): credited to the block's miner. */
  tip?: bigint;
}

const BASE_FEE = 10n ** 9n;

export class LocalChain {
  /** Timestamp of the next block (set freely; never below the last block's). */
  now: bigint;
  private number = 0n;
  private parentHash: Uint8Array;
  /** COINBASE of the next blocks (the staking module collects tips when it is the miner). */
  miner: Uint8Array = hexToBytes("0x000000000000000000000000000000000000fee0");
  /** What the last block's hooks reported. */
  lastEffects: BlockEffects | null = null;

  private constructor(
    readonly vm: VM,
    readonly state: ReturnType<typeof openWorldState>,
    readonly common: ReturnType<typeof createChainCommon>,
    readonly accounts: Account[],
    genesisTime: bigint,
    genesisHash: Uint8Array,
  ) {
    this.now = genesisTime + 1n;
    this.parentHash = genesisHash;
  }

  /**
   * A chain from the devnet genesis plus `extra` HD accounts of the dev mnemonic (index 10 on), each
   * funded with 100,000 AZR and 100,000 LEARN; `modules` replaces genesis module parameters.
   */
  static async start(
    opts: { extra?: number; modules?: Record<string, unknown>; edit?: (json: GenesisJSON) => void } = {},
  ): Promise<LocalChain> {
    const json = structuredClone(devnetJSON) as GenesisJSON & { modules: Record<string, unknown> };
    const wallets = Array.from({ length: 10 + (opts.extra ?? 0) }, (_, i) =>
      HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
    );
    const learn = json.modules.learn as { allocations: Record<string, string> };
    for (const w of wallets.slice(10)) {
      json.alloc[w.address] = { balance: (10n ** 23n).toString() };
      learn.allocations[w.address] = (10n ** 23n).toString();
    }
    if (opts.modules !== undefined) json.modules = { ...json.modules, ...opts.modules };
    for (const [k, v] of Object.entries(json.modules)) if (v === undefined) delete json.modules[k];
    opts.edit?.(json);
    const spec = parseGenesis(json);
    const common = createChainCommon(spec.chainId);
    const { genesis, state, vm } = await memoryGenesisWorld(spec, common);
    const accounts = wallets.map((w) => ({ key: getBytes(w.privateKey), address: w.address, nonce: 0n }));
    return new LocalChain(vm, state, common, accounts, spec.genesisTime, genesis.hash);
  }

  private env(): BlockEnv {
    return {
      number: this.number + 1n,
      timestamp: this.now,
      gasLimit: 60_000_000n,
      baseFeePerGas: BASE_FEE,
      miner: this.miner,
      parentHash: this.parentHash,
    };
  }

  /**
   * An unsigned transaction whose sender is given, as eth_estimateGas runs them: signing and
   * recovering would be most of the cost of a property test's thousands of transactions, and
   * signatures are not what these tests are about (the node's tests cover them).
   */
  private unsigned(r: TxRequest): TypedTransaction {
    const tx = createFeeMarket1559Tx(
      {
        chainId: this.common.chainId(),
        nonce: r.from.nonce++,
        to: r.to as `0x${string}`,
        data: hexToBytes(r.data as `0x${string}`),
        value: r.value ?? 0n,
        gasLimit: r.gasLimit ?? 3_000_000n,
        maxFeePerGas: BASE_FEE * 2n + (r.tip ?? 0n),
        maxPriorityFeePerGas: r.tip ?? 0n,
      },
      { common: this.common, freeze: false },
    );
    const sender = new Address(hexToBytes(r.from.address as `0x${string}`));
    tx.getSenderAddress = () => sender;
    return tx;
  }

  /** The number of the last block executed. */
  get height(): bigint {
    return this.number;
  }

  /**
   * Executes `txs` as one block at `now` and commits it; every tx must be included (it may revert).
   * `info`: what the block's end-block hooks see (who signed the parent, evidence); without it none run.
   */
  async block(txs: TxRequest[], info?: BlockInfo): Promise<Receipt[]> {
    const exec = await BlockExecution.begin(this.vm, this.state, this.common, this.env());
    const receipts: Receipt[] = [];
    for (const r of txs) {
      const tx = this.unsigned(r);
      const res = await exec.apply(tx, tx.getSenderAddress(), tx.getMessageToSign() as Uint8Array);
      if (!res.included) throw new Error(`tx not included: ${res.reason}`);
      receipts.push(res.receipt);
    }
    const sealed = await exec.seal(info);
    this.lastEffects = sealed.effects;
    await exec.commit();
    this.number++;
    // Each block's hash differs (it feeds PREVRANDAO, the verifier draw's seed).
    this.parentHash = keccak256(sealed.stateRoot);
    return receipts;
  }

  private callBlock: { key: string; block: ReturnType<typeof ethBlockForEnv> } | undefined;

  /** eth_call at the head state with `now` as the block time: the return data, or the revert data. */
  async call(from: string, to: string, data: string, value = 0n): Promise<{ ok: boolean; data: Uint8Array }> {
    const key = `${this.number}:${this.now}`;
    if (this.callBlock?.key !== key) this.callBlock = { key, block: ethBlockForEnv(this.common, this.env()) };
    await this.state.checkpoint();
    try {
      const r = await this.vm.evm.runCall({
        caller: new Address(hexToBytes(from as `0x${string}`)),
        to: new Address(hexToBytes(to as `0x${string}`)),
        data: hexToBytes(data as `0x${string}`),
        value,
        gasLimit: 30_000_000n,
        block: this.callBlock.block,
        skipBalance: true,
      });
      return { ok: r.execResult.exceptionError === undefined, data: r.execResult.returnValue };
    } finally {
      await this.state.revert();
    }
  }

  /** A raw storage word of `address` (for tests that read a documented slot directly). */
  async storage(address: string, slot: Uint8Array): Promise<bigint> {
    const v = await this.state.getStorage(new Address(hexToBytes(address as `0x${string}`)), slot);
    let n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
    return n;
  }

  async balance(address: string): Promise<bigint> {
    return (await this.state.getAccount(new Address(hexToBytes(address as `0x${string}`))))?.balance ?? 0n;
  }
}
