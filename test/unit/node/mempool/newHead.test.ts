import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AccountState,
  DEFAULT_MEMPOOL_OPTIONS,
  isMempoolError,
  Mempool,
  type MempoolStateReader,
  type PooledTx,
} from "../../../../node/mempool/index.js";
import { GWEI, MemoryState, pooledTx, wallets } from "./fixtures.js";

/**
 * Differential test of the incremental `onNewHead`: a pool told only which accounts the head changed
 * (re-reading those, re-checking the senders whose lists changed against cached state) must end in
 * exactly the state of a pool that re-reads every sender on every head — same pending and queued
 * sets in the same order, same evictions and drops, same block selection, same promotions — on
 * random pools and random blocks, including blocks that credit or debit pooled senders without any
 * tx of theirs (the accounts execution wrote) and foreign txs that move nonces.
 */

const SENDERS = wallets.map((w) => w.address.toLowerCase());
const NONCES = 14;
const VARIANTS = 3;
const LIMITS = { globalSlots: 9, globalQueue: 5, accountSlots: 2, accountQueue: 3, queuedLifetimeMs: 40 };
const BLOCK_GAS = 21_000n * 5n;
/** Balances are counted in these units: a tx costs 2–10 of them, so runs often outgrow a balance. */
const UNIT = 10n ** 14n;

/** Pre-signed txs per (sender, nonce, variant): the variants differ in fees and value, so they replace each other. */
let signed: PooledTx[][][];

beforeAll(async () => {
  signed = await Promise.all(
    wallets.map((w) =>
      Promise.all(
        Array.from({ length: NONCES }, (_, nonce) =>
          Promise.all(
            Array.from({ length: VARIANTS }, (_, v) => {
              const tip = BigInt(1 + 3 * v) * GWEI;
              return pooledTx(w, { nonce, tip, maxFee: tip + 10n * GWEI, value: BigInt(v) * 2n * UNIT });
            }),
          ),
        ),
      ),
    ),
  );
}, 60_000);

/** Reads through to the shared state, counting the accounts read. */
class CountingReader implements MempoolStateReader {
  readonly accountsRead: string[] = [];
  constructor(private readonly state: MemoryState) {}
  getAccount(address: string): Promise<AccountState> {
    this.accountsRead.push(address);
    return this.state.getAccount(address);
  }
}

type Op =
  /** `offset` counts from the sender's state nonce: the nonces the pool may take. */
  | { kind: "add"; sender: number; offset: number; variant: number }
  | { kind: "drop"; pick: number }
  | {
      kind: "head";
      mine: boolean;
      baseFee: number;
      /** Changes by txs this pool never saw or by execution writes: nonce bumps and new balances. */
      outside: { sender: number; nonceBump: number; balance: number | null }[];
      /** Accounts reported though unchanged (a superset is allowed). */
      extra: number[];
      tickMs: number;
    };

const senderIx = fc.integer({ min: 0, max: SENDERS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      sender: senderIx,
      offset: fc.integer({ min: 0, max: 4 }),
      variant: fc.integer({ min: 0, max: VARIANTS - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("head" as const),
      mine: fc.boolean(),
      baseFee: fc.integer({ min: 0, max: 12 }),
      outside: fc.array(
        fc.record({
          sender: senderIx,
          nonceBump: fc.integer({ min: 0, max: 2 }),
          balance: fc.option(fc.integer({ min: 0, max: 24 })),
        }),
        { maxLength: 3 },
      ),
      extra: fc.array(senderIx, { maxLength: 2 }),
      tickMs: fc.integer({ min: 0, max: 30 }),
    }),
  },
);

interface Side {
  pool: Mempool;
  reader: CountingReader;
  clock: { now: number };
  promoted: string[];
}

function side(state: MemoryState): Side {
  const reader = new CountingReader(state);
  const clock = { now: 1_000 };
  const pool = new Mempool({ ...DEFAULT_MEMPOOL_OPTIONS, ...LIMITS }, { state: reader, clock: () => clock.now++ });
  const promoted: string[] = [];
  pool.onPending((tx) => promoted.push(tx.hash));
  return { pool, reader, clock, promoted };
}

/** Everything observable about a pool, in its own order. */
function snapshot(s: Side) {
  const { pending, queued } = s.pool.content();
  const hashes = (m: Map<string, PooledTx[]>) => [...m].map(([sender, txs]) => [sender, txs.map((t) => t.hash)]);
  return {
    pending: hashes(pending),
    queued: hashes(queued),
    stats: s.pool.stats(),
    selected: [0n, 5n * GWEI, 11n * GWEI].map((baseFeePerGas) =>
      s.pool.selectForBlock({ baseFeePerGas, gasLimit: BLOCK_GAS }).map((t) => t.hash),
    ),
    promoted: [...s.promoted].sort(),
  };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return JSON.stringify(await p);
  } catch (e) {
    if (!isMempoolError(e)) throw e;
    return e.code;
  }
}

