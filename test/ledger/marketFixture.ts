/**
 * A dev node with the job market (0x…0A05) for test/ledger/market*.test.ts: wallets (the 10 dev
 * accounts plus funded HD accounts from the same mnemonic, so replay disputes find enough workers),
 * typed helpers for the market's calls, refusal checks with decoded custom errors and no state
 * change, events from receipts, exact block time control, and module gas from receipts.
 */
import {
  type BaseContract,
  Contract,
  encodeBytes32String,
  getAddress,
  HDNodeWallet,
  Interface,
  type InterfaceAbi,
  type JsonRpcProvider,
  type Log,
  parseEther,
  type TransactionReceipt,
  Wallet,
  ZeroAddress,
} from "ethers";
import { expect } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_MNEMONIC, devAccountPath } from "../../genesis/devnet.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { ledgerProvider } from "./helpers.js";

export const MARKET = getAddress("0x0000000000000000000000000000000000000a05");
export const LEARN = getAddress("0x0000000000000000000000000000000000000a02");
export const WAZR = getAddress("0x0000000000000000000000000000000000000a01");
export const KIND = encodeBytes32String("ai/onnx");
export const OTHER_KIND = encodeBytes32String("video/hls");
/** Gas limit for transactions meant to be refused (skips estimation, so the refusal is mined). */
export const REFUSED_GAS = 2_000_000n;

export const JobStatus = {
  None: 0n,
  Open: 1n,
  Claimed: 2n,
  Submitted: 3n,
  Challenged: 4n,
  Finalized: 5n,
  Refunded: 6n,
  Cancelled: 7n,
} as const;
export const SlotStatus = {
  Empty: 0n,
  Claimed: 1n,
  Committed: 2n,
  Revealed: 3n,
  Paid: 4n,
  Slashed: 5n,
  Expired: 6n,
} as const;
export const Mode = { RequesterAccept: 0n, Replay: 1n, Arbiter: 2n, Retrieval: 3n } as const;

/** The devnet's `modules.market` (genesis/devnet.json). */
export const DEVNET = {
  minWorkerStake: parseEther("10"),
  claimBondBps: 1000n,
  minClaimBond: parseEther("0.1"),
  feeBps: 100n,
  challengeBond: parseEther("1"),
  disputeWindow: 120n,
  unbondingPeriod: 15_000n,
  maxWindow: 3600n,
  maxRedundancy: 5n,
  slashBurnBps: 5000n,
  learnRewardPerJob: parseEther("1"),
  minWindow: 1n,
  feeRecipient: getAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
} as const;

export const marketAbi = loadArtifact("IJobMarket").abi as InterfaceAbi;
const learnAbi = [
  ...(loadArtifact("ILearn").abi as never[]),
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
];
/** Decodes market and LEARN (and WAZR) errors and events. */
export const decoder = new Interface([
  ...(marketAbi as never[]),
  ...learnAbi,
  ...(loadArtifact("IWAZR").abi as never[]).filter((f: { type: string }) => f.type !== "event"),
]);

export interface Spec {
  kind: string;
  specURI: string;
  inputHash: string;
  token: string;
  price: bigint;
  redundancy: bigint;
  claimWindow: bigint;
  deliverWindow: bigint;
  challengeWindow: bigint;
  verification: bigint;
  arbiter: string;
}

export function spec(overrides: Partial<Spec> = {}): Spec {
  return {
    kind: KIND,
    specURI: "ipfs://bafkreispec",
    inputHash: `0x${"ab".repeat(32)}`,
    token: ZeroAddress,
    price: parseEther("1"),
    redundancy: 1n,
    claimWindow: 600n,
    deliverWindow: 600n,
    challengeWindow: 600n,
    verification: Mode.RequesterAccept,
    arbiter: ZeroAddress,
    ...overrides,
  };
}

export const escrowOf = (s: Spec) => s.price * s.redundancy + feeOf(s);
export const feeOf = (s: Spec) => (s.price * s.redundancy * DEVNET.feeBps) / 10_000n;
export const bondOf = (price: bigint) => {
  const b = (price * DEVNET.claimBondBps) / 10_000n;
  return b > DEVNET.minClaimBond ? b : DEVNET.minClaimBond;
};

export type Fixture = Awaited<ReturnType<typeof startMarketFixture>>;

/**
 * Starts the node and funds `extra` more HD accounts (index 10 on) with 1,000 AZR and 10,000 LEARN
 * each from dev account 0.
 */
