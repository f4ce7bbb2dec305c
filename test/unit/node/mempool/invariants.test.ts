import { describe, expect, it } from "vitest";
import { isMempoolError, type Mempool, type PooledTx } from "../../../../node/mempool/index.js";
import { createPool, GWEI, type MemoryState, pooledTx, prng, wallets } from "./fixtures.js";

const LIMITS = { globalSlots: 12, globalQueue: 6, accountSlots: 3, accountQueue: 3 };
const BLOCK_GAS = 21_000n * 8n;

function checkInvariants(pool: Mempool, step: string): void {
  const { pending, queued } = pool.content();
  const count = (m: Map<string, PooledTx[]>) => [...m.values()].reduce((n, txs) => n + txs.length, 0);
  expect(pool.stats(), step).toEqual({ pending: count(pending), queued: count(queued) });
  expect(count(pending), `${step}: pending within globalSlots`).toBeLessThanOrEqual(LIMITS.globalSlots);
  expect(count(queued), `${step}: queued within globalQueue`).toBeLessThanOrEqual(LIMITS.globalQueue);
  for (const [sender, txs] of pending) {
    txs.forEach((tx, i) => {
      expect(tx.nonce, `${step}: ${sender} pending run is contiguous`).toBe(txs[0].nonce + BigInt(i));
      expect(pool.has(tx.hash), step).toBe(true);
    });
    const firstQueued = queued.get(sender)?.[0];
    if (firstQueued !== undefined) {
      expect(firstQueued.nonce, `${step}: ${sender} queue starts after a gap`).toBeGreaterThan(txs.at(-1)!.nonce + 1n);
    }
  }
  for (const [sender, txs] of queued) {
    expect(txs.length, `${step}: ${sender} within accountQueue`).toBeLessThanOrEqual(LIMITS.accountQueue);
  }
}

/** Applies a selected block to the in-memory state the way execution would. */
function mine(pool: Mempool, state: MemoryState, baseFeePerGas: bigint): PooledTx[] {
  const block = pool.selectForBlock({ baseFeePerGas, gasLimit: BLOCK_GAS });
  const next = new Map<string, bigint>();
  let gas = 0n;
  for (const tx of block) {
    const expected = next.get(tx.sender) ?? state.nonces.get(tx.sender) ?? 0n;
    expect(tx.nonce, "selected txs follow each sender's state nonce").toBe(expected);
    expect(tx.maxFeePerGas).toBeGreaterThanOrEqual(baseFeePerGas);
    next.set(tx.sender, tx.nonce + 1n);
    gas += tx.gasLimit;
    state.setBalance(tx.sender, (state.balances.get(tx.sender) ?? 0n) - tx.gasLimit * baseFeePerGas - tx.value);
  }
  expect(gas).toBeLessThanOrEqual(BLOCK_GAS);
  for (const [sender, nonce] of next) state.setNonce(sender, nonce);
  return block;
}

describe("Mempool invariants under a seeded random workload", () => {
  it.each([1, 2, 3])("seed %i: counts, nonce runs and limits hold after every step", async (seed) => {
    const rand = prng(seed);
    const { pool, state } = createPool(LIMITS);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const outcomes = new Map<string, number>();
    for (let step = 0; step < 120; step++) {
      const label = `seed ${seed} step ${step}`;
      const roll = rand();
      if (roll < 0.75) {
        const wallet = pick(wallets);
        const stateNonce = state.nonces.get(wallet.address.toLowerCase()) ?? 0n;
        const tip = BigInt(1 + Math.floor(rand() * 20)) * GWEI;
        const tx = await pooledTx(wallet, {
          nonce: Math.max(0, Number(stateNonce) + Math.floor(rand() * 7) - 1),
          tip,
          maxFee: tip + BigInt(Math.floor(rand() * 30)) * GWEI,
        });
        try {
          const r = await pool.add(tx);
          outcomes.set(r.status, (outcomes.get(r.status) ?? 0) + 1);
        } catch (err) {
          expect(isMempoolError(err), `${label}: ${String(err)}`).toBe(true);
          const code = isMempoolError(err) ? err.code : "other";
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
        }
      } else if (roll < 0.95) {
        const block = mine(pool, state, BigInt(Math.floor(rand() * 15)) * GWEI);
        pool.removeIncluded(block.map((t) => t.hash));
        await pool.onNewHead({ accounts: block.map((t) => t.sender) });
      } else {
        const all = [...pool.content().pending.values()].flat();
        if (all.length > 0) pool.drop(pick(all).hash, "random drop");
      }
      checkInvariants(pool, label);
    }
    // The workload must actually exercise admission, queueing and refusal.
    expect(outcomes.get("pending") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("queued") ?? 0).toBeGreaterThan(0);
    expect([...outcomes.keys()].some((k) => k.startsWith("MEMPOOL_"))).toBe(true);
  });
});
