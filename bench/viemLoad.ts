// The viem load generator's workloads: a second client, independent of bench/workloads.ts (ethers, a block
// watcher): viem local accounts sign, viem's HTTP transport sends, inclusion is seen by polling receipts.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  type Abi,
  createPublicClient,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  http,
  type PublicClient,
  parseAbi,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import type { TargetProcess } from "./procs.js";
import { type LatencySummary, round, summarize } from "./stats.js";

const GWEI = 10n ** 9n;
const MAX_FEE = 100n * GWEI;
const MAX_PRIORITY_FEE = 1n * GWEI;
const RECEIPT_POLL_MS = 10;
/** A phase fails when none of its transactions gets a receipt for this long. */
const STALL_MS = 30_000;
const ERC20_ABI = parseAbi([
  "function transfer(address to, uint256 amount) returns (bool)",
  "function balanceOf(address owner) view returns (uint256)",
]);

export interface ViemCtx {
  url: string;
  client: PublicClient;
  chainId: number;
  accounts: PrivateKeyAccount[];
  proc: TargetProcess;
  log: (msg: string) => void;
  /** Untimed txs (calls) of the same workload before each timed phase; 0 = cold figures (see bench/args.ts). */
  warmupTxs: number;
}

export function viemCtx(
  url: string,
  chainId: number,
  keys: readonly Hex[],
  proc: TargetProcess,
  log: (m: string) => void,
  warmupTxs = 0,
): ViemCtx {
  // No batching and no retries: one request per call, as a wallet or dApp backend sends them.
  const client = createPublicClient({ transport: http(url, { timeout: 30_000, retryCount: 0, batch: false }) });
  return { url, client, chainId, accounts: keys.map((k) => privateKeyToAccount(k)), proc, log, warmupTxs };
}

export interface ViemTxPhase {
  ok: boolean;
  problems: string[];
  txs: number;
  included: number;
  /** included / (last receipt seen − first submit). */
  txPerSec: number | null;
  /** Submit → receipt seen by the sender's poller, ms. */
  latencyMs: LatencySummary;
  /** Node process CPU per included tx (µs), from /proc. */
  nodeCpuMicrosPerTx: number | null;
  wallSec: number;
  gasPerTx: number | null;
}

export interface ViemCallPhase {
  ok: boolean;
  problems: string[];
  calls: number;
  callsPerSec: number | null;
  latencyMs: LatencySummary;
  nodeCpuMicrosPerCall: number | null;
  /** This load generator's CPU µs per call (viem's HTTP transport: fetch; every answer decoded and checked). */
  clientCpuMicrosPerCall: number;
  /**
   * Share of the timed calls the node answered from its per-block result cache (%), from its
   * `azora_rpc_call_cache_total` counter; null for Anvil (no such counter). The rest ran the EVM.
   */
  cacheHitPercent: number | null;
}

const CALL_CACHE_LINE = /^azora_rpc_call_cache_total\{result="(hit|miss)"\} (\S+)$/;

/** The node's eth_call result-cache counters from `<url>/metrics`; null when it exports none (Anvil). */
async function readCallCache(url: string): Promise<{ hit: number; miss: number } | null> {
  try {
    const res = await fetch(new URL("/metrics", url));
    if (!res.ok) return null;
    const out = { hit: 0, miss: 0 };
    let seen = false;
    for (const line of (await res.text()).split("\n")) {
      const m = CALL_CACHE_LINE.exec(line);
      if (m === null) continue;
      out[m[1] as "hit" | "miss"] = Number(m[2]);
      seen = true;
    }
    return seen ? out : { hit: 0, miss: 0 };
  } catch {
    return null;
  }
}

function freshAddress(): Hex {
  return `0x${randomBytes(20).toString("hex")}`;
}

async function pendingNonce(ctx: ViemCtx, a: PrivateKeyAccount): Promise<number> {
  return ctx.client.getTransactionCount({ address: a.address, blockTag: "pending" });
}

type Receipt = { status: Hex; gasUsed: Hex } | null;

async function receiptOf(ctx: ViemCtx, hash: Hex): Promise<Receipt> {
  return (await ctx.client.request({ method: "eth_getTransactionReceipt", params: [hash] })) as Receipt;
}