async function run(ops: Op[], initialBalances: number[]): Promise<void> {
  const state = new MemoryState();
  for (const [i, b] of initialBalances.entries()) state.setBalance(SENDERS[i], BigInt(b) * UNIT);
  const inc = side(state);
  const full = side(state);
  for (const [step, op] of ops.entries()) {
    const label = `step ${step}: ${JSON.stringify(op)}`;
    if (op.kind === "add") {
      const nonce = Number(state.nonces.get(SENDERS[op.sender]) ?? 0n) + op.offset;
      if (nonce >= NONCES) continue;
      const tx = signed[op.sender][nonce][op.variant];
      expect(await outcome(inc.pool.add(tx)), label).toBe(await outcome(full.pool.add(tx)));
    } else if (op.kind === "drop") {
      const all = [...full.pool.content().pending.values(), ...full.pool.content().queued.values()].flat();
      if (all.length === 0) continue;
      const hash = all[op.pick % all.length].hash;
      expect(inc.pool.drop(hash, "test"), label).toBe(full.pool.drop(hash, "test"));
    } else {
      const changed = new Set<string>();
      if (op.mine) {
        const baseFeePerGas = BigInt(op.baseFee) * GWEI;
        const block = full.pool.selectForBlock({ baseFeePerGas, gasLimit: BLOCK_GAS });
        const incBlock = inc.pool.selectForBlock({ baseFeePerGas, gasLimit: BLOCK_GAS });
        expect(
          incBlock.map((t) => t.hash),
          label,
        ).toEqual(block.map((t) => t.hash));
        for (const tx of block) {
          state.setNonce(tx.sender, tx.nonce + 1n);
          const balance = state.balances.get(tx.sender) ?? 0n;
          state.setBalance(tx.sender, balance - tx.gasLimit * baseFeePerGas - tx.value);
          changed.add(tx.sender);
        }
        const hashes = block.map((t) => t.hash);
        inc.pool.removeIncluded(hashes);
        full.pool.removeIncluded(hashes);
      }
      for (const o of op.outside) {
        const sender = SENDERS[o.sender];
        state.setNonce(sender, (state.nonces.get(sender) ?? 0n) + BigInt(o.nonceBump));
        if (o.balance !== null) state.setBalance(sender, BigInt(o.balance) * UNIT);
        changed.add(sender);
      }
      for (const e of op.extra) changed.add(SENDERS[e]);
      inc.clock.now += op.tickMs;
      full.clock.now += op.tickMs;
      const pooled = new Set([...full.pool.content().pending.keys(), ...full.pool.content().queued.keys()]);
      inc.reader.accountsRead.length = 0;
      await Promise.all([inc.pool.onNewHead({ accounts: changed }), full.pool.onNewHead({ accounts: SENDERS })]);
      // Proportional to the head: only pooled senders the head changed are read.
      for (const a of inc.reader.accountsRead) {
        expect(changed.has(a) && pooled.has(a), `${label}: read ${a}`).toBe(true);
      }
      expect(snapshot(inc), label).toEqual(snapshot(full));
    }
  }
  expect(snapshot(inc)).toEqual(snapshot(full));
}

describe("Mempool.onNewHead re-reads only what the head changed", () => {
  it("leaves the pool exactly as re-reading every sender would, on random pools and blocks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 24 }), { minLength: SENDERS.length, maxLength: SENDERS.length }),
        run,
      ),
      { numRuns: 300, seed: 14 },
    );
  }, 120_000);

  it("re-checks a sender whose filled gap outgrew its balance, though the head did not change it", async () => {
    // nonce 1 (queued) alone is fundable, nonce 0 then too; run 0,1 is not: the head must drop nonce 1.
    const state = new MemoryState();
    const a = signed[0];
    state.setBalance(SENDERS[0], a[0][0].cost + a[1][0].cost - 1n);
    const s = side(state);
    await s.pool.add(a[1][0]);
    await s.pool.add(a[0][0]);
    expect(s.pool.stats()).toEqual({ pending: 2, queued: 0 });
    s.reader.accountsRead.length = 0;
    await s.pool.onNewHead({ accounts: [] });
    expect(s.reader.accountsRead).toEqual([]);
    expect(s.pool.has(a[0][0].hash)).toBe(true);
    expect(s.pool.has(a[1][0].hash)).toBe(false);
  });
});
