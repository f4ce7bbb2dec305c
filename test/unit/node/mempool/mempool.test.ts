import { describe, expect, it } from "vitest";
import { MempoolErrorCode, type PooledTx } from "../../../../node/mempool/index.js";
import {
  alice,
  bob,
  carol,
  createPool,
  dave,
  expectMempoolError,
  GWEI,
  MemoryState,
  nonces,
  pooledTx,
  shuffle,
} from "./fixtures.js";

const A = alice.address.toLowerCase();
const B = bob.address.toLowerCase();

async function aliceTxs(count: number, from = 0): Promise<PooledTx[]> {
  const txs: PooledTx[] = [];
  for (let n = from; n < from + count; n++) txs.push(await pooledTx(alice, { nonce: n }));
  return txs;
}

describe("Mempool.add: geth errors", () => {
  it("already known", async () => {
    const { pool } = createPool();
    const tx = await pooledTx(alice);
    await pool.add(tx);
    await expectMempoolError(pool.add(tx), MempoolErrorCode.ALREADY_KNOWN, "already known");
  });

  it("already known (two concurrent adds of the same tx)", async () => {
    const { pool } = createPool();
    const tx = await pooledTx(alice);
    const [first, second] = await Promise.allSettled([pool.add(tx), pool.add(tx)]);
    expect(first.status).toBe("fulfilled");
    expect(second.status).toBe("rejected");
    await expectMempoolError(
      Promise.reject((second as PromiseRejectedResult).reason),
      MempoolErrorCode.ALREADY_KNOWN,
      "already known",
    );
    expect(pool.stats()).toEqual({ pending: 1, queued: 0 });
  });

  it("exceeds block gas limit", async () => {
    const { pool } = createPool({ blockGasLimit: 30_000n });
    const tx = await pooledTx(alice, { gasLimit: 30_001n });
    await expectMempoolError(pool.add(tx), MempoolErrorCode.GAS_LIMIT_EXCEEDED, "exceeds block gas limit");
  });

  it("transaction underpriced", async () => {
    const { pool } = createPool({ minBaseFeePerGas: 5n * GWEI });
    const tx = await pooledTx(alice, { maxFee: 5n * GWEI - 1n, tip: 1n });
    await expectMempoolError(pool.add(tx), MempoolErrorCode.UNDERPRICED, "transaction underpriced");
    await expect(pool.add(await pooledTx(alice, { maxFee: 5n * GWEI, tip: 1n }))).resolves.toMatchObject({
      status: "pending",
    });
  });

  it("the gas limit and base-fee floor follow the chain parameters (setChainLimits, after a governance change)", async () => {
    const { pool } = createPool({ blockGasLimit: 30_000n, minBaseFeePerGas: 5n * GWEI });
    const big = await pooledTx(alice, { gasLimit: 40_000n, maxFee: 5n * GWEI, tip: 1n });
    await expectMempoolError(pool.add(big), MempoolErrorCode.GAS_LIMIT_EXCEEDED, "exceeds block gas limit");
    pool.setChainLimits({ blockGasLimit: 50_000n, minBaseFeePerGas: 6n * GWEI });
    await expectMempoolError(pool.add(big), MempoolErrorCode.UNDERPRICED, "transaction underpriced");
    const priced = await pooledTx(alice, { gasLimit: 40_000n, maxFee: 6n * GWEI, tip: 1n });
    await expect(pool.add(priced)).resolves.toMatchObject({ status: "pending" });
  });

  it("nonce too low", async () => {
    const { pool, state } = createPool();
    state.setNonce(A, 3n);
    await expectMempoolError(
      pool.add(await pooledTx(alice, { nonce: 2 })),
      MempoolErrorCode.NONCE_TOO_LOW,
      "nonce too low",
    );
  });

  it("nonce too high (a gap deeper than max(accountSlots, accountQueue) past the pending run)", async () => {
    const { pool, state } = createPool({ accountSlots: 4, accountQueue: 2 });
    state.setNonce(A, 10n);
    await expectMempoolError(
      pool.add(await pooledTx(alice, { nonce: 14 })),
      MempoolErrorCode.NONCE_TOO_HIGH,
      "nonce too high",
    );
    await expect(pool.add(await pooledTx(alice, { nonce: 13 }))).resolves.toMatchObject({ status: "queued" });
  });

  it("a sender may extend its executable run far beyond the state nonce (blocks lag behind)", async () => {
    const { pool, state } = createPool({ accountSlots: 4, accountQueue: 2 });
    state.setNonce(A, 0n);
    for (let n = 0; n < 12; n++) {
      await expect(pool.add(await pooledTx(alice, { nonce: n }))).resolves.toMatchObject({ status: "pending" });
    }
  });

  it("insufficient funds for gas * price + value", async () => {
    const { pool, state } = createPool();
    const tx = await pooledTx(alice, { value: 1000n });
    state.setBalance(A, tx.cost - 1n);
    await expectMempoolError(
      pool.add(tx),
      MempoolErrorCode.INSUFFICIENT_FUNDS,
      "insufficient funds for gas * price + value",
    );
  });

  it("insufficient funds for gas * price + value (overdraft: lower-nonce pool txs + this one)", async () => {
    const { pool, state } = createPool();
    const [t0, t1, t2] = await aliceTxs(3);
    state.setBalance(A, t0.cost + t1.cost + t2.cost - 1n);
    await pool.add(t0);
    await pool.add(t1);
    await expectMempoolError(
      pool.add(t2),
      MempoolErrorCode.INSUFFICIENT_FUNDS,
      "insufficient funds for gas * price + value",
    );
  });

  it("insufficient funds for gas * price + value (overdraft counts queued lower nonces too)", async () => {
    const { pool, state } = createPool();
    const [, t1, t2] = await aliceTxs(3);
    state.setBalance(A, t1.cost + t2.cost - 1n);
    await pool.add(t1); // queued: nonce 0 missing
    await expectMempoolError(
      pool.add(t2),
      MempoolErrorCode.INSUFFICIENT_FUNDS,
      "insufficient funds for gas * price + value",
    );
  });

  it("replacement transaction underpriced (+9%)", async () => {
    const { pool } = createPool();
    await pool.add(await pooledTx(alice, { tip: 100n * GWEI, maxFee: 1000n * GWEI }));
    const bumped = await pooledTx(alice, { tip: 109n * GWEI, maxFee: 1090n * GWEI });
    await expectMempoolError(
      pool.add(bumped),
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
      "replacement transaction underpriced",
    );
  });

  it("txpool is full (accountQueue: gapped txs per sender)", async () => {
    const { pool } = createPool({ accountSlots: 4, accountQueue: 2 });
    await pool.add(await pooledTx(alice, { nonce: 1 }));
    await pool.add(await pooledTx(alice, { nonce: 2 }));
    await expectMempoolError(
      pool.add(await pooledTx(alice, { nonce: 3 })),
      MempoolErrorCode.POOL_FULL,
      "txpool is full",
    );
    // Filling the gap is always possible: it turns queued txs into pending ones.
    await expect(pool.add(await pooledTx(alice, { nonce: 0 }))).resolves.toMatchObject({ status: "pending" });
    expect(pool.stats()).toEqual({ pending: 3, queued: 0 });
  });

  it("txpool is full (globalSlots, no cheaper tx to evict)", async () => {
    const { pool } = createPool({ globalSlots: 2 });
    await pool.add(await pooledTx(alice, { tip: 2n * GWEI }));
    await pool.add(await pooledTx(bob, { tip: 2n * GWEI }));
    await expectMempoolError(
      pool.add(await pooledTx(carol, { tip: 2n * GWEI })),
      MempoolErrorCode.POOL_FULL,
      "txpool is full",
    );
    expect(pool.stats()).toEqual({ pending: 2, queued: 0 });
  });

  it("txpool is full (globalQueue, no cheaper tx to evict)", async () => {
    const { pool } = createPool({ globalQueue: 1 });
    await pool.add(await pooledTx(alice, { nonce: 5, tip: 2n * GWEI }));
    await expectMempoolError(
      pool.add(await pooledTx(bob, { nonce: 5, tip: 2n * GWEI })),
      MempoolErrorCode.POOL_FULL,
      "txpool is full",
    );
  });
});