export async function startMarketFixture(extra = 0) {
  const node = await startInProcessNode();
  const provider = ledgerProvider(node.url);
  // Genesis has a fixed timestamp in the past: a fresh block brings chain time to the wall clock.
  await provider.send("evm_mine", []);
  const dev = DEV_KEYS.map((k) => new Wallet(k, provider));
  const more = Array.from({ length: extra }, (_, i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(10 + i)).connect(provider),
  );
  const market = new Contract(MARKET, decoder, provider);
  const learn = new Contract(LEARN, decoder, provider);
  const f = { node, provider, dev, more, market, learn };
  let nonce = await provider.getTransactionCount(dev[0].address);
  const funding: Promise<TransactionReceipt>[] = [];
  // Gas limits are given: 2 × `extra` concurrent eth_estimateGas calls queue on the node's one simulation worker,
  // and on a loaded CI machine some waited past the request timeout (ethers reports it as "missing revert data").
  for (const w of more) {
    funding.push(
      mined(
        provider,
        dev[0].sendTransaction({ to: w.address, value: parseEther("1000"), nonce: nonce++, gasLimit: 21_000n }),
      ),
    );
    funding.push(
      mined(
        provider,
        (learn.connect(dev[0]) as Contract).transfer(w.address, parseEther("10000"), {
          nonce: nonce++,
          gasLimit: 200_000n,
        }),
      ),
    );
  }
  for (const r of await Promise.all(funding)) expect(r.status).toBe(1);
  return f;
}

export async function stopMarketFixture(f: Fixture | undefined): Promise<void> {
  f?.provider.destroy();
  await f?.node.cleanup();
}

export const as = (c: Contract, w: Wallet | HDNodeWallet) => c.connect(w) as Contract;
export const addr = (x: Wallet | HDNodeWallet | BaseContract | string) =>
  typeof x === "string" ? x : "address" in x ? x.address : (x.target as string);

/** The receipt of `tx`, whatever its status (polled: ethers' wait can miss a block and wait seconds). */
export async function mined(
  provider: JsonRpcProvider,
  tx: { hash: string } | Promise<{ hash: string }>,
): Promise<TransactionReceipt> {
  const { hash } = await tx;
  for (let i = 0; ; i++) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt !== null) return receipt;
    if (i > 6000) throw new Error(`no receipt for ${hash}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The decoded revert of a failing call: [error name, args]. */
export async function revertOf(p: Promise<unknown>): Promise<[string, unknown[]]> {
  try {
    await p;
  } catch (e) {
    const data = (e as { data?: string }).data;
    if (data === undefined || data === null) throw e;
    if (data === "0x") return ["", []];
    const parsed = decoder.parseError(data);
    if (parsed === null) throw e;
    return [parsed.name, [...parsed.args]];
  }
  throw new Error("expected the call to revert");
}

/** Events of a receipt, decoded: [emitting address, name, args]. */
export function eventsOf(receipt: TransactionReceipt): [string, string, unknown[]][] {
  return receipt.logs.map((l: Log) => {
    const parsed = decoder.parseLog(l);
    if (parsed === null) throw new Error(`unknown log ${l.topics[0]}`);
    return [l.address, parsed.name, [...parsed.args]];
  });
}

/** The market's events of a receipt, by name: name → list of args. */
export function marketEvents(receipt: TransactionReceipt): Record<string, unknown[][]> {
  const out: Record<string, unknown[][]> = {};
  for (const [address, name, args] of eventsOf(receipt)) {
    if (address !== MARKET) continue;
    out[name] = [...(out[name] ?? []), args];
  }
  return out;
}

/**
 * Intrinsic gas of a call with calldata `data` (21,000 + 4 per zero byte + 16 per other byte): what
 * the module's own gas is added to in a receipt. (EIP-7623's calldata floor only matters when the
 * execution is cheaper than 6 gas per calldata token; every market call costs more than that.)
 */
export function intrinsic(data: string): bigint {
  const bytes = Buffer.from(data.slice(2), "hex");
  const zeros = BigInt(bytes.filter((b) => b === 0).length);
  const nonZeros = BigInt(bytes.length) - zeros;
  return 21_000n + zeros * 4n + nonZeros * 16n;
}

/** Plain JS copies of ethers Results (deep), for toEqual comparisons. */
export function plain(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v as unknown[], plain);
  return v;
}

/** Helpers bound to a fixture. */
export function marketHelpers(f: Fixture) {
  const { provider, market, learn } = f;

  const latestTs = async () => BigInt((await provider.getBlock("latest"))!.timestamp);

  /** Mines an empty block at exactly `ts` and returns its number (eth_call at it runs with now = ts). */
  const mineAt = async (ts: bigint): Promise<number> => {
    await provider.send("evm_mine", [Number(ts)]);
    const b = await provider.getBlock("latest");
    expect(BigInt(b!.timestamp)).toBe(ts);
    return b!.number;
  };

  /** Moves chain time to at least `ts` (mines a block at it). */
  const passTo = async (ts: bigint) => {
    const now = await latestTs();
    if (now < ts) await mineAt(ts);
  };

  const ok = async (tx: { hash: string } | Promise<{ hash: string }>) => {
    const r = await mined(provider, tx);
    expect(r.status, "transaction status").toBe(1);
    return r;
  };

  /** Module gas of a receipt (gasUsed minus the intrinsic cost of its calldata). */
  const moduleGas = async (r: TransactionReceipt) =>
    r.gasUsed - intrinsic((await provider.getTransaction(r.hash))!.data);

  const job = async (id: bigint, blockTag?: number) => plain(await market.job(id, { blockTag })) as JobView;
  const worker = async (a: string) => plain(await market.worker(a)) as unknown[];

  async function register(
    w: Wallet | HDNodeWallet,
    opts: { kinds?: string[]; stake?: bigint; endpoint?: string } = {},
  ) {
    return ok(
      as(market, w).registerWorker(opts.kinds ?? [KIND], opts.endpoint ?? `https://${w.address.slice(2, 10)}.example`, {
        value: opts.stake ?? DEVNET.minWorkerStake,
      }),
    );
  }

  async function post(from: Wallet | HDNodeWallet, overrides: Partial<Spec> = {}) {
    const s = spec(overrides);
    const escrowed = escrowOf(s);
    const learnJob = s.token === LEARN;
    let approval: TransactionReceipt | undefined;
    if (learnJob) approval = await ok(as(learn, from).approve(MARKET, escrowed));
    const value = learnJob ? 0n : escrowed;
    const receipt = await ok(as(market, from).post(s, { value }));
    const posted = marketEvents(receipt).JobPosted;
    expect(posted).toHaveLength(1);
    return { id: posted[0][0] as bigint, spec: s, escrowed, receipt, approval };
  }

  /** Everything a refused call must leave alone: the market's balances, counts and the named records. */
  async function snapshot(ids: bigint[], accounts: string[]) {
    const out: Record<string, unknown> = {
      marketAZR: await provider.getBalance(MARKET),
      marketLEARN: await learn.balanceOf(MARKET),
      jobCount: await market.jobCount(),
    };
    for (const id of ids) out[`job ${id}`] = await job(id);
    for (const a of accounts) {
      out[`AZR ${a}`] = await provider.getBalance(a);
      out[`LEARN ${a}`] = await learn.balanceOf(a);
      out[`worker ${a}`] = await worker(a);
      out[`credit AZR ${a}`] = await market.withdrawable(a, ZeroAddress);
      out[`credit LEARN ${a}`] = await market.withdrawable(a, LEARN);
    }
    return out;
  }

  /**
   * `method(...args)` by `from` must be refused with `expected`: decoded from eth_call, then mined
   * with status 0 and no change anywhere but its sender's fee.
   */
  async function expectRefused(
    from: Wallet | HDNodeWallet,
    method: string,
    args: unknown[],
    expected: [string, unknown[]],
    opts: { value?: bigint; ids?: bigint[]; accounts?: string[] } = {},
  ) {
    const c = as(market, from);
    const value = opts.value ?? 0n;
    const accounts = [from.address, ...(opts.accounts ?? [])];
    const before = await snapshot(opts.ids ?? [], accounts);
    expect(await revertOf(c.getFunction(method).staticCall(...args, { value }))).toEqual(expected);
    const r = await mined(provider, c.getFunction(method).send(...args, { value, gasLimit: REFUSED_GAS }));
    expect(r.status).toBe(0);
    const after = await snapshot(opts.ids ?? [], accounts);
    (before as Record<string, bigint>)[`AZR ${from.address}`] -= r.fee;
    expect(after).toEqual(before);
  }

  /** eth_call of `method` by `from` at block `blockTag`: its decoded revert ([name, args]) or "ok". */
  async function outcomeAt(from: Wallet | HDNodeWallet, method: string, args: unknown[], blockTag: number, value = 0n) {
    try {
      await as(market, from)
        .getFunction(method)
        .staticCall(...args, { blockTag, value });
      return "ok" as const;
    } catch (e) {
      return revertOf(Promise.reject(e));
    }
  }

  return {
    latestTs,
    mineAt,
    passTo,
    ok,
    moduleGas,
    job,
    worker,
    register,
    post,
    snapshot,
    expectRefused,
    outcomeAt,
  };
}

