// The RPC-abuse phase of `npm run chaos` (issue 16): expensive simulations and log batches against two validators
// while the chain runs, and the finality of the chain's transactions before and during it.
//
// Finality here is tx submit → final: from the moment a load transaction is sent to the first newHeads
// announcement (over all nodes) of the block that holds it. Blocks are final when committed, so that is when a
// client can rely on the transaction.
import { performance } from "node:perf_hooks";
import type { HDNodeWallet } from "ethers";
import { WebSocket } from "ws";
import { type LatencySummary, summarize } from "../stats.js";

export type Rpc = <T>(port: number, method: string, params?: unknown[]) => Promise<T | undefined>;

/** Raw JSON-RPC POST of any body, with a generous timeout; the response text, or undefined when the node does not answer. */
async function postRaw(port: number, body: unknown, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await res.text();
  } catch {
    return undefined;
  }
}

/** First announcement of every block over all nodes, and the tx hashes of each block. */
export class InclusionWatcher {
  private readonly firstSeen = new Map<number, number>();
  private readonly sockets: WebSocket[] = [];
  /** tx hash → time it was sent. */
  private readonly sent = new Map<string, number>();
  private readonly finalMs: { at: number; ms: number }[] = [];
  private readonly blocks: { number: number; at: number }[] = [];

  constructor(
    private readonly ports: number[],
    private readonly rpc: Rpc,
    /** The node whose blocks are read (one that is not attacked). */
    private readonly bodyPort: number,
  ) {}

  start(): void {
    for (const port of this.ports) this.connect(port);
  }

  private connect(port: number): void {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    this.sockets.push(ws);
    ws.on("open", () =>
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })),
    );
    ws.on("message", (data: Buffer) => {
      const at = performance.now();
      let msg: { method?: string; params?: { result?: { number?: string } } };
      try {
        msg = JSON.parse(data.toString("utf8"));
      } catch {
        return;
      }
      const n = msg.params?.result?.number;
      if (msg.method !== "eth_subscription" || n === undefined) return;
      const number = Number(n);
      if (this.firstSeen.has(number)) return;
      this.firstSeen.set(number, at);
      this.blocks.push({ number, at });
      void this.readBody(number, at);
    });
    ws.on("error", () => undefined);
  }

  private async readBody(number: number, at: number): Promise<void> {
    const block = await this.rpc<{ transactions: string[] }>(this.bodyPort, "eth_getBlockByNumber", [
      `0x${number.toString(16)}`,
      false,
    ]);
    for (const h of block?.transactions ?? []) {
      const sentAt = this.sent.get(h.toLowerCase());
      if (sentAt === undefined) continue;
      this.sent.delete(h.toLowerCase());
      this.finalMs.push({ at, ms: at - sentAt });
    }
  }

  noteSent(hash: string, at: number): void {
    this.sent.set(hash.toLowerCase(), at);
  }

  /** Finality of the txs whose block was announced in [from, to), and the longest gap between blocks there. */
  window(from: number, to: number): { txFinalMs: LatencySummary; blocks: number; longestGapMs: number | null } {
    const inWindow = this.blocks.filter((b) => b.at >= from && b.at < to).sort((a, b) => a.at - b.at);
    let longest: number | null = null;
    let prev = from;
    for (const b of inWindow) {
      longest = Math.max(longest ?? 0, b.at - prev);
      prev = b.at;
    }
    if (longest !== null) longest = Math.max(longest, to - prev);
    return {
      txFinalMs: summarize(this.finalMs.filter((f) => f.at >= from && f.at < to).map((f) => f.ms)),
      blocks: inWindow.length,
      longestGapMs: longest === null ? null : Math.round(longest),
    };
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}

/** Emits 100 LOG1 (topic 0xaa, 32 bytes of data) per call. */
const EMIT_100 = "60005b8060005260aa60206000a16001018060641160025700";
/** JUMPDEST PUSH1 0 JUMP: burns all the gas it gets. */
const TIGHT_LOOP = "5b600056";
const LOG_TOPIC = `0x${"aa".padStart(64, "0")}`;
const BLAKE_CALLER = "0x366000600037604061010036600060095afa00";
const BLAKE_TARGET = "0x00000000000000000000000000000000000c0de0";
/** blake2f with 40M rounds: one precompile call of ~40M gas (~20 s of CPU on this machine). */
const BLAKE_INPUT = `0x${(40_000_000).toString(16).padStart(8, "0")}${"00".repeat(64 + 128 + 16)}01`;

/** `rpc` until it answers (a busy node times out now and then), for at most a minute. */
async function answer<T>(rpc: Rpc, port: number, method: string, params: unknown[]): Promise<T> {
  for (let t = 0; t < 60; t++) {
    const r = await rpc<T>(port, method, params);
    if (r !== undefined) return r;
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`${method}: no answer from port ${port} within a minute`);
}

function deployCode(runtime: string): string {
  const n = (runtime.length / 2).toString(16).padStart(2, "0");
  return `0x60${n}600c60003960${n}6000f3${runtime}`;
}

/**
 * Puts a few thousand logs on chain (the log batches need them) and deploys the tight loop. Returns the two
 * contract addresses. `wallet` must be an account nothing else sends from.
 */
