// Tx submit → finalized at a fixed offered load. Pre-signed value transfers from 100 funded accounts, sent open-loop
// (no waiting for responses) on a fixed schedule, tx k to live node k mod L. Each sender is pinned to one node
// (sender s → live node s mod L) so one account's nonces never race each other across nodes. A tx is final when a
// newHeads of the node it was sent to announces a block containing it (block bodies read with eth_getBlockByHash).
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { computeAddress, getBytes, hexlify, keccak256, Signature, Transaction, toUtf8Bytes } from "ethers";
import secp256k1 from "secp256k1";
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC, devAccountPath } from "../../genesis/devnet.js";
import { hexToBigInt, RpcError, sleep } from "../rpc.js";
import { countError, type LatencySummary, round, summarize } from "../stats.js";
import { MAX_FEE, MAX_PRIORITY_FEE, VALUE_WEI } from "../workloads.js";
import type { ProposerSchedule } from "./finality.js";
import type { Head, NetObserver } from "./heads.js";
import type { Localnet, NetNode } from "./localnet.js";

/** Requests in flight above which the sender waits (the schedule slips and the step reports it). */
const MAX_IN_FLIGHT = 4000;
/**
 * eth_sendRawTransaction requests in flight per account. Requests travel on parallel keep-alive connections, so a
 * slow node may admit them out of order; the pool refuses a nonce more than 64 ahead of the sender's executable run
 * (`nonce too high`). A window of 16 keeps each account's reordering well inside that, as a wallet sending
 * sequentially would; when the node answers too slowly for the window, the schedule slips (sendLagMs) and the
 * achieved rate drops, which the step reports.
 */
const MAX_IN_FLIGHT_PER_SENDER = 16;
/** Fee multiplier between consecutive steps: a tx left queued by an earlier step is replaced, never collided with. */
const FEE_BUMP_PER_STEP = 1.25;
const TICK_MS = 1;
/** A step sustains its load when p99 ≤ this and nothing is lost or late. */
export const SUSTAIN_P99_MS = 2000;
/** ... and the steady-state inclusion rate and the achieved send rate are at least this share of the offer. */
export const SUSTAIN_RATE_SHARE = 0.95;
/** The first second of a step is left out of the steady-state inclusion rate (the pipeline fills). */
const RAMP_IN_MS = 1000;

export interface Sender {
  address: string;
  key: Uint8Array;
}

export async function devSenders(): Promise<Sender[]> {
  const { HDNodeWallet } = await import("ethers");
  return Array.from({ length: DEV_ACCOUNT_COUNT }, (_, i) => {
    const w = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i));
    return { address: w.address, key: getBytes(w.privateKey) };
  });
}

/** Sender accounts for the load steps, derived from fixed seeds (funded per network by `fundSenders`). */
export function benchSenders(n: number): Sender[] {
  return Array.from({ length: n }, (_, i) => {
    const key = getBytes(keccak256(toUtf8Bytes(`azora-bench-sender/${i}`)));
    return { address: computeAddress(hexlify(key)), key };
  });
}

/**
 * Funds `to` from `from` (recipient i from funder i mod |from|), untimed, and waits until every live node
 * has every balance. Why many senders: with the 10 dev accounts, 500 tx/s is 50 tx/s per account, and a
 * saturated node that admits one account's requests out of order by a second holds ~50 nonces behind a
 * gap — past the pool's 64-nonce allowance once the chain lags, so txs were refused as `nonce too high`
 * (as geth would refuse them). Real traffic comes from many accounts; 100 senders keep each at 5 tx/s.
 */
