import { rmSync } from "node:fs";
import { createFeeMarket1559Tx } from "@ethereumjs/tx";
import { privateToAddress } from "@ethereumjs/util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, devnetGenesis } from "../../../../genesis/devnet.js";
import type { GenesisSpec } from "../../../../genesis/spec.js";
import { Chain } from "../../../../node/chain/chain.js";
import { ChainApp } from "../../../../node/consensus/app.js";
import { Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { openChainStorage } from "../../../../node/db/storage.js";
import { decodeRawTransaction } from "../../../../node/mempool/decode.js";
import { DEFAULT_MEMPOOL_OPTIONS, Mempool } from "../../../../node/mempool/index.js";
import { decodedTransactions, encodeSyncItem } from "../../../../node/sync/index.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import type { Block } from "../../../../runtime/primitives/block.js";
import { bytesToHex, hexToBytes } from "../../../../runtime/primitives/bytes.js";
import { commitFor, testValidators } from "../../../utils/consensusFixtures.js";
import { tempDir } from "../../../utils/devnode.js";

/**
 * Transactions a node never saw (a synced block's, a peer's proposal) are decoded by the mempool's fast
 * decoder in `processProposal`: the block must execute to exactly the builder's roots, and a transaction
 * the fast decoder refuses (a signature that recovers no key) still fails the block as before.
 */

/** ethereumjs transaction objects built (each costs more than a value transfer's execution). */
const built = vi.hoisted(() => ({ count: 0 }));
/** Sender recoveries on this thread (the native secp256k1 path of the fast decoder). */
const recovered = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../../../runtime/primitives/nativeCrypto.js", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../../../runtime/primitives/nativeCrypto.js")>();
  return {
    ...m,
    recoverSenderAddress: (...a: Parameters<typeof m.recoverSenderAddress>) => {
      recovered.count++;
      return m.recoverSenderAddress(...a);
    },
  };
});
vi.mock("@ethereumjs/tx", async (importOriginal) => {
  const m = await importOriginal<typeof import("@ethereumjs/tx")>();
  return {
    ...m,
    createTxFromRLP: (...a: Parameters<typeof m.createTxFromRLP>) => {
      built.count++;
      return m.createTxFromRLP(...a);
    },
  };
});

const { signers, validators: keys } = testValidators(1);
const VALIDATOR = { ...keys[0], votingPower: 10n, feeRecipient: new Uint8Array(20).fill(7) };

