// The three measured phases, identical for every target: value transfers, ERC-20 transfers, eth_call.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { getAddress, hexlify, Interface, keccak256, type Wallet } from "ethers";
import type { BenchParams } from "./args.js";
import { LeanConnection, postBytes, rpcResult } from "./leanRpc.js";
import { type CpuPerTx, cpuPerTx, mainThreadCpuSeconds, readStageSeconds } from "./nodeCpu.js";
import type { TargetProcess } from "./procs.js";
import { hexToBigInt, type RpcClient, RpcError, sleep } from "./rpc.js";
import { countError, type LatencySummary, round, summarize } from "./stats.js";
import { perTxByThread, threadCpuDelta, threadSnapshot } from "./threadCpu.js";
import { BlockWatcher, StallError } from "./watcher.js";

const GWEI = 10n ** 9n;
export const MAX_FEE = 100n * GWEI;
export const MAX_PRIORITY_FEE = 1n * GWEI;
/** Each value-transfer recipient receives this much (wei). */
export const VALUE_WEI = 1_000_000_000n;
const TOKEN_SUPPLY = 10n ** 27n;
const TOKEN_FUNDING = 10n ** 24n;
const DEPLOY_GAS = 5_000_000n;
const ERC20_GAS = 60_000n;
/** Hard cap on waiting for one phase's inclusions, on top of the stall timeout. */
const PHASE_TIMEOUT_MS = 10 * 60_000;

export interface Ctx {
  rpc: RpcClient;
  chainId: bigint;
  /** Sender wallets (dev accounts 0..senders-1). */
  wallets: Wallet[];
  proc: TargetProcess;
  params: BenchParams;
  log: (msg: string) => void;
}

export interface CpuUse {
  wallSec: number;
  /** The window's wall-clock bounds (ms since epoch), for lining up traces of the node (bench/jitTrace.ts). */
  startedAtMs: number;
  endedAtMs: number;
  /** CPU seconds the target process used during the phase (null off Linux). */
  nodeCpuSec: number | null;
  /** Of which its main thread's (null off Linux). */
  nodeMainThreadCpuSec: number | null;
  /** The same by thread group (bench/threadCpu.ts; null off Linux). */
  nodeThreadsSec: Record<string, number> | null;
  /** CPU seconds this load generator used (signing excluded: it happens before timing). */
  benchCpuSec: number;
}

function cpuMeter(proc: TargetProcess): () => CpuUse {
  const node0 = proc.cpuSeconds();
  const main0 = mainThreadCpuSeconds(proc.pid);
  const threads0 = threadSnapshot(proc.pid);
  const bench0 = process.cpuUsage();
  const t0 = performance.now();
  const startedAtMs = Date.now();
  return () => {
    const node1 = proc.cpuSeconds();
    const main1 = mainThreadCpuSeconds(proc.pid);
    const threads1 = threadSnapshot(proc.pid);
    const b = process.cpuUsage(bench0);
    return {
      wallSec: round((performance.now() - t0) / 1000, 3),
      startedAtMs,
      endedAtMs: Date.now(),
      nodeCpuSec: node0 === null || node1 === null ? null : round(node1 - node0, 2),
      nodeMainThreadCpuSec: main0 === null || main1 === null ? null : round(main1 - main0, 2),
      nodeThreadsSec: threads0 === null || threads1 === null ? null : threadCpuDelta(threads0, threads1),
      benchCpuSec: round((b.user + b.system) / 1e6, 2),
    };
  };
}

export interface TxPhaseResult {
  ok: boolean;
  error?: string;
  txs: number;
  accepted: number;
  /** eth_sendRawTransaction returned an error (the sender stops at its first rejection: later nonces would gap). */
  rejected: number;
  notSent: number;
  included: number;
  /** Accepted but never seen in a block before the stall/phase timeout. */
  notIncluded: number;
  /** Included with receipt status 0 (or no receipt). */
  failedReceipts: number;
  /** Sum of the four failure counts above. */
  failures: number;
  /** included / (last inclusion − first submit). */
  txPerSec: number | null;
  /** accepted / (last submit response − first submit). */
  submitTxPerSec: number | null;
  /** Submit (request sent) → inclusion observed, ms. */
  latencyMs: LatencySummary;
  /** Time for one eth_sendRawTransaction round trip, ms. */
  submitRttMs: LatencySummary;
  submitSec: number | null;
  totalSec: number | null;
  blocks: { count: number; maxTxs: number; meanTxs: number | null; first: number | null; last: number | null };
  /** Non-empty blocks in the order seen: tx count, gas used and when seen (ms after submission started). */
  timeline: Array<{ number: number; txs: number; gasUsed: number; atMs: number }>;
  rejectErrors: Record<string, number>;
  checks: { passed: boolean; problems: string[] };
  cpu: CpuUse;
  /** Node CPU µs per included tx, and (Azora) its split by stage. */
  cpuPerTx: CpuPerTx;
  watcherPollErrors: number;
}

