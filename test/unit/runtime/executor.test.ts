import { createFeeMarket1559Tx, createTxFromRLP } from "@ethereumjs/tx";
import { createContractAddress, hexToBytes, bytesToHex as utilBytesToHex } from "@ethereumjs/util";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../../contracts/artifacts.js";
import { devnetGenesis } from "../../../genesis/devnet.js";
import { memoryGenesisWorld } from "../../../genesis/memoryWorld.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { BlockExecution } from "../../../runtime/executor.js";
import { nextBaseFee } from "../../../runtime/fees.js";
import { bytesToHex } from "../../../runtime/primitives/bytes.js";
import { keccak256 } from "../../../runtime/primitives/hash.js";
import { encodeReceiptForRoot, logsBloom, receiptBloom } from "../../../runtime/primitives/receipt.js";
import { orderedTrieRoot } from "../../../runtime/primitives/trieRoot.js";
import { DEV_KEYS } from "../../utils/devnode.js";

const spec = devnetGenesis();
const common = createChainCommon(spec.chainId);
const MINER = hexToBytes("0x000000000000000000000000000000000000fee0");

/** A fresh world at genesis over an in-memory node map (pure logic: no LevelDB needed here). */
async function freshWorld() {
  const { genesis, state, vm } = await memoryGenesisWorld(spec, common);
  return { state, vm, genesis };
}

function transfer(key: number, nonce: number, to: `0x${string}`, value: bigint, gasLimit = 21000n) {
  const tx = createFeeMarket1559Tx(
    { chainId: spec.chainId, nonce, to, value, gasLimit, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n },
    { common },
  ).sign(hexToBytes(DEV_KEYS[key]));
  return createTxFromRLP(tx.serialize(), { common });
}

function deploy(key: number, nonce: number) {
  const a = loadArtifact("Probe");
  const tx = createFeeMarket1559Tx(
    {
      chainId: spec.chainId,
      nonce,
      data: a.bytecode as `0x${string}`,
      gasLimit: 3_000_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    },
    { common },
  ).sign(hexToBytes(DEV_KEYS[key]));
  return createTxFromRLP(tx.serialize(), { common });
}

/** A call with calldata (the EVM path: runTx builds the receipt's bloom). */
function call(key: number, nonce: number, to: `0x${string}`, data: Uint8Array, value = 0n) {
  const tx = createFeeMarket1559Tx(
    {
      chainId: spec.chainId,
      nonce,
      to,
      value,
      data,
      gasLimit: 200_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    },
    { common },
  ).sign(hexToBytes(DEV_KEYS[key]));
  return createTxFromRLP(tx.serialize(), { common });
}

const selector = (signature: string) => keccak256(new TextEncoder().encode(signature)).subarray(0, 4);

async function runBlock(txs: ReturnType<typeof transfer>[]) {
  const w = await freshWorld();
  const env = {
    number: 1n,
    timestamp: spec.genesisTime + 1n,
    gasLimit: spec.gasLimit,
    baseFeePerGas: nextBaseFee(w.genesis.header, spec.fees),
    miner: MINER,
    parentHash: w.genesis.hash,
  };
  const exec = await BlockExecution.begin(w.vm, w.state, common, env);
  const results = [];
  for (const tx of txs) results.push(await exec.apply(tx, tx.getSenderAddress(), tx.serialize()));
  return { results, sealed: await exec.seal(), state: w.state };
}