function spec(): GenesisSpec {
  return {
    ...devnetGenesis(),
    validators: [VALIDATOR],
    validatorNames: ["v0"],
    validatorOperators: [new Uint8Array(20).fill(9)],
  };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function openNode(richMempool: boolean): Promise<{ chain: Chain; app: ChainApp; mempool: Mempool }> {
  const dir = tempDir("foreign-txs");
  const g = spec();
  const { db, record } = await openChainStorage(dir, { syncWrites: false });
  const chain = await Chain.open(db, g, createChainCommon(g.chainId), nullLogger);
  const mempool = new Mempool(
    { ...DEFAULT_MEMPOOL_OPTIONS, minBaseFeePerGas: 0n, blockGasLimit: g.gasLimit },
    { state: { getAccount: async () => ({ nonce: 0n, balance: richMempool ? 10n ** 24n : 0n }) } },
  );
  const app = new ChainApp({ chain, mempool, verifier: new Ed25519Verifier(), log: nullLogger });
  cleanup.push(async () => {
    record.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { chain, app, mempool };
}

/** A value transfer of the dev account `from` (fresh accounts: nonce 0). */
function transfer(chain: Chain, from: number, value: bigint): Uint8Array {
  return createFeeMarket1559Tx(
    {
      chainId: chain.spec.chainId,
      nonce: 0n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 1n,
      gasLimit: 21_000n,
      to: new Uint8Array(20).fill(0x42),
      value,
    },
    { common: chain.common },
  )
    .sign(hexToBytes(DEV_KEYS[from]))
    .serialize();
}

/** A proposal `a` builds of three transfers (from dev keys 1–3, values `base`, `base` + 1, `base` + 2) it admitted. */
async function proposalOfTransfers(a: Awaited<ReturnType<typeof openNode>>, base: bigint): Promise<Block> {
  for (const [i, from] of [1, 2, 3].entries()) {
    const raw = transfer(a.chain, from, base + BigInt(i));
    const ctx = { common: a.chain.common, chainId: a.chain.spec.chainId, maxTxBytes: 128 * 1024 };
    expect(await a.mempool.add(decodeRawTransaction(raw, ctx))).toMatchObject({ status: "pending" });
  }
  const { block } = await a.app.buildProposal({
    proposer: VALIDATOR,
    timestamp: 1_700_000_001n,
    lastCommit: new Uint8Array(0),
  });
  return block;
}

describe("a proposal's transactions this node never saw", () => {
  it("execute to the builder's roots through the fast decoder; a signature that recovers no key fails the block", async () => {
    const a = await openNode(true);
    const b = await openNode(false);
    const block = await proposalOfTransfers(a, 1000n);
    expect(block.body.transactions).toHaveLength(3);
    expect(b.mempool.stats().pending).toBe(0);

    // r = 0 recovers no key: the fast decoder refuses it, ethereumjs then fails it as undecodable.
    const bad = structuredClone(block.body.transactions[1]);
    const rAt = bad.length - 65; // ... yParity, r (0xa0 + 32 bytes), s (0xa0 + 32 bytes)
    expect(bad[rAt - 1]).toBe(0xa0);
    bad.fill(0, rAt, rAt + 32);
    const tampered: Block = {
      ...block,
      body: { ...block.body, transactions: [block.body.transactions[0], bad, block.body.transactions[2]] },
    };
    expect(await b.app.processProposal(tampered, VALIDATOR)).toEqual({
      valid: false,
      reason: "undecodable transaction",
    });

    // The same block as built: every root the builder sealed matches (header stateRoot, receipts, bloom, gas),
    // and no ethereumjs object was built for the transfers.
    built.count = 0;
    expect(await b.app.processProposal(block, VALIDATOR)).toMatchObject({ valid: true });
    expect(built.count).toBe(0);
    const commit = commitFor(a.chain.spec.chainId, signers, block, [0]);
    await b.app.finalize(block, commit, VALIDATOR);
    await a.app.finalize(block, commit, VALIDATOR);
    expect(b.chain.head.hash).toEqual(a.chain.head.hash);
    const receipts = await b.chain.db.getReceipts(b.chain.head.hash);
    expect(receipts?.map((r) => r.status)).toEqual([1, 1, 1]);
    // The senders, in block order, are the signing keys' addresses (derived here without any tx decoder).
    const senders = [1, 2, 3].map((i) => bytesToHex(privateToAddress(hexToBytes(DEV_KEYS[i]))));
    expect(receipts?.map((r) => bytesToHex(r.from))).toEqual(senders);
  });

  it("decoded ahead by block sync's worker: the senders it recovered are used, and execute to the builder's roots", async () => {
    const a = await openNode(true);
    const b = await openNode(false);
    const block = await proposalOfTransfers(a, 2000n);
    expect(block.body.transactions).toHaveLength(3);
    const commit = commitFor(a.chain.spec.chainId, signers, block, [0]);
    // What the worker does with a blocks response (the function it runs, here on this thread).
    const item = encodeSyncItem(block, commit);
    const decoded = decodedTransactions({ chainId: a.chain.spec.chainId, items: [item], keySets: [], setOf: [0] });
    expect(decoded).toHaveLength(3);
    b.app.rememberDecoded(decoded);
    recovered.count = 0;
    built.count = 0;
    expect(await b.app.processProposal(block, VALIDATOR)).toMatchObject({ valid: true });
    // No sender recovered in the block's turn: every transaction came decoded.
    expect(recovered.count).toBe(0);
    expect(built.count).toBe(0);
    await b.app.finalize(block, commit, VALIDATOR);
    await a.app.finalize(block, commit, VALIDATOR);
    expect(b.chain.head.hash).toEqual(a.chain.head.hash);
    const receipts = await b.chain.db.getReceipts(b.chain.head.hash);
    expect(receipts?.map((r) => r.status)).toEqual([1, 1, 1]);
    const senders = [1, 2, 3].map((i) => bytesToHex(privateToAddress(hexToBytes(DEV_KEYS[i]))));
    expect(receipts?.map((r) => bytesToHex(r.from))).toEqual(senders);
  });
});
