import { readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, spawnNode, tempDir } from "../utils/devnode.js";
import { waitFor } from "../utils/network.js";

/**
 * Issue 16, findings 1, 2 and 4 and its "Also" line, as an attacker would try them against a real
 * `azora dev` process with its default limits: each attack must be answered within its limits while
 * the node keeps producing blocks, answering other clients and staying within bounded memory.
 * Every test here fails against the code before the fix (the README's "JSON-RPC limits" section
 * names the limits they meet).
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON from the wire.
type Json = any;

/** rpc.gasCap's default. */
const GAS_CAP = 50_000_000n;
/** The node's peak resident memory must stay below this (it is ~300 MB idle; the attacks once took GBs). */
const PEAK_RSS_LIMIT_BYTES = 1.5 * 1024 ** 3;

let dataDir: string;
let node: NodeProcess;
let nextId = 1;

/** One JSON-RPC message over HTTP (optionally from another loopback address: another client). */
function post(body: unknown, opts: { localAddress?: string } = {}): Promise<{ text: string; json: Json }> {
  const url = new URL(node.url);
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: "POST",
        path: "/",
        localAddress: opts.localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ text, json: JSON.parse(text) });
          } catch (e) {
            reject(new Error(`not JSON (${text.length} chars): ${text.slice(0, 200)}`, { cause: e }));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const call = (method: string, params: unknown[] = []) => ({ jsonrpc: "2.0", id: nextId++, method, params });

async function result(method: string, params: unknown[] = []): Promise<Json> {
  const { json } = await post(call(method, params));
  if (json.error !== undefined) throw new Error(`${method}: ${json.error.message}`);
  return json.result;
}

const head = async () => Number(await result("eth_blockNumber"));

/** The node's peak resident set (VmHWM) so far. */
function peakRSSBytes(): number {
  const status = readFileSync(`/proc/${node.child.pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status);
  if (kb === null) throw new Error("no VmHWM in /proc status");
  return Number(kb[1]) * 1024;
}

/** The chain keeps going: `blocks` more blocks, and another client's calls answered meanwhile. */
async function expectLive(blocks = 2): Promise<void> {
  const from = await head();
  await waitFor(`${blocks} more blocks after ${from}`, async () => (await head()) >= from + blocks, 60_000);
  expect(await result("eth_chainId")).toBe(`0x${DEV_CHAIN_ID.toString(16)}`);
}

/**
 * Sends `body` and, until its answer arrives, polls the head from another request stream: true when
 * a new block was seen before the answer (the node kept producing blocks while serving it).
 */
async function blockDuring(body: unknown): Promise<{ answer: Json; blockSeen: boolean }> {
  const start = await head();
  let answered = false;
  let blockSeen = false;
  const pending = post(body).finally(() => {
    answered = true;
  });
  while (!answered) {
    const h = await head().catch(() => start);
    if (!answered && h > start) blockSeen = true;
    if (blockSeen) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { answer: (await pending).json, blockSeen };
}

// --- contracts as raw bytecode (no compiler needed) ------------------------------------------

/** Init code that deploys `runtime` (hex without 0x, < 256 bytes). */
function deployCode(runtime: string): string {
  const n = (runtime.length / 2).toString(16).padStart(2, "0");
  return `0x60${n}600c60003960${n}6000f3${runtime}`;
}

/** JUMPDEST PUSH1 0 JUMP: a loop that burns all the gas it gets. */
const TIGHT_LOOP = "5b600056";
/** Emits 100 LOG1 (topic 0xaa, 32 bytes of data: the counter) per call. */
const EMIT_100 = "60005b8060005260aa60206000a16001018060641160025700";
const LOG_TOPIC = `0x${"aa".padStart(64, "0")}`;

async function deploy(wallet: Wallet, runtime: string, nonce: number): Promise<string> {
  const raw = await wallet.signTransaction({
    type: 2,
    chainId: DEV_CHAIN_ID,
    nonce,
    data: deployCode(runtime),
    gasLimit: 200_000n,
    maxFeePerGas: 10n ** 11n,
    maxPriorityFeePerGas: 10n ** 9n,
  });
  const hash = await result("eth_sendRawTransaction", [raw]);
  const receipt = await waitFor("deploy receipt", () => result("eth_getTransactionReceipt", [hash]), 30_000);
  expect(receipt.status).toBe("0x1");
  return receipt.contractAddress;
}

/** Sends `count` calls to `to` from `wallet` (nonces from `nonce`), and waits for all receipts. */
async function sendCalls(wallet: Wallet, to: string, nonce: number, count: number): Promise<Json[]> {
  const hashes: string[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: DEV_CHAIN_ID,
      nonce: nonce + i,
      to,
      gasLimit: 500_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    hashes.push(await result("eth_sendRawTransaction", [raw]));
  }
  const receipts: Json[] = [];
  for (const h of hashes) {
    receipts.push(await waitFor(`receipt ${h}`, () => result("eth_getTransactionReceipt", [h]), 30_000));
  }
  return receipts;
}

let loop: string;
let emitter: string;
const deployer = new Wallet(DEV_KEYS[0]);
const spammer = new Wallet(DEV_KEYS[1]);
let spammerNonce = 0;

beforeAll(async () => {
  dataDir = tempDir("rpc-abuse");
  node = await spawnNode(dataDir, ["--block-time", "250"]);
  loop = await deploy(deployer, TIGHT_LOOP, 0);
  emitter = await deploy(deployer, EMIT_100, 1);
  // A few thousand logs on chain (finding 2 needs them).
  const receipts = await sendCalls(spammer, emitter, spammerNonce, 30);
  spammerNonce += 30;
  for (const r of receipts) expect(r.logs.length).toBe(100);
}, 120_000);

afterAll(async () => {
  if (node !== undefined) expect(await node.stop()).toBe(0);
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("RPC abuse against a real node (issue 16)", () => {
  it("finding 1: eth_createAccessList with gas 2^64-1 on a tight loop is capped at rpc.gasCap; blocks keep coming", async () => {
    const { answer, blockSeen } = await blockDuring(
      call("eth_createAccessList", [{ from: deployer.address, to: loop, gas: "0xffffffffffffffff" }, "latest"]),
    );
    // Either the capped run finished (out of gas at the cap), or it overran the EVM time budget.
    if (answer.error !== undefined) {
      expect(answer.error).toEqual({ code: -32000, message: "execution aborted (timeout = 5s)" });
    } else {
      expect(answer.result.error).toBe("out of gas");
      expect(BigInt(answer.result.gasUsed)).toBeLessThanOrEqual(GAS_CAP);
    }
    expect(blockSeen).toBe(true);
    await expectLive();
  });

  it("finding 4: a gas-capped eth_call into a precompile (blake2f, 40M rounds) is cut at rpc.evmTimeout while blocks keep coming", async () => {
    // One synchronous precompile call of ~40M gas (~20 s of CPU before the fix): only terminating
    // the thread that runs it can stop it; the same holds for ecMul in a loop.
    const rounds = (40_000_000).toString(16).padStart(8, "0");
    const input = `0x${rounds}${"00".repeat(64 + 128 + 16)}01`;
    // CALLDATACOPY the input, STATICCALL 0x09 with it, STOP.
    const caller = "0x366000600037604061010036600060095afa00";
    const target = "0x00000000000000000000000000000000000c0de0";
    const { answer, blockSeen } = await blockDuring(
      call("eth_call", [
        { to: target, data: input, gas: `0x${GAS_CAP.toString(16)}` },
        "latest",
        { [target]: { code: caller } },
      ]),
    );
    expect(answer.error).toEqual({ code: -32000, message: "execution aborted (timeout = 5s)" });
    expect(blockSeen).toBe(true);
    // The worker that ran it was replaced: simulations still answer (WAZR totalSupply).
    const supply = await result("eth_call", [{ to: "0x0000000000000000000000000000000000000A01", data: "0x18160ddd" }]);
    expect(BigInt(supply)).toBeGreaterThan(0n);
    await expectLive();
  });

  it("finding 2: one batch of 1,000 eth_getLogs is answered within rpc.maxResponseBytes, the rest refused unbuilt, memory bounded", async () => {
    const all = await result("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", topics: [LOG_TOPIC] }]);
    expect(all.length).toBeGreaterThanOrEqual(3000);
    const batch = Array.from({ length: 1000 }, () =>
      call("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", topics: [LOG_TOPIC] }]),
    );
    const { text, json } = await post(batch);
    expect(json).toHaveLength(1000);
    // Answered until the responses reach rpc.maxResponseBytes (or the batch's time is up); the
    // rest refused without being built: -32003 response too large, -32002 request timed out, or
    // -32005 past the batch's cost budget.
    const answered = json.filter((r: Json) => r.result !== undefined);
    const refusals = new Map<number, string>([
      [-32003, "response too large"],
      [-32002, "request timed out"],
      [-32005, "batch cost budget exceeded (limit 5000)"],
    ]);
    expect(answered.length).toBeGreaterThan(0);
    for (const r of answered) expect(r.result.length).toBe(all.length);
    for (const r of json) {
      if (r.error !== undefined) expect(r.error.message).toBe(refusals.get(r.error.code));
    }
    expect(json.filter((r: Json) => r.error?.code === -32003 || r.error?.code === -32002).length).toBeGreaterThan(0);
    expect(text.length).toBeLessThanOrEqual(25_000_000 + 1000 * 100);
    await expectLive();
    expect(peakRSSBytes()).toBeLessThan(PEAK_RSS_LIMIT_BYTES);
  });

  it("also: one client's 10,000 filters stop at its own quota; another client still gets filters", async () => {
    const attacker = { localAddress: "127.0.0.2" };
    let installed = 0;
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const { json } = await post(
        Array.from({ length: 1000 }, () => call("eth_newBlockFilter")),
        attacker,
      );
      for (const r of json) {
        if (r.result !== undefined) installed++;
        else {
          expect(r.error).toEqual({ code: -32005, message: "too many filters (limit 1000 per client)" });
          refused++;
        }
      }
    }
    expect(installed).toBe(1000);
    expect(refused).toBe(9000);
    const mine = await result("eth_newFilter", [{ address: emitter }]);
    expect(mine).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$/);
    expect(await result("eth_getFilterChanges", [mine])).toEqual([]);
  });

  it("also: a 4 MB method name is not echoed back", async () => {
    const name = "x".repeat(4 * 1024 * 1024);
    const { text, json } = await post(`{"jsonrpc":"2.0","id":7,"method":"${name}"}`);
    expect(json.error.code).toBe(-32601);
    expect(json.error.message).toMatch(/^the method x{64}… does not exist\/is not available$/);
    expect(text.length).toBeLessThan(1024);
    await expectLive(1);
  });

  it("also: 5 WebSocket connections × 1,000 logs subscriptions stop at the client's quota; another client's subscriptions and blocks keep coming", async () => {
    const attackers: WSClient[] = [];
    const observer = await WSClient.open(node.wsUrl, "127.0.0.1");
    try {
      let accepted = 0;
      for (let c = 0; c < 5; c++) {
        const ws = await WSClient.open(node.wsUrl, "127.0.0.3");
        attackers.push(ws);
        const replies = await ws.batch(
          Array.from({ length: 1000 }, () => call("eth_subscribe", ["logs", { address: emitter }])),
        );
        for (const r of replies) {
          if (r.result !== undefined) accepted++;
          else expect(r.error).toEqual({ code: -32005, message: "too many subscriptions (limit 1000 per client)" });
        }
      }
      expect(accepted).toBe(1000);
      const [logsSub] = await observer.batch([call("eth_subscribe", ["logs", { address: emitter }])]);
      const [headsSub] = await observer.batch([call("eth_subscribe", ["newHeads"])]);
      expect(logsSub.result).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$/);

      const [receipt] = await sendCalls(spammer, emitter, spammerNonce, 1);
      spammerNonce += 1;
      expect(receipt.logs.length).toBe(100);
      const txBlock = Number(receipt.blockNumber);
      // The other client gets its 100 logs and the next blocks' heads while the fan-out runs.
      await waitFor("the observer's 100 log notifications", () => observer.notified(logsSub.result) >= 100, 60_000);
      expect(observer.notified(logsSub.result)).toBe(100);
      await waitFor("newHeads past the tx's block", () => observer.lastHead(headsSub.result) >= txBlock + 3, 60_000);
      // The attacker gets each of its notifications once, unless it is cut off as a slow consumer.
      const attackerNotified = () => attackers.reduce((n, ws) => n + ws.notifiedTotal(), 0);
      await waitFor(
        "the attacker's 100,000 notifications, or its connection closed as a slow consumer (1008)",
        () => attackerNotified() === 1000 * 100 || attackers.some((ws) => ws.closeCode === 1008),
        60_000,
      );
      expect(attackerNotified()).toBeLessThanOrEqual(1000 * 100);
      await expectLive();
      expect(peakRSSBytes()).toBeLessThan(PEAK_RSS_LIMIT_BYTES);
    } finally {
      observer.close();
      for (const ws of attackers) ws.close();
    }
  });
});

/** A WebSocket client bound to a loopback address of its own (a distinct client for quotas). */
class WSClient {
  closeCode: number | null = null;
  private readonly counts = new Map<string, number>();
  private readonly heads = new Map<string, number>();
  private waiting: ((msg: Json[]) => void) | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"jsonrpc":"2.0","method":"eth_subscription"')) {
        const { subscription, result } = JSON.parse(text).params;
        this.counts.set(subscription, (this.counts.get(subscription) ?? 0) + 1);
        if (result?.number !== undefined) this.heads.set(subscription, Number(result.number));
        return;
      }
      const msg = JSON.parse(text);
      if (Array.isArray(msg) && this.waiting !== null) this.waiting(msg);
    });
    ws.on("close", (code) => {
      this.closeCode = code;
    });
  }

  static async open(url: string, localAddress: string): Promise<WSClient> {
    const ws = new WebSocket(url, { localAddress });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WSClient(ws);
  }

  /** Sends a batch and resolves with its array answer (one batch in flight at a time). */
  batch(calls: unknown[]): Promise<Json[]> {
    return new Promise((resolve) => {
      this.waiting = (msg) => {
        this.waiting = null;
        resolve(msg);
      };
      this.ws.send(JSON.stringify(calls));
    });
  }

  notified(subscription: string): number {
    return this.counts.get(subscription) ?? 0;
  }

  notifiedTotal(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  lastHead(subscription: string): number {
    return this.heads.get(subscription) ?? -1;
  }

  close(): void {
    this.ws.terminate();
  }
}