describe("Mempool: replacement", () => {
  it("accepts a replacement at exactly +10% on both fee caps", async () => {
    const { pool } = createPool();
    const old = await pooledTx(alice, { tip: 100n * GWEI, maxFee: 1000n * GWEI });
    await pool.add(old);
    const seen: string[] = [];
    pool.onPending((tx) => seen.push(tx.hash));
    const next = await pooledTx(alice, { tip: 110n * GWEI, maxFee: 1100n * GWEI });
    await expect(pool.add(next)).resolves.toEqual({ hash: next.hash, status: "replaced" });
    expect(pool.has(old.hash)).toBe(false);
    expect(pool.get(next.hash)?.maxFeePerGas).toBe(1100n * GWEI);
    expect(pool.stats()).toEqual({ pending: 1, queued: 0 });
    expect(seen).toEqual([next.hash]);
  });

  it("refuses +10% on the tip with only +9% on the fee cap", async () => {
    const { pool } = createPool();
    await pool.add(await pooledTx(alice, { tip: 100n * GWEI, maxFee: 1000n * GWEI }));
    const bumped = await pooledTx(alice, { tip: 110n * GWEI, maxFee: 1090n * GWEI });
    await expectMempoolError(
      pool.add(bumped),
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
      "replacement transaction underpriced",
    );
  });

  it("requires a strict increase even when 10% of the old fee rounds to zero", async () => {
    const { pool } = createPool();
    await pool.add(await pooledTx(alice, { tip: 1n, maxFee: 5n }));
    // 5 * 110 / 100 rounds down to 5, so only the strict-increase rule refuses an equal fee cap.
    const sameFee = await pooledTx(alice, { tip: 2n, maxFee: 5n });
    await expectMempoolError(
      pool.add(sameFee),
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
      "replacement transaction underpriced",
    );
    await expect(pool.add(await pooledTx(alice, { tip: 2n, maxFee: 6n }))).resolves.toMatchObject({
      status: "replaced",
    });
  });

  it("refuses a replacement that bumps only one of the two fee caps", async () => {
    const { pool } = createPool();
    await pool.add(await pooledTx(alice, { tip: 100n * GWEI, maxFee: 1000n * GWEI }));
    const feeOnly = await pooledTx(alice, { tip: 100n * GWEI, maxFee: 2000n * GWEI });
    await expectMempoolError(
      pool.add(feeOnly),
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
      "replacement transaction underpriced",
    );
  });

  it("replaces a queued tx and keeps it queued", async () => {
    const { pool } = createPool();
    await pool.add(await pooledTx(alice, { nonce: 3, tip: 10n, maxFee: 100n }));
    const next = await pooledTx(alice, { nonce: 3, tip: 11n, maxFee: 110n });
    await expect(pool.add(next)).resolves.toMatchObject({ status: "replaced" });
    expect(
      pool
        .content()
        .queued.get(A)
        ?.map((t) => t.hash),
    ).toEqual([next.hash]);
  });

  it("checks the replacement against the whole chain's funds (geth overdraft with a bump)", async () => {
    const { pool, state } = createPool();
    const t0 = await pooledTx(alice, { nonce: 0, tip: 1n * GWEI, maxFee: 10n * GWEI });
    const t1 = await pooledTx(alice, { nonce: 1, tip: 1n * GWEI, maxFee: 10n * GWEI });
    state.setBalance(A, t0.cost + t1.cost);
    await pool.add(t0);
    await pool.add(t1);
    const bump0 = await pooledTx(alice, { nonce: 0, tip: 2n * GWEI, maxFee: 20n * GWEI });
    await expectMempoolError(
      pool.add(bump0),
      MempoolErrorCode.INSUFFICIENT_FUNDS,
      "insufficient funds for gas * price + value",
    );
  });
});