export async function prepareAbuse(
  rpc: Rpc,
  port: number,
  wallet: HDNodeWallet,
  chainId: number,
  txs = 30,
): Promise<{ emitter: string; loop: string; logs: number }> {
  const sign = (nonce: number, extra: { to?: string; data?: string }) =>
    wallet.signTransaction({
      type: 2,
      chainId,
      nonce,
      gasLimit: 500_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
      ...extra,
    });
  const receipt = async (hash: string) => {
    for (let i = 0; i < 600; i++) {
      const r = await rpc<{ contractAddress: string | null; logs: unknown[] }>(port, "eth_getTransactionReceipt", [
        hash,
      ]);
      if (r !== undefined && r !== null) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`no receipt for ${hash}`);
  };
  const base = Number(await answer<string>(rpc, port, "eth_getTransactionCount", [wallet.address, "pending"]));
  const send = async (raw: string) => answer<string>(rpc, port, "eth_sendRawTransaction", [raw]);
  const emitter = (await receipt(await send(await sign(base, { data: deployCode(EMIT_100) }))))
    .contractAddress as string;
  const loop = (await receipt(await send(await sign(base + 1, { data: deployCode(TIGHT_LOOP) }))))
    .contractAddress as string;
  const hashes: string[] = [];
  for (let i = 0; i < txs; i++) hashes.push(await send(await sign(base + 2 + i, { to: emitter })));
  let logs = 0;
  for (const h of hashes) logs += (await receipt(h)).logs.length;
  return { emitter, loop, logs };
}

export interface AbuseCounts {
  /** answers by request kind and outcome (`ok`, or the error code and message). */
  answers: Record<string, number>;
}

function count(c: AbuseCounts, kind: string, outcome: string): void {
  const key = `${kind}: ${outcome}`;
  c.answers[key] = (c.answers[key] ?? 0) + 1;
}

function outcomeOf(text: string | undefined): string {
  if (text === undefined) return "no answer (timeout or connection error)";
  const o = JSON.parse(text) as { result?: unknown; error?: { code: number; message: string } };
  if (o.error !== undefined) return `${o.error.code} ${o.error.message}`;
  return "ok";
}

/**
 * Outcomes of a batch's answers without parsing its (up to 25 MB of) logs: this process shares the
 * CPU with the nodes it measures. Results are counted by their `"result":` member, errors by code.
 */
function countBatch(c: AbuseCounts, kind: string, text: string | undefined): void {
  if (text === undefined || !text.startsWith("[")) {
    count(c, `${kind} batch`, text === undefined ? outcomeOf(text) : outcomeOf(text));
    return;
  }
  for (const m of text.matchAll(/"error":\{"code":(-?\d+),"message":"([^"]*)"\}|"result":/g)) {
    count(c, kind, m[1] === undefined ? "ok" : `${m[1]} ${m[2]}`);
  }
}

/**
 * Runs the abuse against `ports` until `stop()` says so: per node, with `kinds.sims` 4 loops of eth_call into blake2f
 * (each call worth ~20 s of EVM work, capped by the node's time budget) and 1 loop of eth_createAccessList with gas
 * 2^64-1 on a tight loop; with `kinds.logs` 2 loops of batches of 100 eth_getLogs over the whole chain.
 */
export interface AbuseKinds {
  /** eth_call into blake2f and eth_createAccessList on a tight loop. */
  sims: boolean;
  /** batches of eth_getLogs. */
  logs: boolean;
}

export async function runAbuse(
  ports: number[],
  target: { loop: string; from: string },
  kinds: AbuseKinds,
  stop: () => boolean,
): Promise<AbuseCounts> {
  const c: AbuseCounts = { answers: {} };
  const loops: Promise<void>[] = [];
  const forever = (fn: () => Promise<void>) =>
    loops.push(
      (async () => {
        while (!stop()) await fn();
      })(),
    );
  let id = 1;
  for (const port of ports) {
    for (let i = 0; i < (kinds.sims ? 4 : 0); i++) {
      forever(async () => {
        const r = await postRaw(
          port,
          {
            jsonrpc: "2.0",
            id: id++,
            method: "eth_call",
            params: [
              { to: BLAKE_TARGET, data: BLAKE_INPUT, gas: "0x2faf080" },
              "latest",
              { [BLAKE_TARGET]: { code: BLAKE_CALLER } },
            ],
          },
          60_000,
        );
        count(c, "eth_call blake2f", outcomeOf(r));
      });
    }
    if (kinds.sims) {
      forever(async () => {
        const r = await postRaw(
          port,
          {
            jsonrpc: "2.0",
            id: id++,
            method: "eth_createAccessList",
            params: [{ from: target.from, to: target.loop, gas: "0xffffffffffffffff" }, "latest"],
          },
          60_000,
        );
        count(c, "eth_createAccessList loop", outcomeOf(r));
      });
    }
    for (let i = 0; i < (kinds.logs ? 2 : 0); i++) {
      forever(async () => {
        const batch = Array.from({ length: 100 }, () => ({
          jsonrpc: "2.0",
          id: id++,
          method: "eth_getLogs",
          params: [{ fromBlock: "0x0", toBlock: "latest", topics: [LOG_TOPIC] }],
        }));
        countBatch(c, "eth_getLogs in batch", await postRaw(port, batch, 60_000));
      });
    }
  }
  await Promise.all(loops);
  return c;
}
