/**
 * The mempool's own CPU under a localnet-like load, apart from everything else a node does:
 * admission (`add`, µs per tx) and the commit path's pool update (`removeIncluded` + `onNewHead`, ms
 * per height), in process CPU time, so a busy machine does not skew it. 100 senders each keep a
 * backlog of pooled txs (blocks lagging the offered load, as on the 4-validator bench at 300–500 tx/s);
 * each height admits `txPerHeight` txs round-robin and then includes as many.
 *
 *   node dist/bench/mempoolHeads.js [--dist <other build's dist dir>] [--heights 60] [--tx 300] [--backlog 30]
 *
 * `--dist` loads another build's mempool (an A/B against the base); the state reader offers both the
 * old (`getNonce`/`getBalance`) and the new (`getAccount`) interface.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Mempool as MempoolClass, PooledTx } from "../node/mempool/index.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/mempoolHeads.js [--dist DIR] [--heights N] [--tx N] [--backlog N]

The mempool's own CPU under a localnet-like load: admission (µs per tx) and the commit path's pool update
(ms per height), 100 senders each keeping a backlog of pooled txs.

Options:
  --dist <dir>      another build's dist/ whose mempool to load (default: this build)
  --heights <n>     heights to run (default 60)
  --tx <n>          txs admitted and included per height (default 300)
  --backlog <n>     pooled txs each sender keeps ahead (default 30)
  -h, --help        show this help`;

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      dist: { type: "string" },
      heights: { type: "string", default: "60" },
      tx: { type: "string", default: "300" },
      backlog: { type: "string", default: "30" },
    },
  }),
);
const dist = path.resolve(values.dist ?? path.join(path.dirname(fileURLToPath(import.meta.url)), ".."));
const { Mempool, DEFAULT_MEMPOOL_OPTIONS } = (await import(
  path.join(dist, "node/mempool/index.js")
)) as typeof import("../node/mempool/index.js");
const heights = Number(values.heights);
const txPerHeight = Number(values.tx);
const SENDERS = 100;
const FEE = 2_000_000_000n;

const senders = Array.from({ length: SENDERS }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`);
const nonces = new Map(senders.map((s) => [s, 0n]));
const balances = new Map(senders.map((s) => [s, 10n ** 24n]));
const account = (a: string) => ({ nonce: nonces.get(a) ?? 0n, balance: balances.get(a) ?? 0n });
const state = {
  getAccount: async (a: string) => account(a),
  getNonce: async (a: string) => account(a).nonce,
  getBalance: async (a: string) => account(a).balance,
};
const pool: MempoolClass = new Mempool(
  { ...DEFAULT_MEMPOOL_OPTIONS, globalSlots: 100_000, globalQueue: 10_000, accountSlots: 64, accountQueue: 64 },
  { state },
);

const nextNonce = new Map(senders.map((s) => [s, 0n]));
let seq = 0;
/** A value transfer as the pool sees it (the pool checks no signature). */
function transfer(sender: string): PooledTx {
  const nonce = nextNonce.get(sender) ?? 0n;
  nextNonce.set(sender, nonce + 1n);
  return {
    tx: undefined as unknown as PooledTx["tx"],
    raw: new Uint8Array(110),
    hash: `0x${(seq++).toString(16).padStart(64, "0")}`,
    sender,
    nonce,
    gasLimit: 21_000n,
    maxFeePerGas: FEE,
    maxPriorityFeePerGas: FEE / 2n,
    value: 1n,
    cost: 21_000n * FEE + 1n,
    size: 110,
    type: 2,
    receivedAt: 0,
  };
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let admitMs = 0;
let admitted = 0;
let commitMs = 0;

async function admit(n: number): Promise<void> {
  const t0 = cpuMs();
  await Promise.all(Array.from({ length: n }, (_, i) => pool.add(transfer(senders[(admitted + i) % SENDERS]))));
  admitted += n;
  admitMs += cpuMs() - t0;
}

async function commitHeight(): Promise<void> {
  const block = pool.selectForBlock({ baseFeePerGas: FEE / 2n, gasLimit: 21_000n * BigInt(txPerHeight) });
  const touched = new Set<string>();
  for (const t of block) {
    nonces.set(t.sender, t.nonce + 1n);
    balances.set(t.sender, (balances.get(t.sender) ?? 0n) - t.cost);
    touched.add(t.sender);
  }
  const t0 = cpuMs();
  pool.removeIncluded(block.map((t) => t.hash));
  await pool.onNewHead({ accounts: touched });
  commitMs += cpuMs() - t0;
}

await admit(SENDERS * Number(values.backlog));
admitMs = 0;
admitted = 0;
for (let h = 0; h < heights; h++) {
  await admit(txPerHeight);
  await commitHeight();
}
console.log(
  JSON.stringify({
    dist,
    heights,
    txPerHeight,
    admissionUsPerTx: Number(((1000 * admitMs) / admitted).toFixed(2)),
    commitMsPerHeight: Number((commitMs / heights).toFixed(3)),
    pool: pool.stats(),
  }),
);