describe("Mempool: nonce ordering", () => {
  it("queues a future nonce and promotes it when the gap fills", async () => {
    const { pool } = createPool();
    const [t0, t1, t2] = await aliceTxs(3);
    const promoted: bigint[] = [];
    pool.onPending((tx) => promoted.push(tx.nonce));

    await expect(pool.add(t2)).resolves.toMatchObject({ status: "queued" });
    await expect(pool.add(t1)).resolves.toMatchObject({ status: "queued" });
    expect(pool.stats()).toEqual({ pending: 0, queued: 2 });
    expect(await pool.pendingNonce(A)).toBe(0n);
    expect(pool.selectForBlock({ baseFeePerGas: 0n, gasLimit: 30_000_000n })).toEqual([]);

    await expect(pool.add(t0)).resolves.toMatchObject({ status: "pending" });
    expect(pool.stats()).toEqual({ pending: 3, queued: 0 });
    expect(promoted).toEqual([0n, 1n, 2n]);
    expect(await pool.pendingNonce(A)).toBe(3n);
  });

  it("pendingNonce is the state nonce for an unknown sender and skips the queue", async () => {
    const { pool, state } = createPool();
    state.setNonce(B, 9n);
    expect(await pool.pendingNonce(bob.address)).toBe(9n);
    await pool.add(await pooledTx(bob, { nonce: 9 }));
    await pool.add(await pooledTx(bob, { nonce: 11 }));
    expect(await pool.pendingNonce(bob.address)).toBe(10n);
  });

  it("20 concurrent adds of one sender in random order all end up pending, in nonce order", async () => {
    const { pool } = createPool();
    const txs = await aliceTxs(20);
    const events: bigint[] = [];
    pool.onPending((tx) => events.push(tx.nonce));
    const results = await Promise.all(shuffle(txs, 42).map((tx) => pool.add(tx)));
    expect(results.every((r) => r.status === "pending" || r.status === "queued")).toBe(true);
    expect(pool.stats()).toEqual({ pending: 20, queued: 0 });
    expect(nonces(pool.content().pending.get(A) ?? [])).toEqual(txs.map((t) => t.nonce));
    expect(new Set(events).size).toBe(20);
    expect(await pool.pendingNonce(A)).toBe(20n);
    const selected = pool.selectForBlock({ baseFeePerGas: 0n, gasLimit: 30_000_000n });
    expect(nonces(selected)).toEqual(txs.map((t) => t.nonce));
  });

  it("serialises one sender's adds but lets other senders proceed", async () => {
    const gated = new MemoryState();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const aliceReads: string[] = [];
    const getAccount = gated.getAccount.bind(gated);
    gated.getAccount = async (address) => {
      if (address === A) {
        aliceReads.push("nonce");
        await gate;
      }
      return getAccount(address);
    };
    const { pool } = createPool({}, gated);
    const [a0, a1] = await aliceTxs(2);
    const first = pool.add(a0);
    const second = pool.add(a1);
    await expect(pool.add(await pooledTx(bob))).resolves.toMatchObject({ status: "pending" });
    expect(aliceReads).toEqual(["nonce"]); // the second alice add waits for the first
    open();
    await expect(first).resolves.toMatchObject({ status: "pending" });
    await expect(second).resolves.toMatchObject({ status: "pending" });
    expect(aliceReads).toEqual(["nonce", "nonce"]);
  });
});