export async function fundSenders(ctx: LoadCtx, from: Sender[], to: Sender[], amountWei: bigint): Promise<void> {
  const live = ctx.net.live();
  const fee = feesOfStep(ctx.steps);
  await Promise.all(
    from.map(async (f, j) => {
      const node = live[j % live.length];
      let nonce = Number(hexToBigInt(await node.rpc.call("eth_getTransactionCount", [f.address, "pending"])));
      for (let i = j; i < to.length; i += from.length) {
        const { raw } = signTransfer(ctx.net.chainId, f, nonce++, fee, to[i].address, amountWei);
        await node.rpc.call("eth_sendRawTransaction", [raw]);
      }
    }),
  );
  const deadline = performance.now() + 60_000;
  for (;;) {
    const balances = await Promise.all(
      live.flatMap((n) => to.map((s) => n.rpc.call<string>("eth_getBalance", [s.address, "latest"]))),
    );
    if (balances.every((b) => hexToBigInt(b) >= amountWei)) return;
    if (performance.now() > deadline) throw new Error("funding the bench senders: not every balance arrived in 60 s");
    await sleep(200);
  }
}

interface PlannedTx {
  node: NetNode;
  sender: number;
  nonce: number;
  raw: string;
  hash: string;
  scheduledAt: number;
  sentAt: number;
  /** Response of eth_sendRawTransaction: accepted, rejected, or still pending (undefined). */
  accepted?: boolean;
  includedAt?: number;
  /** Behind a rejected nonce of its sender: can never be included. */
  doomed?: boolean;
}

export interface Fees {
  maxFee: bigint;
  tip: bigint;
}

/** Step k pays FEE_BUMP_PER_STEP^k times the base fees (+25 % per step clears the pool's 10 % replacement bump). */
export function feesOfStep(k: number): Fees {
  const f = BigInt(Math.round(FEE_BUMP_PER_STEP ** k * 1000));
  return { maxFee: (MAX_FEE * f) / 1000n, tip: (MAX_PRIORITY_FEE * f) / 1000n };
}

/** Signs one type-2 transfer (native secp256k1: ~2× faster than ethers' Wallet, identical bytes). */
export function signTransfer(
  chainId: bigint,
  s: Sender,
  nonce: number,
  fee: Fees,
  to: string = hexlify(randomBytes(20)),
  value: bigint = VALUE_WEI,
): { raw: string; hash: string } {
  const tx = Transaction.from({
    type: 2,
    chainId,
    nonce,
    to,
    value,
    gasLimit: 21_000n,
    maxFeePerGas: fee.maxFee,
    maxPriorityFeePerGas: fee.tip,
    data: "0x",
  });
  const { signature, recid } = secp256k1.ecdsaSign(getBytes(tx.unsignedHash), s.key);
  tx.signature = Signature.from({
    r: hexlify(signature.subarray(0, 32)),
    s: hexlify(signature.subarray(32, 64)),
    yParity: recid as 0 | 1,
  });
  return { raw: tx.serialized, hash: (tx.hash as string).toLowerCase() };
}

export interface LoadStepResult {
  offeredTxPerSec: number;
  durationS: number;
  nodes: number[];
  txs: number;
  sent: number;
  accepted: number;
  rejected: number;
  /** Accepted but not seen in a block of the node they were sent to before the stall timeout. */
  notIncluded: number;
  /** Not included because an earlier nonce of the same sender was rejected. */
  doomed: number;
  included: number;
  /** sent / (last send − first send) */
  achievedSendTxPerSec: number | null;
  /** Inclusions between 1 s after the start and the end of the send window, per second. */
  steadyInclusionTxPerSec: number | null;
  /** included / (last inclusion − first send) */
  txPerSec: number | null;
  /** Submit (request sent) → included in a block announced by the node it was sent to. */
  latencyMs: LatencySummary;
  /** Per node the txs were sent to: the same latency. */
  latencyByNodeMs: Record<string, LatencySummary>;
  submitRttMs: LatencySummary;
  /** How late the generator sent vs its schedule (a shared CPU shows here). */
  sendLagMs: LatencySummary;
  blocks: {
    count: number;
    withOurTxs: number;
    maxTxs: number;
    meanTxs: number | null;
    /** Blocks not proposed by their height's round-0 proposer (round 0 failed), from the header. */
    proposedAfterRound0: number;
  };
  /** Every block from the start of the step: first arrival (ms after the first send), txs, round proposed in. */
  timeline: Array<{ number: number; atMs: number; txs: number; round: number | null }>;
  rejectErrors: Record<string, number>;
  signSec: number;
  /** Fees of this step's txs (gwei). */
  feesGwei: { maxFee: number; tip: number };
  error: string | null;
  /** Whether the step sustained its offered load, with the reasons when not. */
  sustained: { ok: boolean; why: string[] };
}