/** IJobMarket.JobView as plain arrays (field order of the struct). */
export type JobView = [
  string, // requester
  unknown[], // spec
  bigint, // status
  bigint, // postedAt
  bigint, // challengeEnds
  bigint, // fee
  unknown[][], // slots
  string, // challenger
  bigint, // challengeBond
  string[], // verifiers
  bigint, // disputeEnds
  bigint, // revealEnds
  string[], // votes
  boolean[], // voted
];
export const V = {
  requester: 0,
  spec: 1,
  status: 2,
  postedAt: 3,
  challengeEnds: 4,
  fee: 5,
  slots: 6,
  challenger: 7,
  challengeBond: 8,
  verifiers: 9,
  disputeEnds: 10,
  revealEnds: 11,
  votes: 12,
  voted: 13,
} as const;
/** Slot fields. */
export const S = {
  worker: 0,
  status: 1,
  claimedAt: 2,
  deliverBy: 3,
  bond: 4,
  commitment: 5,
  resultHash: 6,
  resultURI: 7,
} as const;
/** WorkerInfo fields. */
export const W = {
  registered: 0,
  endpoint: 1,
  kinds: 2,
  stake: 3,
  locked: 4,
  unbonding: 5,
  unbondingEnds: 6,
  jobsDone: 7,
  jobsSlashed: 8,
} as const;