describe("Mempool: limits and eviction", () => {
  it("evicts the cheapest pending tx of another sender for a better-paying one", async () => {
    const { pool } = createPool({ globalSlots: 3 });
    const cheap = await pooledTx(alice, { tip: 1n * GWEI });
    await pool.add(cheap);
    await pool.add(await pooledTx(bob, { tip: 2n * GWEI }));
    await pool.add(await pooledTx(carol, { tip: 3n * GWEI }));
    await expectMempoolError(
      pool.add(await pooledTx(dave, { tip: 1n * GWEI })),
      MempoolErrorCode.POOL_FULL,
      "txpool is full",
    );
    const rich = await pooledTx(dave, { tip: 5n * GWEI });
    await expect(pool.add(rich)).resolves.toMatchObject({ status: "pending" });
    expect(pool.has(cheap.hash)).toBe(false);
    expect(pool.stats()).toEqual({ pending: 3, queued: 0 });
  });

  it("takes back slots from a sender above accountSlots first, whatever its price", async () => {
    const { pool } = createPool({ globalSlots: 6, accountSlots: 2 });
    const whale = await aliceTxs(5); // 5 pending: 3 above its guaranteed 2
    for (const tx of whale) await pool.add(tx);
    await pool.add(await pooledTx(bob, { tip: 50n * GWEI, maxFee: 100n * GWEI }));
    const small = await pooledTx(carol, { tip: 1n, maxFee: 10n * GWEI });
    await expect(pool.add(small)).resolves.toMatchObject({ status: "pending" });
    expect(pool.has(whale[4].hash)).toBe(false);
    expect(await pool.pendingNonce(A)).toBe(4n);
    expect(pool.stats()).toEqual({ pending: 6, queued: 0 });
  });

  it("a sender above accountSlots cannot evict others at the same price", async () => {
    const { pool } = createPool({ globalSlots: 4, accountSlots: 2 });
    await pool.add(await pooledTx(bob));
    for (const tx of await aliceTxs(3)) await pool.add(tx);
    await expectMempoolError(
      pool.add(await pooledTx(alice, { nonce: 3 })),
      MempoolErrorCode.POOL_FULL,
      "txpool is full",
    );
  });

  it("evicts the cheapest queued tx of another sender when the queue is full", async () => {
    const { pool } = createPool({ globalQueue: 2 });
    const cheap = await pooledTx(alice, { nonce: 5, tip: 1n * GWEI });
    await pool.add(cheap);
    await pool.add(await pooledTx(bob, { nonce: 5, tip: 2n * GWEI }));
    await expect(pool.add(await pooledTx(carol, { nonce: 5, tip: 3n * GWEI }))).resolves.toMatchObject({
      status: "queued",
    });
    expect(pool.has(cheap.hash)).toBe(false);
    expect(pool.stats()).toEqual({ pending: 0, queued: 2 });
  });

  it("counts 32 KiB slots: a 100 KB tx takes 4 and one eviction frees them", async () => {
    const { pool } = createPool({ globalSlots: 4 });
    const big = await pooledTx(alice, { data: `0x${"00".repeat(100_000)}`, gasLimit: 1_100_000n, tip: 1n });
    await pool.add(big);
    await expectMempoolError(pool.add(await pooledTx(bob, { tip: 1n })), MempoolErrorCode.POOL_FULL, "txpool is full");
    await expect(pool.add(await pooledTx(bob, { tip: 2n }))).resolves.toMatchObject({ status: "pending" });
    expect(pool.has(big.hash)).toBe(false);
  });
});