/** Sends one signed tx and polls its receipt; for the untimed set-up. */
async function sendAndWait(ctx: ViemCtx, raw: Hex, what: string): Promise<Receipt & object> {
  const hash = await ctx.client.sendRawTransaction({ serializedTransaction: raw });
  const deadline = performance.now() + STALL_MS;
  for (;;) {
    const r = await receiptOf(ctx, hash);
    if (r !== null) {
      if (r.status !== "0x1") throw new Error(`${what}: status ${r.status}`);
      return r;
    }
    if (performance.now() > deadline) throw new Error(`${what}: no receipt within ${STALL_MS / 1000} s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * Pre-signs `perSender` txs for every account (`build` gives the call), then per sender: one loop sends
 * its txs in nonce order, awaiting each response; one poller asks for the receipt of its oldest
 * unconfirmed tx every 10 ms. Receipts must all have status 1. First, `ctx.warmupTxs` txs of the same
 * workload go through the same way, untimed, so the figures are a running node's, not a fresh one's JIT warm-up.
 */
async function txPhase(
  ctx: ViemCtx,
  total: number,
  build: (i: number) => { to: Hex; data: Hex; value: bigint; gas: bigint },
): Promise<ViemTxPhase> {
  if (ctx.warmupTxs > 0) {
    ctx.log(`  warm-up: ${ctx.warmupTxs} txs of the same workload, untimed…`);
    const warm = await txPhase({ ...ctx, warmupTxs: 0 }, ctx.warmupTxs, build);
    if (!warm.ok) throw new Error(`warm-up failed: ${warm.problems.join("; ")}`);
  }
  const perSender = Math.ceil(total / ctx.accounts.length);
  const signed: Hex[][] = [];
  for (const a of ctx.accounts) {
    const n0 = await pendingNonce(ctx, a);
    const list: Hex[] = [];
    for (let i = 0; i < perSender; i++) {
      const c = build(i);
      list.push(
        await a.signTransaction({
          chainId: ctx.chainId,
          type: "eip1559",
          nonce: n0 + i,
          to: c.to,
          data: c.data,
          value: c.value,
          gas: c.gas,
          maxFeePerGas: MAX_FEE,
          maxPriorityFeePerGas: MAX_PRIORITY_FEE,
        }),
      );
    }
    signed.push(list);
  }
  const problems: string[] = [];
  const latencies: number[] = [];
  let gasUsed = 0n;
  let included = 0;
  let lastReceipt = 0;
  const cpu0 = ctx.proc.cpuSeconds();
  const t0 = performance.now();
  await Promise.all(
    signed.map(async (list) => {
      const sentAt: number[] = [];
      const hashes: Hex[] = [];
      let failed = false;
      const sender = (async () => {
        for (const raw of list) {
          sentAt.push(performance.now());
          try {
            hashes.push(await ctx.client.sendRawTransaction({ serializedTransaction: raw }));
          } catch (e) {
            problems.push(`rejected: ${(e as Error).message.split("\n")[0]}`);
            failed = true;
            return;
          }
        }
      })();
      let lastProgress = performance.now();
      for (let i = 0; i < list.length; i++) {
        for (;;) {
          if (i < hashes.length) {
            const r = await receiptOf(ctx, hashes[i]);
            if (r !== null) {
              const now = performance.now();
              latencies.push(now - sentAt[i]);
              lastReceipt = Math.max(lastReceipt, now);
              lastProgress = now;
              included++;
              gasUsed += BigInt(r.gasUsed);
              if (r.status !== "0x1") problems.push(`status ${r.status}`);
              break;
            }
          } else if (failed) return;
          if (performance.now() - lastProgress > STALL_MS) {
            problems.push(`no receipt for ${STALL_MS / 1000} s`);
            return;
          }
          await new Promise((res) => setTimeout(res, RECEIPT_POLL_MS));
        }
      }
      await sender;
    }),
  );
  const cpu1 = ctx.proc.cpuSeconds();
  const txs = perSender * ctx.accounts.length;
  if (included !== txs) problems.push(`${txs - included} of ${txs} txs without a receipt`);
  return {
    ok: problems.length === 0,
    problems: problems.slice(0, 10),
    txs,
    included,
    txPerSec: included > 0 && lastReceipt > t0 ? round(included / ((lastReceipt - t0) / 1000), 1) : null,
    latencyMs: summarize(latencies),
    nodeCpuMicrosPerTx:
      cpu0 === null || cpu1 === null || included === 0 ? null : round(((cpu1 - cpu0) * 1e6) / included, 0),
    wallSec: round((performance.now() - t0) / 1000, 2),
    gasPerTx: included > 0 ? Number(gasUsed / BigInt(included)) : null,
  };
}

export function valueTransfers(ctx: ViemCtx, total: number): Promise<ViemTxPhase> {
  return txPhase(ctx, total, () => ({ to: freshAddress(), data: "0x", value: GWEI, gas: 21_000n }));
}

export interface DeployedToken {
  address: Hex;
  recipients: Hex[];
}

/** Deploys the token from account 0 and gives every other sender 10^24 units (untimed). */
export async function deployToken(ctx: ViemCtx, abi: Abi, bytecode: Hex): Promise<Hex> {
  const [owner, ...others] = ctx.accounts;
  const n0 = await pendingNonce(ctx, owner);
  const sign = (nonce: number, to: Hex | undefined, data: Hex, gas: bigint) =>
    owner.signTransaction({
      chainId: ctx.chainId,
      type: "eip1559",
      nonce,
      to,
      data,
      gas,
      maxFeePerGas: MAX_FEE,
      maxPriorityFeePerGas: MAX_PRIORITY_FEE,
    });
  const deployData = encodeDeployData({ abi, bytecode, args: [10n ** 27n] });
  const deployed = (await sendAndWait(ctx, await sign(n0, undefined, deployData, 5_000_000n), "deploy")) as {
    contractAddress?: Hex;
  };
  const address = deployed.contractAddress;
  if (address === undefined || address === null) throw new Error("deploy: no contractAddress in the receipt");
  for (let i = 0; i < others.length; i++) {
    const data = encodeFunctionData({
      abi: ERC20_ABI,
      functionName: "transfer",
      args: [others[i].address, 10n ** 24n],
    });
    await sendAndWait(ctx, await sign(n0 + 1 + i, address, data, 100_000n), "fund sender");
  }
  return address;
}

/** `transfer(fresh, 1)` from every sender; the recipients are returned for the eth_call phase. */
export async function erc20Transfers(
  ctx: ViemCtx,
  token: Hex,
  total: number,
): Promise<{ phase: ViemTxPhase; recipients: Hex[] }> {
  const recipients: Hex[] = [];
  const phase = await txPhase(ctx, total, () => {
    const to = freshAddress();
    recipients.push(to);
    return {
      to: token,
      data: encodeFunctionData({ abi: ERC20_ABI, functionName: "transfer", args: [to, 1n] }),
      value: 0n,
      gas: 60_000n,
    };
  });
  return { phase, recipients };
}

/** `balanceOf` with viem's readContract from `callers` concurrent loops; every answer must be 1. */
export async function balanceCalls(
  ctx: ViemCtx,
  token: Hex,
  holders: Hex[],
  calls: number,
  callers: number,
): Promise<ViemCallPhase> {
  const problems: string[] = [];
  const latencies: number[] = [];
  let next = 0;
  let wrong = 0;
  const one = (i: number) =>
    ctx.client.readContract({
      address: token,
      abi: ERC20_ABI,
      functionName: "balanceOf",
      args: [holders[i % holders.length]],
    });
  const warm = Math.max(Math.min(200, holders.length), ctx.warmupTxs);
  for (let i = 0; i < warm; i++) await one(i); // warm-up, untimed
  const cache0 = await readCallCache(ctx.url);
  const cpu0 = ctx.proc.cpuSeconds();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (;;) {
        const i = next++;
        if (i >= calls) return;
        const s = performance.now();
        try {
          if ((await one(i)) !== 1n) wrong++;
        } catch (e) {
          problems.push((e as Error).message.split("\n")[0]);
          continue;
        }
        latencies.push(performance.now() - s);
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const cpu1 = ctx.proc.cpuSeconds();
  const cache1 = await readCallCache(ctx.url);
  if (wrong > 0) problems.push(`${wrong} wrong balances`);
  const hits = cache0 === null || cache1 === null ? null : cache1.hit - cache0.hit;
  const misses = cache0 === null || cache1 === null ? null : cache1.miss - cache0.miss;
  return {
    ok: problems.length === 0,
    problems: problems.slice(0, 10),
    calls,
    callsPerSec: round(latencies.length / sec, 0),
    latencyMs: summarize(latencies),
    nodeCpuMicrosPerCall: cpu0 === null || cpu1 === null ? null : round(((cpu1 - cpu0) * 1e6) / calls, 0),
    clientCpuMicrosPerCall: round((client.user + client.system) / calls, 0),
    cacheHitPercent:
      hits === null || misses === null || hits + misses === 0 ? null : round((100 * hits) / (hits + misses), 1),
  };
}