export interface SignedTx {
  sender: number;
  nonce: number;
  raw: string;
  hash: string;
  to: string;
}

function randomAddress(): string {
  return getAddress(hexlify(randomBytes(20)));
}

export async function pendingNonce(rpc: RpcClient, address: string): Promise<number> {
  return Number(hexToBigInt(await rpc.call("eth_getTransactionCount", [address, "pending"])));
}

async function latestNonce(rpc: RpcClient, address: string): Promise<number> {
  return Number(hexToBigInt(await rpc.call("eth_getTransactionCount", [address, "latest"])));
}

/** Signs `total` txs spread over the senders, each sender in nonce order from its pending nonce. */
export async function signPlan(
  ctx: Ctx,
  total: number,
  build: (
    to: string,
    sender: number,
  ) => { to: string; data: string; value: bigint; gasLimit: bigint; recipient: string },
): Promise<{ perSender: SignedTx[][]; startNonces: number[]; recipients: string[] }> {
  const n = ctx.wallets.length;
  const perSender: SignedTx[][] = [];
  const startNonces: number[] = [];
  const recipients: string[] = [];
  for (let s = 0; s < n; s++) {
    const w = ctx.wallets[s];
    const count = Math.floor(total / n) + (s < total % n ? 1 : 0);
    const start = await pendingNonce(ctx.rpc, w.address);
    startNonces.push(start);
    const list: SignedTx[] = [];
    for (let i = 0; i < count; i++) {
      const t = build(randomAddress(), s);
      const raw = await w.signTransaction({
        type: 2,
        chainId: ctx.chainId,
        nonce: start + i,
        to: t.to,
        value: t.value,
        data: t.data,
        gasLimit: t.gasLimit,
        maxFeePerGas: MAX_FEE,
        maxPriorityFeePerGas: MAX_PRIORITY_FEE,
      });
      list.push({ sender: s, nonce: start + i, raw, hash: keccak256(raw).toLowerCase(), to: t.recipient });
      recipients.push(t.recipient);
    }
    perSender.push(list);
  }
  return { perSender, startNonces, recipients };
}

function isAlreadyKnown(e: unknown): boolean {
  return /already known|known transaction|already imported/i.test((e as Error).message);
}

/**
 * Sends the pre-signed txs (one loop per sender, each awaiting every response) and measures inclusion.
 * `verify` checks the resulting state (balances) for the included txs; it returns problems, empty when fine.
 */