describe("Mempool: new heads", () => {
  it("removeIncluded drops included txs and moves the sender's state nonce on", async () => {
    const { pool, state } = createPool();
    const txs = await aliceTxs(4);
    for (const tx of txs) await pool.add(tx);
    state.setNonce(A, 2n);
    pool.removeIncluded([txs[0].hash, txs[1].hash, "0x1234"]);
    expect(pool.stats()).toEqual({ pending: 2, queued: 0 });
    await pool.onNewHead();
    expect(nonces(pool.content().pending.get(A) ?? [])).toEqual([2n, 3n]);
    expect(await pool.pendingNonce(A)).toBe(4n);
  });

  it("onNewHead drops stale txs mined in a block the pool never saw", async () => {
    const { pool, state } = createPool();
    const txs = await aliceTxs(3);
    for (const tx of txs) await pool.add(tx);
    state.setNonce(A, 2n);
    await pool.onNewHead({ accounts: [alice.address] });
    expect(pool.has(txs[0].hash)).toBe(false);
    expect(pool.has(txs[1].hash)).toBe(false);
    expect(nonces(pool.content().pending.get(A) ?? [])).toEqual([2n]);
    expect(pool.stats()).toEqual({ pending: 1, queued: 0 });
  });

  it("onNewHead drops txs the balance no longer funds", async () => {
    const { pool, state } = createPool();
    const txs = await aliceTxs(3);
    for (const tx of txs) await pool.add(tx);
    state.setBalance(A, txs[0].cost + txs[1].cost);
    await pool.onNewHead({ accounts: [A] });
    expect(nonces(pool.content().pending.get(A) ?? [])).toEqual([0n, 1n]);
    expect(pool.has(txs[2].hash)).toBe(false);
  });

  it("onNewHead handles stale and unfunded txs of one sender together", async () => {
    const { pool, state } = createPool();
    const txs = await aliceTxs(4);
    for (const tx of txs) await pool.add(tx);
    state.setNonce(A, 2n);
    state.setBalance(A, txs[2].cost);
    await pool.onNewHead({ accounts: [A] });
    expect(nonces(pool.content().pending.get(A) ?? [])).toEqual([2n]);
    expect(pool.stats()).toEqual({ pending: 1, queued: 0 });
  });

  it("after a head, trims pending back to globalSlots from senders above accountSlots", async () => {
    const { pool, state } = createPool({ globalSlots: 3, accountSlots: 1 });
    const [a0, , a2, a3] = await aliceTxs(4);
    for (const tx of [a0, a2, a3]) await pool.add(tx);
    await pool.add(await pooledTx(bob));
    await pool.add(await pooledTx(carol));
    expect(pool.stats()).toEqual({ pending: 3, queued: 2 });
    state.setNonce(A, 2n); // nonces 0 and 1 mined elsewhere: 2 and 3 become executable
    await pool.onNewHead({ accounts: [A] });
    expect(pool.stats()).toEqual({ pending: 3, queued: 0 });
    expect(pool.has(a3.hash)).toBe(false);
    expect(await pool.pendingNonce(A)).toBe(3n);
  });

  it("forgets senders with no txs left (maps stay bounded by the pool)", async () => {
    const { pool } = createPool();
    const txs = await aliceTxs(3);
    for (const tx of txs) await pool.add(tx);
    pool.removeIncluded(txs.map((t) => t.hash));
    await pool.onNewHead();
    // White-box: the per-sender index is private, and the point is that it empties.
    const internals = pool as unknown as { bySender: Map<string, unknown>; byHash: Map<string, unknown> };
    expect(internals.bySender.size).toBe(0);
    expect(internals.byHash.size).toBe(0);
    expect(pool.stats()).toEqual({ pending: 0, queued: 0 });
  });

  it("onNewHead promotes queued txs once the state nonce passes their gap", async () => {
    const { pool, state } = createPool();
    const [, t1, t2] = await aliceTxs(3);
    await pool.add(t1);
    await pool.add(t2);
    const promoted: bigint[] = [];
    pool.onPending((tx) => promoted.push(tx.nonce));
    state.setNonce(A, 1n); // nonce 0 was mined from elsewhere
    await pool.onNewHead({ accounts: [A] });
    expect(pool.stats()).toEqual({ pending: 2, queued: 0 });
    expect(promoted).toEqual([1n, 2n]);
  });

  it("onNewHead expires queued txs older than queuedLifetimeMs, never pending ones", async () => {
    const { pool, clock } = createPool({ queuedLifetimeMs: 60_000 });
    const pending = await pooledTx(alice, { nonce: 0 });
    const gapped = await pooledTx(bob, { nonce: 3 });
    await pool.add(pending);
    await pool.add(gapped);
    clock.now += 59_000;
    await pool.onNewHead();
    expect(pool.has(gapped.hash)).toBe(true);
    clock.now += 2_000;
    await pool.onNewHead();
    expect(pool.has(gapped.hash)).toBe(false);
    expect(pool.has(pending.hash)).toBe(true);
  });

  it("drop removes a tx the builder rejected and demotes its successors", async () => {
    const { pool } = createPool();
    const txs = await aliceTxs(3);
    for (const tx of txs) await pool.add(tx);
    expect(pool.drop(txs[1].hash, "execution failed")).toBe(true);
    expect(pool.drop(txs[1].hash, "execution failed")).toBe(false);
    expect(pool.stats()).toEqual({ pending: 1, queued: 1 });
    expect(await pool.pendingNonce(A)).toBe(1n);
    expect(pool.selectForBlock({ baseFeePerGas: 0n, gasLimit: 30_000_000n }).map((t) => t.hash)).toEqual([txs[0].hash]);
  });
});

