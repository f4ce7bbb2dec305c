import { RLP } from "@ethereumjs/rlp";
import { bigIntToUnpaddedBytes, concatBytes, hexToBytes } from "@ethereumjs/util";
import { getBytes, keccak256, SigningKey, type TransactionRequest, Wallet } from "ethers";
import { expect } from "vitest";
import { DEV_KEYS as ALL_DEV_KEYS } from "../../../../genesis/devnet.js";
import {
  type AccountState,
  DEFAULT_MAX_TX_BYTES,
  DEFAULT_MEMPOOL_OPTIONS,
  type DecodeContext,
  decodeRawTransaction,
  isMempoolError,
  Mempool,
  type MempoolErrorCode,
  type MempoolOptions,
  type MempoolStateReader,
  type PooledTx,
} from "../../../../node/mempool/index.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";

export const CHAIN_ID = 1337n;
export const GWEI = 1_000_000_000n;
export const ETHER = 10n ** 18n;

/** Hardhat/Anvil dev accounts 0-4 (public test keys). */
export const DEV_KEYS = ALL_DEV_KEYS.slice(0, 5);

export const wallets = DEV_KEYS.map((k) => new Wallet(k));
export const [alice, bob, carol, dave, erin] = wallets;

export const common = createChainCommon(CHAIN_ID);
export const decodeCtx: DecodeContext = { common, chainId: CHAIN_ID, maxTxBytes: DEFAULT_MAX_TX_BYTES, clock: () => 0 };

const RECIPIENT = "0x000000000000000000000000000000000000dEaD";

export interface TxParams {
  nonce?: number;
  type?: 0 | 1 | 2;
  tip?: bigint;
  maxFee?: bigint;
  gasLimit?: bigint;
  value?: bigint;
  data?: string;
  chainId?: bigint;
}

/** Signs with ethers; `tip`/`maxFee` map to gasPrice (= maxFee) for types 0 and 1. */
export async function signTx(wallet: Wallet, p: TxParams = {}): Promise<Uint8Array> {
  const type = p.type ?? 2;
  const maxFee = p.maxFee ?? 10n * GWEI;
  const req: TransactionRequest = {
    type,
    chainId: p.chainId ?? CHAIN_ID,
    nonce: p.nonce ?? 0,
    to: RECIPIENT,
    gasLimit: p.gasLimit ?? 21_000n,
    value: p.value ?? 0n,
    data: p.data ?? "0x",
  };
  if (type === 2) {
    req.maxFeePerGas = maxFee;
    req.maxPriorityFeePerGas = p.tip ?? 1n * GWEI;
  } else {
    req.gasPrice = maxFee;
  }
  return getBytes(await wallet.signTransaction(req));
}

export async function pooledTx(wallet: Wallet, p: TxParams = {}): Promise<PooledTx> {
  return decodeRawTransaction(await signTx(wallet, p), decodeCtx);
}

export interface Raw1559Fields {
  chainId?: bigint;
  nonce?: bigint;
  tip: bigint;
  maxFee: bigint;
  gasLimit: bigint;
  data?: Uint8Array;
}

/**
 * Hand-built EIP-1559 envelope, for txs ethers and ethereumjs refuse to sign (tip above fee cap).
 * `mutate` may edit the signed field list (e.g. force a high-s signature) before encoding.
 */
export function signRaw1559(key: string, f: Raw1559Fields, mutate?: (fields: Uint8Array[]) => void): Uint8Array {
  const unsigned: (Uint8Array | Uint8Array[])[] = [
    bigIntToUnpaddedBytes(f.chainId ?? CHAIN_ID),
    bigIntToUnpaddedBytes(f.nonce ?? 0n),
    bigIntToUnpaddedBytes(f.tip),
    bigIntToUnpaddedBytes(f.maxFee),
    bigIntToUnpaddedBytes(f.gasLimit),
    hexToBytes(RECIPIENT),
    new Uint8Array(0),
    f.data ?? new Uint8Array(0),
    [],
  ];
  const digest = keccak256(concatBytes(Uint8Array.of(2), RLP.encode(unsigned)));
  const sig = new SigningKey(key).sign(digest);
  const fields = [
    ...unsigned,
    bigIntToUnpaddedBytes(BigInt(sig.yParity)),
    bigIntToUnpaddedBytes(BigInt(sig.r)),
    bigIntToUnpaddedBytes(BigInt(sig.s)),
  ] as Uint8Array[];
  mutate?.(fields);
  return concatBytes(Uint8Array.of(2), RLP.encode(fields));
}

/** Head state in a Map; each read yields to the event loop a seeded number of times so adds interleave. */
export class MemoryState implements MempoolStateReader {
  readonly nonces = new Map<string, bigint>();
  readonly balances = new Map<string, bigint>();
  reads = 0;
  private readonly rand: () => number;

  constructor(seed = 1) {
    this.rand = prng(seed);
    for (const w of wallets) this.balances.set(w.address.toLowerCase(), 1_000n * ETHER);
  }

  setNonce(address: string, nonce: bigint): void {
    this.nonces.set(address.toLowerCase(), nonce);
  }

  setBalance(address: string, balance: bigint): void {
    this.balances.set(address.toLowerCase(), balance);
  }

  async getAccount(address: string): Promise<AccountState> {
    await this.jitter();
    const a = address.toLowerCase();
    return { nonce: this.nonces.get(a) ?? 0n, balance: this.balances.get(a) ?? 0n };
  }

  private async jitter(): Promise<void> {
    this.reads++;
    const turns = Math.floor(this.rand() * 4);
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Test clock: starts at 1000 ms and ticks 1 ms per read, so admission times are distinct. */
export interface TestClock {
  now: number;
}

export function createPool(
  opts: Partial<MempoolOptions> = {},
  state: MemoryState = new MemoryState(),
): { pool: Mempool; state: MemoryState; clock: TestClock } {
  const clock: TestClock = { now: 1_000 };
  const pool = new Mempool({ ...DEFAULT_MEMPOOL_OPTIONS, ...opts }, { state, clock: () => clock.now++ });
  return { pool, state, clock };
}

/** mulberry32: a tiny seeded PRNG so shuffles and jitter are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], seed: number): T[] {
  const rand = prng(seed);
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Asserts a MempoolError with this code and exactly this message (geth's text). */
export async function expectMempoolError(
  run: Promise<unknown> | (() => unknown),
  code: MempoolErrorCode,
  message: string | RegExp,
): Promise<void> {
  let caught: unknown;
  try {
    await (typeof run === "function" ? run() : run);
  } catch (err) {
    caught = err;
  }
  expect(isMempoolError(caught), `expected a MempoolError, got ${String(caught)}`).toBe(true);
  if (!isMempoolError(caught)) return;
  expect(caught.code).toBe(code);
  if (typeof message === "string") expect(caught.message).toBe(message);
  else expect(caught.message).toMatch(message);
}

export function nonces(txs: readonly PooledTx[]): bigint[] {
  return txs.map((t) => t.nonce);
}