export interface LoadCtx {
  /** Steps run so far on this network (fees rise per step). */
  steps: number;
  net: Localnet;
  obs: NetObserver;
  schedule: ProposerSchedule;
  senders: Sender[];
  stallTimeoutMs: number;
  log: (m: string) => void;
}

export async function runLoadStep(ctx: LoadCtx, rate: number, durationS: number): Promise<LoadStepResult> {
  const { net, obs } = ctx;
  const live = net.live();
  if (live.length === 0) throw new Error("no live node");
  const L = live.length;
  const homeOf = (s: number) => live[s % L];
  const sendersOf = live.map((_, p) => ctx.senders.map((_, s) => s).filter((s) => s % L === p));

  // Nonces (pending = latest after the previous step drained), then sign, untimed.
  const nonces = await Promise.all(
    ctx.senders.map(async (s, i) =>
      Number(hexToBigInt(await homeOf(i).rpc.call("eth_getTransactionCount", [s.address, "pending"]))),
    ),
  );
  const total = Math.max(1, Math.round(rate * durationS));
  const fees = feesOfStep(ctx.steps++);
  const signStart = performance.now();
  const plan: PlannedTx[] = new Array(total);
  const perNodeCount = new Array<number>(L).fill(0);
  for (let k = 0; k < total; k++) {
    const p = k % L;
    const list = sendersOf[p];
    const sender = list[perNodeCount[p]++ % list.length];
    const nonce = nonces[sender]++;
    const { raw, hash } = signTransfer(net.chainId, ctx.senders[sender], nonce, fees);
    plan[k] = { node: live[p], sender, nonce, raw, hash, scheduledAt: 0, sentAt: 0 };
  }
  const signSec = (performance.now() - signStart) / 1000;
  const byHash = new Map(plan.map((t) => [t.hash, t]));

  // Inclusion: every head of every node; txs count on the node they were sent to.
  const blockFirst = new Map<number, { at: number; ours: number; txs: number; proposer: string }>();
  let lastProgress = performance.now();
  let pendingBodies = 0;
  const onHead = (h: Head) => {
    const node = net.nodes[h.node];
    pendingBodies++;
    obs
      .blockTxs(h.hash, node)
      .then((txs) => {
        let ours = 0;
        for (const tx of txs) {
          const t = byHash.get(tx);
          if (t === undefined) continue;
          ours++;
          if (t.node.index === h.node && t.includedAt === undefined) {
            t.includedAt = h.at;
            lastProgress = performance.now();
          }
        }
        const b = blockFirst.get(h.number);
        if (b === undefined || h.at < b.at)
          blockFirst.set(h.number, { at: h.at, ours, txs: txs.length, proposer: h.proposer });
      })
      .catch(() => undefined)
      .finally(() => pendingBodies--);
  };
  const firstBlock = Math.max(0, ...obs.watchers.map((w) => Math.max(0, ...w.byNumber.keys()))) + 1;
  const off = obs.onHead(onHead);

  const rtts: number[] = [];
  const rejectErrors: Record<string, number> = {};
  const firstRejectedNonce = new Map<number, number>();
  let inFlight = 0;
  const senderInFlight = new Array<number>(ctx.senders.length).fill(0);
  let rejected = 0;
  let sent = 0;
  let lastSend = 0;
  const send = (t: PlannedTx) => {
    t.sentAt = performance.now();
    sent++;
    lastSend = t.sentAt;
    inFlight++;
    senderInFlight[t.sender]++;
    t.node.rpc
      .call<string>("eth_sendRawTransaction", [t.raw])
      .then(
        (hash) => {
          rtts.push(performance.now() - t.sentAt);
          if (typeof hash !== "string" || hash.toLowerCase() !== t.hash)
            throw new Error(`returned hash ${JSON.stringify(hash)}, expected ${t.hash}`);
          t.accepted = true;
        },
        (e: unknown) => {
          if (e instanceof RpcError && /already known/i.test(e.message)) {
            t.accepted = true;
            return;
          }
          throw e;
        },
      )
      .catch((e: unknown) => {
        t.accepted = false;
        rejected++;
        countError(rejectErrors, (e as Error).message);
        const prev = firstRejectedNonce.get(t.sender);
        if (prev === undefined || t.nonce < prev) firstRejectedNonce.set(t.sender, t.nonce);
      })
      .finally(() => {
        inFlight--;
        senderInFlight[t.sender]--;
      });
  };

  const interval = 1000 / rate;
  const t0 = performance.now() + 20;
  await new Promise<void>((resolve) => {
    let k = 0;
    const tick = () => {
      const now = performance.now();
      while (
        k < total &&
        t0 + k * interval <= now &&
        inFlight < MAX_IN_FLIGHT &&
        senderInFlight[plan[k].sender] < MAX_IN_FLIGHT_PER_SENDER
      ) {
        plan[k].scheduledAt = t0 + k * interval;
        send(plan[k]);
        k++;
      }
      if (k >= total) resolve();
      else setTimeout(tick, TICK_MS);
    };
    setTimeout(tick, 20);
  });
  const sendEnd = performance.now();

  // Drain: every accepted tx included on its node, unless nothing moves for the stall timeout.
  let error: string | null = null;
  const waitStart = performance.now();
  lastProgress = Math.max(lastProgress, waitStart);
  for (;;) {
    for (const t of plan) {
      const bad = firstRejectedNonce.get(t.sender);
      t.doomed = t.accepted !== false && bad !== undefined && t.nonce > bad;
    }
    const waiting = plan.filter((t) => t.accepted !== false && !t.doomed && t.includedAt === undefined);
    if (waiting.length === 0 && inFlight === 0 && pendingBodies === 0) break;
    const dead = waiting.find((t) => t.node.exited());
    if (dead !== undefined) {
      error = `${dead.node.name} exited with ${waiting.length} tx(s) not yet included`;
      break;
    }
    if (performance.now() - lastProgress > ctx.stallTimeoutMs) {
      error = `${waiting.length} tx(s) not included: no progress for ${ctx.stallTimeoutMs / 1000} s`;
      break;
    }
    await sleep(20);
  }
  off();

  const included = plan.filter((t) => t.includedAt !== undefined);
  const latency = (t: PlannedTx) => (t.includedAt as number) - t.sentAt;
  const steadyFrom = t0 + RAMP_IN_MS;
  const steadyTo = t0 + durationS * 1000;
  const steadyCount = included.filter(
    (t) => (t.includedAt as number) >= steadyFrom && (t.includedAt as number) <= steadyTo,
  ).length;
  const lastInclusion = Math.max(0, ...included.map((t) => t.includedAt as number));
  const firstSend = plan[0].sentAt;
  const latencyByNodeMs: Record<string, LatencySummary> = {};
  for (const n of live) latencyByNodeMs[n.name] = summarize(included.filter((t) => t.node === n).map(latency));
  const blocks = [...blockFirst.entries()].filter(([num]) => num >= firstBlock).map(([num, b]) => ({ num, ...b }));
  const withOurs = blocks.filter((b) => b.ours > 0);
  const accepted = plan.filter((t) => t.accepted === true).length;
  const doomed = plan.filter((t) => t.doomed === true && t.includedAt === undefined).length;
  const notIncluded = plan.filter((t) => t.accepted === true && !t.doomed && t.includedAt === undefined).length;

  const res: LoadStepResult = {
    offeredTxPerSec: rate,
    durationS,
    nodes: live.map((n) => n.index),
    txs: total,
    sent,
    accepted,
    rejected,
    notIncluded,
    doomed,
    included: included.length,
    achievedSendTxPerSec: sent > 1 ? round((sent - 1) / ((lastSend - firstSend) / 1000), 1) : null,
    steadyInclusionTxPerSec:
      durationS * 1000 > RAMP_IN_MS ? round(steadyCount / ((steadyTo - steadyFrom) / 1000), 1) : null,
    txPerSec: included.length > 0 ? round(included.length / ((lastInclusion - firstSend) / 1000), 1) : null,
    latencyMs: summarize(included.map(latency)),
    latencyByNodeMs,
    submitRttMs: summarize(rtts),
    sendLagMs: summarize(plan.filter((t) => t.sentAt > 0).map((t) => t.sentAt - t.scheduledAt)),
    blocks: {
      count: blocks.length,
      withOurTxs: withOurs.length,
      maxTxs: Math.max(0, ...withOurs.map((b) => b.txs)),
      meanTxs: withOurs.length > 0 ? round(included.length / withOurs.length, 1) : null,
      proposedAfterRound0: blocks.filter((b) => (ctx.schedule.proposedInRound(b.num, b.proposer) ?? 0) > 0).length,
    },
    timeline: blocks
      .sort((a, b) => a.num - b.num)
      .slice(0, 5000)
      .map((b) => ({
        number: b.num,
        atMs: Math.round(b.at - firstSend),
        txs: b.txs,
        round: ctx.schedule.proposedInRound(b.num, b.proposer),
      })),
    rejectErrors,
    signSec: round(signSec, 2),
    feesGwei: { maxFee: Number(fees.maxFee / 10n ** 6n) / 1000, tip: Number(fees.tip / 10n ** 6n) / 1000 },
    error,
    sustained: { ok: true, why: [] },
  };
  const why: string[] = [];
  if (rejected > 0) why.push(`${rejected} rejected`);
  if (notIncluded + doomed > 0) why.push(`${notIncluded + doomed} never included`);
  if (error !== null) why.push(error);
  const p99 = res.latencyMs.p99;
  if (p99 === null || p99 > SUSTAIN_P99_MS) why.push(`p99 ${p99 ?? "—"} ms > ${SUSTAIN_P99_MS} ms`);
  if (res.achievedSendTxPerSec !== null && res.achievedSendTxPerSec < SUSTAIN_RATE_SHARE * rate)
    why.push(`the generator sent only ${res.achievedSendTxPerSec} tx/s`);
  if (res.steadyInclusionTxPerSec !== null && res.steadyInclusionTxPerSec < SUSTAIN_RATE_SHARE * rate)
    why.push(`inclusion rate ${res.steadyInclusionTxPerSec} tx/s < ${SUSTAIN_RATE_SHARE * 100} % of offered`);
  res.sustained = { ok: why.length === 0, why };
  const sendSec = (sendEnd - firstSend) / 1000;
  ctx.log(
    `  ${rate} tx/s × ${durationS} s: sent ${sent} in ${sendSec.toFixed(1)} s, included ${included.length}` +
      `${rejected > 0 ? `, ${rejected} rejected` : ""}${notIncluded + doomed > 0 ? `, ${notIncluded + doomed} lost` : ""}` +
      ` — p50 ${res.latencyMs.p50} ms p99 ${res.latencyMs.p99} ms, ${withOurs.length} blocks` +
      `${res.sustained.ok ? "" : ` — NOT sustained: ${why.join("; ")}`}`,
  );
  return res;
}

/** Sends a light load for `seconds` (untimed): JIT warm-up, connections, and the first blocks of a fresh chain. */
export async function warmUp(ctx: LoadCtx, rate: number, seconds: number): Promise<void> {
  const log = ctx.log;
  ctx.log = () => undefined;
  let r: LoadStepResult;
  try {
    r = await runLoadStep(ctx, rate, seconds);
  } finally {
    ctx.log = log;
  }
  if (r.included === 0) throw new Error(`warm-up: none of ${r.sent} txs was included (${r.error ?? "?"})`);
}