export async function runTxPhase(
  ctx: Ctx,
  plan: { perSender: SignedTx[][]; startNonces: number[] },
  verify: (included: SignedTx[]) => Promise<string[]>,
): Promise<TxPhaseResult> {
  const { rpc, proc, params } = ctx;
  const all = plan.perSender.flat();
  const submittedAt = new Map<string, number>();
  const rejectErrors: Record<string, number> = {};
  const submitRtt: number[] = [];
  let rejected = 0;
  let notSent = 0;
  let lastSubmitDone = 0;

  const watcher = await BlockWatcher.create(rpc, params.watch);
  watcher.start();
  const stages0 = await readStageSeconds(rpc.url);
  const meter = cpuMeter(proc);
  const t0 = performance.now();
  await Promise.all(
    plan.perSender.map(async (list) => {
      for (let i = 0; i < list.length; i++) {
        const tx = list[i];
        const sentAt = performance.now();
        try {
          let hash: string;
          try {
            hash = await rpc.call<string>("eth_sendRawTransaction", [tx.raw]);
          } catch (e) {
            if (!(e instanceof RpcError) || !isAlreadyKnown(e)) throw e;
            hash = tx.hash; // a retried request whose first attempt got through
          }
          const done = performance.now();
          submitRtt.push(done - sentAt);
          if (done > lastSubmitDone) lastSubmitDone = done;
          if (typeof hash !== "string" || hash.toLowerCase() !== tx.hash)
            throw new Error(`returned hash ${JSON.stringify(hash)}, expected ${tx.hash}`);
          submittedAt.set(tx.hash, sentAt);
        } catch (e) {
          rejected++;
          countError(rejectErrors, (e as Error).message);
          notSent += list.length - i - 1;
          return; // a gap in this sender's nonces: its later txs could never be included
        }
      }
    }),
  );
  const submitDone = lastSubmitDone;
  ctx.log(
    `  submitted ${submittedAt.size}/${all.length} in ${((submitDone - t0) / 1000).toFixed(2)} s` +
      (rejected > 0 ? ` (${rejected} rejected)` : ""),
  );

  let error: string | undefined;
  try {
    await watcher.waitFor(submittedAt.keys(), params.stallTimeoutMs, PHASE_TIMEOUT_MS, () => !proc.exited());
  } catch (e) {
    if (!(e instanceof StallError)) throw e;
    error = e.message;
  }
  await watcher.stop();
  const cpu = meter();
  const stages1 = stages0 === null ? null : await readStageSeconds(rpc.url);

  const includedTxs = all.filter((t) => submittedAt.has(t.hash) && watcher.included.has(t.hash));
  const latencies = includedTxs.map((t) => (watcher.included.get(t.hash) ?? 0) - (submittedAt.get(t.hash) ?? 0));
  let firstSubmit = Number.POSITIVE_INFINITY;
  for (const at of submittedAt.values()) if (at < firstSubmit) firstSubmit = at;
  let lastInclusion = 0;
  for (const t of includedTxs) lastInclusion = Math.max(lastInclusion, watcher.included.get(t.hash) ?? 0);
  const ourHashes = new Set(all.map((t) => t.hash));
  const phaseBlocks = watcher.blocks.filter((b) => b.txs > 0);
  ctx.log(
    includedTxs.length === 0
      ? `  included none of ${submittedAt.size}`
      : `  included ${includedTxs.length}/${submittedAt.size} in ${((lastInclusion - t0) / 1000).toFixed(2)} s, ` +
          `${phaseBlocks.length} non-empty blocks`,
  );

  // Receipts: every included tx must have status 1.
  let failedReceipts = 0;
  const problems: string[] = [];
  if (proc.exited()) problems.push("the node process exited during the phase");
  else {
    const receipts = await rpc.batchAll(includedTxs.map((t) => ["eth_getTransactionReceipt", [t.hash]]));
    const receiptErrors: Record<string, number> = {};
    for (const r of receipts) {
      const rc = r.result as { status?: string } | null | undefined;
      if (r.error !== undefined || rc === null || rc === undefined) {
        failedReceipts++;
        countError(receiptErrors, r.error?.message ?? "no receipt");
      } else if (rc.status !== "0x1") {
        failedReceipts++;
        countError(receiptErrors, `status ${rc.status}`);
      }
    }
    if (failedReceipts > 0)
      problems.push(`${failedReceipts} receipt(s) missing or failed: ${JSON.stringify(receiptErrors)}`);

    // Nonces: each sender advanced by exactly the txs of it that were included.
    for (let s = 0; s < plan.perSender.length; s++) {
      const expected = plan.startNonces[s] + includedTxs.filter((t) => t.sender === s).length;
      const got = await latestNonce(rpc, ctx.wallets[s].address);
      if (got !== expected) problems.push(`sender ${s} nonce is ${got}, expected ${expected}`);
    }
    problems.push(...(await verify(includedTxs)));
  }
  // Stray txs of ours in unexpected places would be a node bug; count what the watcher saw that we did not submit.
  const strays = [...watcher.included.keys()].filter((h) => ourHashes.has(h) && !submittedAt.has(h)).length;
  if (strays > 0) problems.push(`${strays} tx(s) were included although their submission failed`);

  const notIncluded = submittedAt.size - includedTxs.length;
  const failures = rejected + notSent + notIncluded + failedReceipts;
  return {
    ok: error === undefined && failures === 0 && problems.length === 0,
    ...(error !== undefined ? { error } : {}),
    txs: all.length,
    accepted: submittedAt.size,
    rejected,
    notSent,
    included: includedTxs.length,
    notIncluded,
    failedReceipts,
    failures,
    txPerSec:
      includedTxs.length > 0 && lastInclusion > firstSubmit
        ? round(includedTxs.length / ((lastInclusion - firstSubmit) / 1000), 1)
        : null,
    submitTxPerSec:
      submittedAt.size > 0 && submitDone > firstSubmit
        ? round(submittedAt.size / ((submitDone - firstSubmit) / 1000), 1)
        : null,
    latencyMs: summarize(latencies),
    submitRttMs: summarize(submitRtt),
    submitSec: submittedAt.size > 0 ? round((submitDone - t0) / 1000, 3) : null,
    totalSec: includedTxs.length > 0 ? round((lastInclusion - t0) / 1000, 3) : null,
    blocks: {
      count: phaseBlocks.length,
      maxTxs: phaseBlocks.reduce((m, b) => Math.max(m, b.txs), 0),
      meanTxs: phaseBlocks.length > 0 ? round(includedTxs.length / phaseBlocks.length, 1) : null,
      first: phaseBlocks[0]?.number ?? null,
      last: phaseBlocks[phaseBlocks.length - 1]?.number ?? null,
    },
    timeline: phaseBlocks.map((b) => ({
      number: b.number,
      txs: b.txs,
      gasUsed: b.gasUsed,
      atMs: Math.round(b.seenAt - t0),
    })),
    rejectErrors,
    checks: { passed: problems.length === 0, problems },
    cpu,
    cpuPerTx: {
      ...cpuPerTx(includedTxs.length, cpu.nodeCpuSec, stages0, stages1, cpu.nodeMainThreadCpuSec),
      threadsMicros: cpu.nodeThreadsSec === null ? null : perTxByThread(includedTxs.length, cpu.nodeThreadsSec),
    },
    watcherPollErrors: watcher.pollErrors,
  };
}

