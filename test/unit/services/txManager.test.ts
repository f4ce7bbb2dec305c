import { Interface, Transaction, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ILearnAbi } from "../../../contracts/artifacts/ILearn.js";
import { nullLogger } from "../../../runtime/lib/logger.js";
import { LEARN_ADDRESS } from "../../../services/runtime/chain/market.js";
import { createRPCClient, quantity, type RPCClient } from "../../../services/runtime/chain/rpcClient.js";
import { DEFAULT_TX_OPTIONS, TxManager } from "../../../services/runtime/chain/txManager.js";
import { TxErrorCode } from "../../../services/runtime/errors.js";
import { Journal } from "../../../services/runtime/journal.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../../utils/devnode.js";

/** The transaction manager against a real in-process dev node (real mempool, blocks, receipts). */
describe("TxManager", () => {
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  let rpc: RPCClient;
  beforeAll(async () => {
    node = await startInProcessNode({ blockTimeMs: 1500 });
    rpc = createRPCClient(node.url);
  });
  afterAll(async () => node.cleanup());

  const nonceOf = async (a: string) =>
    Number(quantity(await rpc.call<string>("eth_getTransactionCount", [a, "latest"])));

  function manager(key: string, journal: Journal, over: Partial<typeof DEFAULT_TX_OPTIONS> = {}) {
    return new TxManager(
      { ...DEFAULT_TX_OPTIONS, receiptPollMs: 100, ...over, chainId: DEV_CHAIN_ID },
      { rpc, wallet: new Wallet(key), journal, logger: nullLogger },
    );
  }

  it("journals, sends and settles; nonces follow each other", async () => {
    const journal = new Journal(":memory:");
    const txm = manager(DEV_KEYS[3], journal);
    await txm.init();
    const me = txm.address;
    const before = await nonceOf(me);
    const [a, b] = await Promise.all([
      txm.send({ jobId: 1n, role: "work", action: "ping", to: me, data: "0x" }),
      txm.send({ jobId: 2n, role: "work", action: "ping", to: me, data: "0x" }),
    ]);
    expect(a.status).toBe("mined");
    expect(b.status).toBe("mined");
    expect(await nonceOf(me)).toBe(before + 2);
    expect(journal.pendingTxs()).toEqual([]);
    expect(journal.lastTx(1n, "work", "ping")).toMatchObject({ state: "mined", nonce: before, minedHash: a.hash });
    await txm.close();
  });

  it("a transaction journaled before a crash (never broadcast) is sent after restart, once", async () => {
    const journal = new Journal(":memory:");
    const wallet = new Wallet(DEV_KEYS[4]);
    const nonce = await nonceOf(wallet.address);
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: DEV_CHAIN_ID,
      nonce,
      to: wallet.address,
      value: 0n,
      gasLimit: 21000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    const hash = Transaction.from(raw).hash as string;
    const row = journal.addTx({
      jobId: 9n,
      role: "work",
      action: "claim",
      nonce,
      hash,
      raw,
      to: wallet.address,
      data: "0x",
      value: 0n,
      gasLimit: 21000n,
      maxFee: 10n ** 10n,
      tip: 10n ** 9n,
    });
    // "restart": a fresh manager over the same journal
    const txm = manager(DEV_KEYS[4], journal);
    await txm.init();
    expect(txm.pending().map((t) => t.seq)).toEqual([row.seq]);
    const o = await txm.wait(row.seq);
    expect(o).toMatchObject({ status: "mined", hash });
    expect(await nonceOf(wallet.address)).toBe(nonce + 1);
    // the next send takes the next nonce
    const next = await txm.send({ jobId: null, role: null, action: "ping", to: wallet.address, data: "0x" });
    expect(journal.getTx(next.seq)?.nonce).toBe(nonce + 1);
    await txm.close();
  });

  it("a call that would revert is refused by simulation with the decoded error, and spends no nonce", async () => {
    const journal = new Journal(":memory:");
    const txm = manager(DEV_KEYS[5], journal);
    await txm.init();
    const before = await nonceOf(txm.address);
    const data = new Interface(ILearnAbi).encodeFunctionData("transfer", [txm.address, 10n ** 30n]);
    await expect(txm.send({ jobId: 1n, role: "work", action: "claim", to: LEARN_ADDRESS, data })).rejects.toMatchObject(
      {
        type: { code: TxErrorCode.WOULD_REVERT, error: "ERC20InsufficientBalance" },
      },
    );
    expect(journal.pendingTxs()).toEqual([]);
    const ok = await txm.send({ jobId: null, role: null, action: "ping", to: txm.address, data: "0x" });
    expect(journal.getTx(ok.seq)?.nonce).toBe(before);
    await txm.close();
  });

  it("re-signs an unmined transaction with higher fees at the same nonce", async () => {
    const journal = new Journal(":memory:");
    const txm = manager(DEV_KEYS[6], journal, { feeBumpAfterMs: 300 });
    await txm.init();
    const before = await nonceOf(txm.address);
    const o = await txm.send({ jobId: null, role: null, action: "ping", to: txm.address, data: "0x" });
    const row = journal.getTx(o.seq);
    expect(row?.hashes.length).toBeGreaterThan(1);
    expect(row?.hashes).toContain(o.hash);
    expect(row?.nonce).toBe(before);
    expect(await nonceOf(txm.address)).toBe(before + 1);
    await txm.close();
  });
});