describe("Mempool: lookups and events", () => {
  it("get, has, content and stats", async () => {
    const { pool } = createPool();
    const p = await pooledTx(alice, { nonce: 0 });
    const q = await pooledTx(bob, { nonce: 4 });
    await pool.add(p);
    await pool.add(q);
    expect(pool.has(p.hash.toUpperCase().replace("0X", "0x"))).toBe(true);
    expect(pool.get(p.hash)).toBe(p); // the pool keeps the admitted object itself (no copy)
    expect(pool.get("0xabsent")).toBeUndefined();
    const content = pool.content();
    expect([...content.pending.keys()]).toEqual([A]);
    expect([...content.queued.keys()]).toEqual([B]);
    expect(pool.stats()).toEqual({ pending: 1, queued: 1 });
  });

  it("onPending fires for pending txs only, survives a throwing listener, and unsubscribes", async () => {
    const { pool } = createPool();
    const seen: string[] = [];
    pool.onPending(() => {
      throw new Error("subscriber bug");
    });
    const off = pool.onPending((tx) => seen.push(tx.hash));
    const p = await pooledTx(alice, { nonce: 0 });
    await pool.add(p);
    await pool.add(await pooledTx(bob, { nonce: 1 }));
    expect(seen).toEqual([p.hash]);
    off();
    await pool.add(await pooledTx(alice, { nonce: 1 }));
    expect(seen).toEqual([p.hash]);
  });
});
