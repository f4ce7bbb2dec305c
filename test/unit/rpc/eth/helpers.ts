/**
 * Shared fixtures for the per-method JSON-RPC conformance tests: raw `fetch` JSON-RPC posts (to check
 * exact wire shapes), ethers v6 wallets/contracts (to create state), a small WebSocket client, geth
 * wire-format matchers and an independent logs-bloom computation.
 */
import {
  ContractFactory,
  type InterfaceAbi,
  JsonRpcProvider,
  keccak256,
  type TransactionRequest,
  Wallet,
} from "ethers";
import { expect } from "vitest";
import { WebSocket } from "ws";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import { DEV_KEYS, startInProcessNode } from "../../../utils/devnode.js";

// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON from the wire.
export type Json = any;

export type TestNode = Awaited<ReturnType<typeof startInProcessNode>>;
export { DEV_KEYS, startInProcessNode };

export const CHAIN_ID = 16730n;
/** The devnet validator's fee recipient (`miner` of every produced block). */
export const FEE_RECIPIENT = "0x000000000000000000000000000000000000fee0";
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
export const ZERO_HASH = `0x${"00".repeat(32)}`;
/** An address that has never been touched on the devnet. */
export const UNUSED_ADDRESS = "0x00000000000000000000000000000000deadbeef";
/** A 32-byte hash that names no block or transaction. */
export const UNKNOWN_HASH = `0x${"ab".repeat(32)}`;

// --- geth wire formats -----------------------------------------------------------------------

/** Hex quantity: 0x-prefixed, lowercase, no leading zeros (`0x0` for zero). */
export const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/;
/** Hex data: 0x-prefixed, lowercase, an even number of digits. */
export const DATA = /^0x([0-9a-f]{2})*$/;
export const HASH = /^0x[0-9a-f]{64}$/;
export const ADDRESS = /^0x[0-9a-f]{40}$/;
export const BLOOM = /^0x[0-9a-f]{512}$/;

export const q = (v: bigint | number): string => `0x${v.toString(16)}`;
/** A 32-byte big-endian word. */
export const word = (v: bigint | number): string => `0x${v.toString(16).padStart(64, "0")}`;

// --- raw JSON-RPC ----------------------------------------------------------------------------

export interface RPCErrorObject {
  code: number;
  message: string;
  data?: Json;
}

export interface RPCResponse {
  jsonrpc: "2.0";
  id: Json;
  result?: Json;
  error?: RPCErrorObject;
}

let nextId = 1;

/** POSTs `body` verbatim (string) or JSON-encoded; returns status and parsed JSON (undefined for an empty body). */
export async function post(url: string, body: unknown): Promise<{ status: number; text: string; json: Json }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text.length > 0 ? JSON.parse(text) : undefined };
}

/** One JSON-RPC call over HTTP; returns the whole response envelope. */
export async function rpc(url: string, method: string, params?: unknown[]): Promise<RPCResponse> {
  const id = nextId++;
  const body = params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
  const { status, json } = await post(url, body);
  expect(status).toBe(200);
  expect(json).toMatchObject({ jsonrpc: "2.0", id });
  return json as RPCResponse;
}

/** The call's `result`; fails the test (with the error) when the call failed. */
export async function result(url: string, method: string, params?: unknown[]): Promise<Json> {
  const r = await rpc(url, method, params);
  if (r.error !== undefined) throw new Error(`${method} failed: ${JSON.stringify(r.error)}`);
  expect(Object.keys(r).sort()).toEqual(["id", "jsonrpc", "result"]);
  return r.result;
}

/** The call's `error`; fails the test when the call succeeded. */
export async function rpcError(url: string, method: string, params?: unknown[]): Promise<RPCErrorObject> {
  const r = await rpc(url, method, params);
  if (r.error === undefined) throw new Error(`${method} unexpectedly succeeded: ${JSON.stringify(r.result)}`);
  expect(Object.keys(r).sort()).toEqual(["error", "id", "jsonrpc"]);
  return r.error;
}

/** Several calls in ONE batch (the node answers them against the same head). Returns the results in order. */
export async function batchResults(url: string, calls: [string, unknown[]][]): Promise<Json[]> {
  const body = calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: i, method, params }));
  const { status, json } = await post(url, body);
  expect(status).toBe(200);
  expect(Array.isArray(json)).toBe(true);
  return calls.map((_, i) => {
    const r = (json as RPCResponse[]).find((x) => x.id === i);
    if (r === undefined || r.error !== undefined) throw new Error(`batch item ${i} failed: ${JSON.stringify(r)}`);
    return r.result;
  });
}

// --- ethers ----------------------------------------------------------------------------------

/** An ethers provider that never caches and never batches (each call is its own HTTP request). */
export function provider(url: string): JsonRpcProvider {
  // A short polling interval: tx.wait() notices a new block quickly (ethers' default polls every 4 s).
  return new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 });
}

/** Dev account `i` (funded with 1,000,000 ETH at genesis). */
export function devWallet(url: string, i: number, p: JsonRpcProvider = provider(url)): Wallet {
  return new Wallet(DEV_KEYS[i], p);
}

