import { describe, expect, it } from "vitest";
import type { PooledTx } from "../../../../node/mempool/index.js";
import { alice, bob, carol, createPool, GWEI, MemoryState, pooledTx } from "./fixtures.js";

const BLOCK_GAS = 30_000_000n;

function labelled(txs: readonly PooledTx[], names: Map<string, string>): string[] {
  return txs.map((t) => names.get(t.hash) ?? t.hash);
}

describe("Mempool.selectForBlock", () => {
  it("orders by tip across 3 senders, each sender strictly in nonce order", async () => {
    const { pool } = createPool();
    const names = new Map<string, string>();
    const add = async (name: string, tx: PooledTx) => {
      names.set(tx.hash, name);
      await pool.add(tx);
    };
    await add("A0", await pooledTx(alice, { nonce: 0, tip: 5n * GWEI, maxFee: 100n * GWEI }));
    await add("A1", await pooledTx(alice, { nonce: 1, tip: 50n * GWEI, maxFee: 100n * GWEI }));
    await add("B0", await pooledTx(bob, { nonce: 0, tip: 10n * GWEI, maxFee: 100n * GWEI }));
    await add("B1", await pooledTx(bob, { nonce: 1, tip: 1n * GWEI, maxFee: 100n * GWEI }));
    await add("C0", await pooledTx(carol, { nonce: 0, tip: 7n * GWEI, maxFee: 100n * GWEI }));
    const selected = pool.selectForBlock({ baseFeePerGas: GWEI, gasLimit: BLOCK_GAS });
    // A1 pays most but must wait for A0, the cheapest head.
    expect(labelled(selected, names)).toEqual(["B0", "C0", "A0", "A1", "B1"]);
  });

  it("ranks by effective tip min(tip, maxFee - baseFee)", async () => {
    const { pool } = createPool();
    const capped = await pooledTx(alice, { tip: 10n * GWEI, maxFee: 12n * GWEI }); // earns 2 gwei at base 10
    const modest = await pooledTx(bob, { tip: 3n * GWEI, maxFee: 100n * GWEI }); // earns 3 gwei
    await pool.add(capped);
    await pool.add(modest);
    const selected = pool.selectForBlock({ baseFeePerGas: 10n * GWEI, gasLimit: BLOCK_GAS });
    expect(selected.map((t) => t.hash)).toEqual([modest.hash, capped.hash]);
  });

  it("skips txs whose maxFee is below the base fee; they and their successors stay pooled", async () => {
    const { pool } = createPool();
    const low0 = await pooledTx(alice, { nonce: 0, tip: 1n, maxFee: 5n * GWEI });
    const low1 = await pooledTx(alice, { nonce: 1, tip: 1n * GWEI, maxFee: 50n * GWEI });
    const ok = await pooledTx(bob, { tip: 1n, maxFee: 20n * GWEI });
    for (const tx of [low0, low1, ok]) await pool.add(tx);
    const selected = pool.selectForBlock({ baseFeePerGas: 10n * GWEI, gasLimit: BLOCK_GAS });
    expect(selected.map((t) => t.hash)).toEqual([ok.hash]);
    expect(pool.has(low0.hash) && pool.has(low1.hash)).toBe(true);
    // Once the base fee falls they are selectable again.
    expect(pool.selectForBlock({ baseFeePerGas: 5n * GWEI, gasLimit: BLOCK_GAS })).toHaveLength(3);
  });

  it("packs by gas: skips a tx that does not fit, drops the rest of its sender's chain, continues", async () => {
    const { pool } = createPool();
    const a0 = await pooledTx(alice, { nonce: 0, tip: 10n * GWEI, maxFee: 100n * GWEI, gasLimit: 60_000n });
    const b0 = await pooledTx(bob, { nonce: 0, tip: 9n * GWEI, maxFee: 100n * GWEI, gasLimit: 51_000n });
    const b1 = await pooledTx(bob, { nonce: 1, tip: 9n * GWEI, maxFee: 100n * GWEI, gasLimit: 21_000n });
    const c0 = await pooledTx(carol, { nonce: 0, tip: 1n * GWEI, maxFee: 100n * GWEI, gasLimit: 21_000n });
    for (const tx of [a0, b0, b1, c0]) await pool.add(tx);
    // 110k: a0 (60k) leaves 50k; b0 (51k) does not fit, so b1 would have a nonce gap; c0 fits.
    const selected = pool.selectForBlock({ baseFeePerGas: 0n, gasLimit: 110_000n });
    expect(selected.map((t) => t.hash)).toEqual([a0.hash, c0.hash]);
    const total = selected.reduce((sum, t) => sum + t.gasLimit, 0n);
    expect(total).toBeLessThanOrEqual(110_000n);
  });

  it("stops at maxTxs", async () => {
    const { pool } = createPool();
    for (let n = 0; n < 5; n++) await pool.add(await pooledTx(alice, { nonce: n }));
    expect(pool.selectForBlock({ baseFeePerGas: 0n, gasLimit: BLOCK_GAS, maxTxs: 3 })).toHaveLength(3);
  });

  it("breaks equal tips by arrival order, so selection is deterministic", async () => {
    const { pool } = createPool();
    const order = [carol, alice, bob];
    const txs: PooledTx[] = [];
    for (const w of order) {
      const tx = await pooledTx(w, { tip: 2n * GWEI, maxFee: 10n * GWEI });
      txs.push(tx);
      await pool.add(tx);
    }
    const first = pool.selectForBlock({ baseFeePerGas: GWEI, gasLimit: BLOCK_GAS });
    expect(first.map((t) => t.hash)).toEqual(txs.map((t) => t.hash));
    expect(pool.selectForBlock({ baseFeePerGas: GWEI, gasLimit: BLOCK_GAS })).toEqual(first);
    expect(pool.stats().pending).toBe(3); // selection does not remove
  });

  it("selects 5,000 pending txs from 500 senders in a few ms", async () => {
    // Selection reads only the normalised fields, so the txs share one signed template here:
    // signing and recovering 5,000 real txs would take seconds without testing anything more.
    const template = await pooledTx(alice);
    const state = new MemoryState();
    const { pool } = createPool({ globalSlots: 5120 }, state);
    const txs: PooledTx[] = [];
    for (let s = 0; s < 500; s++) {
      const sender = `0x${(s + 1).toString(16).padStart(40, "0")}`;
      state.setBalance(sender, 10n ** 24n);
      for (let n = 0; n < 10; n++) {
        const tip = BigInt((s * 7919 + n * 104_729) % 1000) * GWEI;
        txs.push({
          ...template,
          hash: `0x${(s * 10 + n + 1).toString(16).padStart(64, "0")}`,
          sender,
          nonce: BigInt(n),
          maxPriorityFeePerGas: tip,
          maxFeePerGas: tip + 100n * GWEI,
          cost: 21_000n * (tip + 100n * GWEI),
        });
      }
    }
    await Promise.all(txs.map((tx) => pool.add(tx)));
    expect(pool.stats()).toEqual({ pending: 5000, queued: 0 });

    const opts = { baseFeePerGas: GWEI, gasLimit: 5000n * 21_000n };
    const selected = pool.selectForBlock(opts);
    expect(selected).toHaveLength(5000);
    const lastNonce = new Map<string, bigint>();
    for (const tx of selected) {
      expect(tx.nonce, `nonce order of ${tx.sender}`).toBe((lastNonce.get(tx.sender) ?? -1n) + 1n);
      lastNonce.set(tx.sender, tx.nonce);
    }
  });
});