type TxBuild = Parameters<typeof signPlan>[2];

/**
 * Signs the timed plan of a transfer phase, after `--warmup-txs` transactions of the same workload (same
 * senders, nonces continued, fresh recipients) went through the node untimed. A fresh node spends its first
 * thousands of transactions compiling its hot paths (V8's optimizing compiler on background threads: ~200–400
 * µs per tx of a 2,000-tx phase); a running node paid that once, and Anvil (native code) never does. The
 * warm-up runs against every target alike; 0 skips it (cold figures).
 */
export async function warmThenSign(
  ctx: Ctx,
  total: number,
  build: TxBuild,
): Promise<Awaited<ReturnType<typeof signPlan>>> {
  const n = ctx.params.warmupTxs;
  if (n > 0) {
    ctx.log(`  warm-up: ${n} txs of the same workload, untimed…`);
    const r = await runTxPhase(ctx, await signPlan(ctx, n, build), async () => []);
    if (!r.ok) throw new Error(`warm-up failed: ${[r.error ?? "", ...r.checks.problems].join("; ")}`);
  }
  ctx.log(`  signing ${total} txs…`);
  return signPlan(ctx, total, build);
}

// ---------------------------------------------------------------------------------------------------------------
// Phase 1: value transfers

export async function valueTransfers(ctx: Ctx): Promise<TxPhaseResult> {
  const plan = await warmThenSign(ctx, ctx.params.txs, (to) => ({
    to,
    data: "0x",
    value: VALUE_WEI,
    gasLimit: 21_000n,
    recipient: to,
  }));
  return runTxPhase(ctx, plan, async (included) => {
    const res = await ctx.rpc.batchAll(included.map((t) => ["eth_getBalance", [t.to, "latest"]]));
    let wrong = 0;
    for (const r of res) if (r.error !== undefined || hexToBigInt(r.result) !== VALUE_WEI) wrong++;
    return wrong > 0 ? [`${wrong} recipient balance(s) differ from ${VALUE_WEI} wei`] : [];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Phase 2: ERC-20 transfers

export interface Token {
  address: string;
  iface: Interface;
  deployGasUsed: number;
}

export async function waitReceipt(ctx: Ctx, hash: string, what: string): Promise<Record<string, string>> {
  const timeoutMs = ctx.params.stallTimeoutMs;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await ctx.rpc.call<Record<string, string> | null>("eth_getTransactionReceipt", [hash]);
    if (r !== null) {
      if (r.status !== "0x1") throw new Error(`${what} failed: receipt status ${r.status}`);
      return r;
    }
    if (ctx.proc.exited()) throw new Error(`${what}: the node process exited`);
    if (performance.now() > deadline) throw new Error(`${what}: no receipt within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

/** Deploys TestToken from account 0 and gives each other sender TOKEN_FUNDING tokens (not timed). */
export async function setupToken(ctx: Ctx, artifact: { abi: unknown[]; bytecode: string }): Promise<Token> {
  const iface = new Interface(artifact.abi as string[]);
  const deployer = ctx.wallets[0];
  let nonce = await pendingNonce(ctx.rpc, deployer.address);
  const common = { type: 2, chainId: ctx.chainId, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: MAX_PRIORITY_FEE };
  const deployRaw = await deployer.signTransaction({
    ...common,
    nonce: nonce++,
    to: null,
    data: artifact.bytecode + iface.encodeDeploy([TOKEN_SUPPLY]).slice(2),
    gasLimit: DEPLOY_GAS,
  });
  const deployHash = await ctx.rpc.call<string>("eth_sendRawTransaction", [deployRaw]);
  const receipt = await waitReceipt(ctx, deployHash, "TestToken deployment");
  const address = getAddress(receipt.contractAddress);
  const code = await ctx.rpc.call<string>("eth_getCode", [address, "latest"]);
  if (code.length <= 2) throw new Error(`no code at the TestToken address ${address}`);
  const fundHashes: string[] = [];
  for (let s = 1; s < ctx.wallets.length; s++) {
    const raw = await deployer.signTransaction({
      ...common,
      nonce: nonce++,
      to: address,
      data: iface.encodeFunctionData("transfer", [ctx.wallets[s].address, TOKEN_FUNDING]),
      gasLimit: ERC20_GAS,
    });
    fundHashes.push(await ctx.rpc.call<string>("eth_sendRawTransaction", [raw]));
  }
  for (const h of fundHashes) await waitReceipt(ctx, h, "token funding transfer");
  return { address, iface, deployGasUsed: Number(hexToBigInt(receipt.gasUsed)) };
}

export async function tokenBalances(ctx: Ctx, token: Token, holders: string[]): Promise<bigint[]> {
  const res = await ctx.rpc.batchAll(
    holders.map((h) => [
      "eth_call",
      [{ to: token.address, data: token.iface.encodeFunctionData("balanceOf", [h]) }, "latest"],
    ]),
  );
  return res.map((r, i) => {
    if (r.error !== undefined) throw new Error(`balanceOf(${holders[i]}) failed: ${r.error.message}`);
    return hexToBigInt(r.result);
  });
}

export async function erc20Transfers(ctx: Ctx, token: Token): Promise<{ result: TxPhaseResult; recipients: string[] }> {
  const plan = await warmThenSign(ctx, ctx.params.txs, (to) => ({
    to: token.address,
    data: token.iface.encodeFunctionData("transfer", [to, 1n]),
    value: 0n,
    gasLimit: ERC20_GAS,
    recipient: to,
  }));
  const senders = ctx.wallets.map((w) => w.address);
  const before = await tokenBalances(ctx, token, senders);
  const result = await runTxPhase(ctx, plan, async (included) => {
    const problems: string[] = [];
    const got = await tokenBalances(
      ctx,
      token,
      included.map((t) => t.to),
    );
    const wrong = got.filter((b) => b !== 1n).length;
    if (wrong > 0) problems.push(`${wrong} recipient token balance(s) are not 1`);
    const after = await tokenBalances(ctx, token, senders);
    for (let s = 0; s < senders.length; s++) {
      const sent = BigInt(included.filter((t) => t.sender === s).length);
      if (after[s] !== before[s] - sent)
        problems.push(`sender ${s} token balance is ${after[s]}, expected ${before[s] - sent}`);
    }
    return problems;
  });
  return { result, recipients: plan.recipients };
}

// ---------------------------------------------------------------------------------------------------------------
// Phase 3: eth_call

/** The eth_call phase's client: bench/rpc.ts (node:http, the phase's client before 2026-12-07) or bench/leanRpc.ts. */
export type CallClient = "http" | "net";

export interface CallPhaseResult {
  ok: boolean;
  error?: string;
  /** Which client made the calls (absent in results before 2026-12-07: node:http). */
  client: CallClient;
  calls: number;
  succeeded: number;
  errors: number;
  /** Results that differ from the balance read before the phase (state does not change meanwhile). */
  wrongResults: number;
  callsPerSec: number | null;
  latencyMs: LatencySummary;
  durationSec: number;
  errorMessages: Record<string, number>;
  cpu: CpuUse;
  /** This load generator's CPU µs per call made (the client's cost; both clients verify every answer). */
  clientCpuMicrosPerCall: number | null;
}

/** One call of the phase: the `i`th, by caller `caller` (each caller has its own connection with the lean client). */
type CallFn = (i: number, caller: number) => Promise<unknown>;

/** `balanceOf` through the lean client: one keep-alive socket per caller, request bytes built once per holder. */
export function leanCaller(
  url: string,
  callers: number,
  to: string,
  data: string[],
): { call: CallFn; close: () => void } {
  // The id of holder h's request is h + 1: an answer is checked to be the one to its own request.
  const requests = data.map((d, h) =>
    postBytes(
      url,
      JSON.stringify({ jsonrpc: "2.0", id: h + 1, method: "eth_call", params: [{ to, data: d }, "latest"] }),
    ),
  );
  const conns = Array.from({ length: callers }, () => new LeanConnection(url));
  return {
    call: async (i, caller) => {
      const h = i % requests.length;
      return rpcResult(await conns[caller].post(requests[h]), h + 1);
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

export async function ethCalls(
  ctx: Ctx,
  token: Token,
  addresses: string[],
  client: CallClient = "http",
): Promise<CallPhaseResult> {
  const { rpc, params } = ctx;
  const holders = [...ctx.wallets.map((w) => w.address), ...addresses];
  const data = holders.map((h) => token.iface.encodeFunctionData("balanceOf", [h]));
  const expected = await tokenBalances(ctx, token, holders);
  const lean = client === "net" ? leanCaller(rpc.url, params.callers, token.address, data) : null;
  try {
    const call: CallFn =
      lean?.call ??
      ((i) => rpc.call<string>("eth_call", [{ to: token.address, data: data[i % holders.length] }, "latest"]));
    return await callLoop(ctx, client, call, (i, res) => hexToBigInt(res) === expected[i % holders.length]);
  } finally {
    lean?.close();
  }
}

/**
 * `params.calls` calls from `params.callers` concurrent callers after an untimed warm-up, each answer checked with
 * `right`; errors (thrown) and wrong answers are counted, not retried. Exported for the client's test.
 */
export async function callLoop(
  ctx: Pick<Ctx, "params" | "proc" | "log">,
  client: CallClient,
  call: CallFn,
  right: (i: number, result: unknown) => boolean,
): Promise<CallPhaseResult> {
  const { params } = ctx;
  // Warm-up (untimed): connections and JIT on both sides; --warmup-txs raises it to the transfer phases' count.
  const warm = Math.max(Math.min(500, Math.ceil(params.calls / 10)), params.warmupTxs);
  let w = 0;
  await Promise.all(
    Array.from({ length: params.callers }, async (_, caller) => {
      while (w < warm) await call(w++, caller);
    }),
  );

  ctx.log(`  ${params.calls} eth_calls from ${params.callers} concurrent callers (${client} client)…`);
  const latencies: number[] = [];
  const errorMessages: Record<string, number> = {};
  let errors = 0;
  let wrong = 0;
  let next = 0;
  let aborted: string | undefined;
  const meter = cpuMeter(ctx.proc);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: params.callers }, async (_, caller) => {
      while (next < params.calls && aborted === undefined) {
        const i = next++;
        const start = performance.now();
        try {
          const res = await call(i, caller);
          latencies.push(performance.now() - start);
          if (!right(i, res)) wrong++;
        } catch (e) {
          errors++;
          countError(errorMessages, (e as Error).message);
          if (ctx.proc.exited()) aborted = "the node process exited";
          else if (errors > 1000) aborted = "more than 1000 errors";
        }
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const cpu = meter();
  const error = aborted ?? (errors > 0 || wrong > 0 ? `${errors} error(s), ${wrong} wrong result(s)` : undefined);
  return {
    ok: error === undefined,
    ...(error !== undefined ? { error } : {}),
    client,
    calls: next,
    succeeded: latencies.length,
    errors,
    wrongResults: wrong,
    callsPerSec: latencies.length > 0 ? round(latencies.length / (elapsed / 1000), 1) : null,
    latencyMs: summarize(latencies),
    durationSec: round(elapsed / 1000, 3),
    errorMessages,
    cpu,
    clientCpuMicrosPerCall: next > 0 ? round((cpu.benchCpuSec * 1e6) / next, 0) : null,
  };
}