/** Node options for files that mine by hand: an hour-long block time, so blocks come only from evm_mine. */
export const MANUAL_MINING = { blockTimeMs: 3_600_000 } as const;

/** Signs `tx` with nonce, fees, gas and chain id filled in by ethers from the node, without sending it. */
export async function signTx(wallet: Wallet, tx: TransactionRequest): Promise<string> {
  return wallet.signTransaction(await wallet.populateTransaction(tx));
}

/** Signs and submits `tx` with eth_sendRawTransaction; returns the hash (not waiting for inclusion). */
export async function send(url: string, wallet: Wallet, tx: TransactionRequest): Promise<string> {
  return result(url, "eth_sendRawTransaction", [await signTx(wallet, tx)]);
}

/** evm_mine one block now; returns the new head (tx hashes only). */
export async function mine(url: string): Promise<Json> {
  expect(await result(url, "evm_mine", [])).toBe("0x0");
  return result(url, "eth_getBlockByNumber", ["latest", false]);
}

/** Polls (no fixed sleeps: one request after another) until `hash` has a receipt. */
export async function waitReceipt(url: string, hash: string): Promise<Json> {
  for (;;) {
    const r = await result(url, "eth_getTransactionReceipt", [hash]);
    if (r !== null) return r;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface Deployed {
  address: string;
  txHash: string;
  blockNumber: number;
  abi: InterfaceAbi;
}

/**
 * Deploys contract `name` (from contracts/artifacts) and waits for its receipt; with `manualMining`
 * the block is mined with evm_mine. Address lowercase.
 */
export async function deploy(
  wallet: Wallet,
  name: string,
  args: unknown[] = [],
  opts: { manualMining?: boolean } = {},
): Promise<Deployed> {
  const artifact = loadArtifact(name);
  const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode, wallet);
  const url = (wallet.provider as JsonRpcProvider)._getConnection().url;
  const hash = await send(url, wallet, await factory.getDeployTransaction(...args));
  if (opts.manualMining === true) await mine(url);
  const receipt = await waitReceipt(url, hash);
  if (receipt.status !== "0x1") throw new Error(`deploying ${name} failed`);
  return {
    address: receipt.contractAddress,
    txHash: hash,
    blockNumber: Number(receipt.blockNumber),
    abi: artifact.abi as InterfaceAbi,
  };
}

/** Init code that deploys `runtime` (< 256 bytes) verbatim: CODECOPY the tail, RETURN it. */
export function initCodeFor(runtime: string): string {
  const len = ((runtime.length - 2) / 2).toString(16).padStart(2, "0");
  // PUSH1 len PUSH1 10 PUSH0 CODECOPY PUSH1 len PUSH0 RETURN: 10 bytes before the runtime.
  return `0x60${len}600a5f3960${len}5ff3${runtime.slice(2)}`;
}

// --- shapes ----------------------------------------------------------------------------------

/** The keys geth puts in every block object (Azora adds its BFT fields beside them). */
export const GETH_BLOCK_KEYS = [
  "baseFeePerGas",
  "difficulty",
  "extraData",
  "gasLimit",
  "gasUsed",
  "hash",
  "logsBloom",
  "miner",
  "mixHash",
  "nonce",
  "number",
  "parentHash",
  "receiptsRoot",
  "sha3Uncles",
  "size",
  "stateRoot",
  "timestamp",
  "transactions",
  "transactionsRoot",
  "uncles",
];

export function expectBlockShape(b: Json): void {
  for (const k of GETH_BLOCK_KEYS) expect(b, `block.${k}`).toHaveProperty(k);
  expect(b).toMatchObject({
    number: expect.stringMatching(QUANTITY),
    hash: expect.stringMatching(HASH),
    parentHash: expect.stringMatching(HASH),
    nonce: "0x0000000000000000",
    sha3Uncles: "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
    logsBloom: expect.stringMatching(BLOOM),
    transactionsRoot: expect.stringMatching(HASH),
    stateRoot: expect.stringMatching(HASH),
    receiptsRoot: expect.stringMatching(HASH),
    miner: expect.stringMatching(ADDRESS),
    difficulty: "0x0",
    extraData: expect.stringMatching(DATA),
    size: expect.stringMatching(QUANTITY),
    gasLimit: expect.stringMatching(QUANTITY),
    gasUsed: expect.stringMatching(QUANTITY),
    timestamp: expect.stringMatching(QUANTITY),
    baseFeePerGas: expect.stringMatching(QUANTITY),
    mixHash: expect.stringMatching(HASH),
    uncles: [],
  });
  expect(Array.isArray(b.transactions)).toBe(true);
}

/** Fields of a transaction object as geth returns it; `mined` = with block location. */
export function expectTxShape(t: Json, mined: boolean): void {
  expect(t).toMatchObject({
    hash: expect.stringMatching(HASH),
    from: expect.stringMatching(ADDRESS),
    nonce: expect.stringMatching(QUANTITY),
    gas: expect.stringMatching(QUANTITY),
    gasPrice: expect.stringMatching(QUANTITY),
    value: expect.stringMatching(QUANTITY),
    input: expect.stringMatching(DATA),
    type: expect.stringMatching(QUANTITY),
    v: expect.stringMatching(QUANTITY),
    r: expect.stringMatching(QUANTITY),
    s: expect.stringMatching(QUANTITY),
  });
  expect(t.to === null || ADDRESS.test(t.to)).toBe(true);
  if (mined) {
    expect(t.blockHash).toMatch(HASH);
    expect(t.blockNumber).toMatch(QUANTITY);
    expect(t.blockTimestamp).toMatch(QUANTITY);
    expect(t.transactionIndex).toMatch(QUANTITY);
  } else {
    expect(t).toMatchObject({ blockHash: null, blockNumber: null, blockTimestamp: null, transactionIndex: null });
  }
  if (t.type === "0x2") {
    expect(t).toMatchObject({
      maxFeePerGas: expect.stringMatching(QUANTITY),
      maxPriorityFeePerGas: expect.stringMatching(QUANTITY),
      chainId: q(CHAIN_ID),
      accessList: expect.any(Array),
      yParity: expect.stringMatching(/^0x[01]$/),
    });
    expect(t.v).toBe(t.yParity);
  }
}

export function expectLogShape(l: Json): void {
  expect(Object.keys(l).sort()).toEqual([
    "address",
    "blockHash",
    "blockNumber",
    "data",
    "logIndex",
    "removed",
    "topics",
    "transactionHash",
    "transactionIndex",
  ]);
  expect(l).toMatchObject({
    address: expect.stringMatching(ADDRESS),
    data: expect.stringMatching(DATA),
    blockNumber: expect.stringMatching(QUANTITY),
    blockHash: expect.stringMatching(HASH),
    transactionHash: expect.stringMatching(HASH),
    transactionIndex: expect.stringMatching(QUANTITY),
    logIndex: expect.stringMatching(QUANTITY),
    removed: false,
  });
  for (const t of l.topics) expect(t).toMatch(HASH);
}

export function expectReceiptShape(r: Json): void {
  expect(r).toMatchObject({
    transactionHash: expect.stringMatching(HASH),
    transactionIndex: expect.stringMatching(QUANTITY),
    blockHash: expect.stringMatching(HASH),
    blockNumber: expect.stringMatching(QUANTITY),
    from: expect.stringMatching(ADDRESS),
    cumulativeGasUsed: expect.stringMatching(QUANTITY),
    gasUsed: expect.stringMatching(QUANTITY),
    logsBloom: expect.stringMatching(BLOOM),
    status: expect.stringMatching(/^0x[01]$/),
    effectiveGasPrice: expect.stringMatching(QUANTITY),
    type: expect.stringMatching(QUANTITY),
  });
  expect(r.to === null || ADDRESS.test(r.to)).toBe(true);
  expect(r.contractAddress === null || ADDRESS.test(r.contractAddress)).toBe(true);
  for (const l of r.logs) expectLogShape(l);
}

/** The 2048-bit logs bloom of `logs` (Yellow Paper M3:2048), computed independently of the node. */
export function bloomOf(logs: { address: string; topics: string[] }[]): string {
  const bloom = new Uint8Array(256);
  const add = (hex: string) => {
    const h = Buffer.from(keccak256(hex).slice(2), "hex");
    for (let i = 0; i < 6; i += 2) {
      const bit = ((h[i] << 8) | h[i + 1]) & 2047;
      bloom[255 - (bit >> 3)] |= 1 << (bit & 7);
    }
  };
  for (const l of logs) {
    add(l.address);
    for (const t of l.topics) add(t);
  }
  return `0x${Buffer.from(bloom).toString("hex")}`;
}

// --- WebSocket -------------------------------------------------------------------------------

/** A WebSocket JSON-RPC client that queues every received message. */
export class WSClient {
  readonly messages: Json[] = [];
  private waiters: { pred: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];
  private id = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      const w = this.waiters.find((x) => x.pred(msg));
      if (w === undefined) this.messages.push(msg);
      else {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    });
  }

  static async connect(url: string): Promise<WSClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WSClient(ws);
  }

  /** The first queued or future message matching `pred` (rejects after `timeoutMs`: a safety net only). */
  next(pred: (m: Json) => boolean, timeoutMs = 15_000): Promise<Json> {
    const i = this.messages.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a WebSocket message")), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** The next `eth_subscription` notification of `subscription`; its `result`. */
  async notification(subscription: string, pred: (result: Json) => boolean = () => true): Promise<Json> {
    const m = await this.next(
      (x) => x.method === "eth_subscription" && x.params?.subscription === subscription && pred(x.params.result),
    );
    expect(Object.keys(m).sort()).toEqual(["jsonrpc", "method", "params"]);
    return m.params.result;
  }

  async request(method: string, params?: unknown[]): Promise<RPCResponse> {
    const id = this.id++;
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    return this.next((m) => m.id === id);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return;
    const closed = new Promise((resolve) => this.ws.once("close", resolve));
    this.ws.close();
    await closed;
  }
}