describe("block execution", () => {
  it("is deterministic: the same block on the same state gives the same roots", async () => {
    const txs = () => [
      transfer(0, 0, "0x000000000000000000000000000000000000beef", 5n),
      deploy(1, 0),
      transfer(2, 0, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 10n ** 18n),
    ];
    const a = await runBlock(txs());
    const b = await runBlock(txs());
    expect(a.results.every((r) => r.included)).toBe(true);
    expect(bytesToHex(a.sealed.stateRoot)).toBe(bytesToHex(b.sealed.stateRoot));
    expect(bytesToHex(a.sealed.receiptsRoot)).toBe(bytesToHex(b.sealed.receiptsRoot));
    expect(bytesToHex(a.sealed.transactionsRoot)).toBe(bytesToHex(b.sealed.transactionsRoot));
    expect(a.sealed.receipts[1].contractAddress).not.toBeNull();
    expect(a.sealed.gasUsed).toBe(a.sealed.receipts.reduce((s, r) => s + r.gasUsed, 0n));
  });

  it("reports every account it wrote (fast path, VM, miner, created contract) for the mempool to re-read", async () => {
    const { sealed } = await runBlock([
      transfer(0, 0, "0x000000000000000000000000000000000000beef", 5n),
      deploy(1, 0),
      transfer(2, 0, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", 10n ** 18n),
    ]);
    const sender = (key: number) => transfer(key, 0, "0x000000000000000000000000000000000000beef", 0n);
    const expected = [
      sender(0).getSenderAddress().toString(),
      sender(1).getSenderAddress().toString(),
      sender(2).getSenderAddress().toString(),
      "0x000000000000000000000000000000000000beef",
      "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
      bytesToHex(MINER),
      bytesToHex(sealed.receipts[1].contractAddress!),
    ];
    for (const a of expected) expect(sealed.writtenAccounts, a).toContain(a);
  });

  it("keeps runTx's bloom per receipt: the same blooms, header bloom and receipts root as computed from the logs", async () => {
    const deployer = deploy(1, 0);
    const probe = utilBytesToHex(createContractAddress(deployer.getSenderAddress(), 0n).bytes);
    const word = (v: bigint) => hexToBytes(`0x${v.toString(16).padStart(64, "0")}` as `0x${string}`);
    const setCall = (v: bigint, tag: bigint) => {
      const data = new Uint8Array(68);
      data.set(selector("set(uint256,bytes32)"), 0);
      data.set(word(v), 4);
      data.set(word(tag), 36);
      return data;
    };
    const { results, sealed } = await runBlock([
      deployer,
      call(0, 0, probe, selector("deposit()"), 7n),
      call(2, 0, probe, setCall(42n, 9n)),
      transfer(3, 0, "0x000000000000000000000000000000000000beef", 5n),
      call(0, 1, probe, selector("assertFail()")),
      call(2, 1, probe, setCall(2n ** 200n, 1n)),
    ]);
    expect(results.every((r) => r.included)).toBe(true);
    expect(sealed.receipts.map((r) => r.logs.length)).toEqual([0, 1, 1, 0, 0, 1]);
    const union = new Uint8Array(256);
    for (const r of sealed.receipts) {
      const plain = logsBloom(r.logs);
      expect(bytesToHex(receiptBloom(r))).toBe(bytesToHex(plain));
      for (let i = 0; i < 256; i++) union[i] |= plain[i];
    }
    expect(bytesToHex(sealed.logsBloom)).toBe(bytesToHex(union));
    expect(bytesToHex(sealed.receiptsRoot)).toBe(
      bytesToHex(await orderedTrieRoot(sealed.receipts.map(encodeReceiptForRoot))),
    );
  });

  it("skips an invalid transaction without leaving any trace in the state", async () => {
    const good = () => transfer(0, 0, "0x000000000000000000000000000000000000beef", 5n);
    const withBad = await runBlock([good(), transfer(1, 7, "0x000000000000000000000000000000000000beef", 5n)]);
    const without = await runBlock([good()]);
    expect(withBad.results[1].included).toBe(false);
    expect(bytesToHex(withBad.sealed.stateRoot)).toBe(bytesToHex(without.sealed.stateRoot));
  });

  it("pays the tip to the miner and burns the base fee", async () => {
    const { sealed, state } = await runBlock([transfer(0, 0, "0x000000000000000000000000000000000000beef", 5n)]);
    const r = sealed.receipts[0];
    const tip = r.effectiveGasPrice - sealed.env.baseFeePerGas;
    const minerAccount = await state.getAccount(new (await import("@ethereumjs/util")).Address(MINER));
    expect(minerAccount?.balance).toBe(r.gasUsed * tip);
  });

  it("treats a call to 0x0a (KZG precompile, removed) as a plain transfer instead of crashing", async () => {
    const { results } = await runBlock([transfer(0, 0, "0x000000000000000000000000000000000000000a", 1n, 100_000n)]);
    expect(results[0].included).toBe(true);
  });

  it("abort after seal restores the pre-block state (the next block sees the old nonces)", async () => {
    const w = await freshWorld();
    const env = {
      number: 1n,
      timestamp: spec.genesisTime,
      gasLimit: spec.gasLimit,
      baseFeePerGas: 10n ** 9n,
      miner: MINER,
      parentHash: w.genesis.hash,
    };
    const sender = transfer(0, 0, "0x000000000000000000000000000000000000beef", 1n).getSenderAddress();
    const first = await BlockExecution.begin(w.vm, w.state, common, env);
    const t = transfer(0, 0, "0x000000000000000000000000000000000000beef", 1n);
    expect((await first.apply(t, t.getSenderAddress(), t.serialize())).included).toBe(true);
    await first.seal();
    await first.abort();
    expect((await w.state.getAccount(sender))?.nonce).toBe(0n);
    expect(bytesToHex(await w.state.getStateRoot())).toBe(bytesToHex(w.genesis.header.stateRoot));
    // Another block at the same height executes against the reverted state.
    const second = await BlockExecution.begin(w.vm, w.state, common, env);
    const t2 = transfer(0, 0, "0x000000000000000000000000000000000000dead", 2n);
    expect((await second.apply(t2, t2.getSenderAddress(), t2.serialize())).included).toBe(true);
    await second.abort();
  });

  it("refuses a transaction that does not fit the remaining block gas", async () => {
    const w = await freshWorld();
    const exec = await BlockExecution.begin(w.vm, w.state, common, {
      number: 1n,
      timestamp: spec.genesisTime,
      gasLimit: 30_000n,
      baseFeePerGas: 10n ** 9n,
      miner: MINER,
      parentHash: w.genesis.hash,
    });
    const t1 = transfer(0, 0, "0x000000000000000000000000000000000000beef", 1n);
    const t2 = transfer(0, 1, "0x000000000000000000000000000000000000beef", 1n);
    expect((await exec.apply(t1, t1.getSenderAddress(), t1.serialize())).included).toBe(true);
    expect(await exec.apply(t2, t2.getSenderAddress(), t2.serialize())).toEqual({
      included: false,
      reason: "block gas limit reached",
    });
    await exec.abort();
  });
});

describe("EIP-1559 base fee", () => {
  const fees = spec.fees;
  it("stays at the floor when blocks are empty", () => {
    expect(nextBaseFee({ gasLimit: 60_000_000n, gasUsed: 0n, baseFeePerGas: fees.minBaseFeePerGas }, fees)).toBe(
      fees.minBaseFeePerGas,
    );
  });
  it("rises by 1/8 for a full block and is unchanged at target", () => {
    const base = 8n * 10n ** 9n;
    expect(nextBaseFee({ gasLimit: 60_000_000n, gasUsed: 60_000_000n, baseFeePerGas: base }, fees)).toBe(
      9n * 10n ** 9n,
    );
    expect(nextBaseFee({ gasLimit: 60_000_000n, gasUsed: 30_000_000n, baseFeePerGas: base }, fees)).toBe(base);
  });
  it("falls by at most 1/8 and never below the floor", () => {
    const base = 8n * 10n ** 9n;
    expect(nextBaseFee({ gasLimit: 60_000_000n, gasUsed: 0n, baseFeePerGas: base }, fees)).toBe(7n * 10n ** 9n);
  });
});
