/**
 * A typed client of the job market for dApps and scripts (ethers v6): post a job (escrow in AZR or LEARN,
 * the spec document built and the input inlined or hosted), follow its status, download a result and check
 * it against its on-chain hash, settle (accept, challenge, finalize, reclaim, cancel, withdraw), and the
 * worker-side registration helpers. Works with any ethers Signer (a browser wallet, a Wallet on a
 * JsonRpcProvider) or, read-only, a Provider.
 */
import {
  Contract,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  JsonRpcProvider,
  NonceManager,
  type Provider,
  type Result,
  type Signer,
  Wallet,
} from "ethers";
import { ILearnAbi } from "../../contracts/artifacts/ILearn.js";
import {
  AZR_TOKEN,
  decodeJobView,
  decodeParams,
  decodeRevert,
  decodeWorkerInfo,
  escrowFor,
  hasDelivered,
  JobStatus,
  type JobView,
  kindToBytes32,
  LEARN_ADDRESS,
  MARKET_ADDRESS,
  type MarketParams,
  marketInterface,
  TERMINAL_JOB_STATUSES,
  Verification,
  type WorkerInfo,
} from "../runtime/chain/market.js";
import type { BlobStore } from "../runtime/content/blobStore.js";
import { cidFromSha256, sha256Hex } from "../runtime/content/cid.js";
import { fetchVerified } from "../runtime/content/fetcher.js";
import { errorCodeOf } from "../runtime/result.js";
import { encodeSpec, inlineSpecURI, type JobSpecDocument, MAX_INLINE_INPUT_BYTES, specFor } from "../runtime/spec.js";
import { ClientError, ClientErrorCode } from "./errors.js";

export type TokenName = "AZR" | "LEARN";

/** Where the client may put inputs (and specs) too large to travel inline: a store served at `url/blobs/<cid>`. */
export interface InputHost {
  store: BlobStore;
  url: string;
}

export interface PostJobOptions {
  kind: string;
  /** The input bytes, or the sha256 of an input already hosted elsewhere plus where to fetch it. */
  input: Uint8Array | { sha256: string; uris: string[]; size?: number };
  contentType?: string;
  /** The kind's parameters (spec document keys), e.g. `{ model: "0x…" }`. */
  params?: Record<string, unknown>;
  token?: TokenName | string;
  /** Price per slot, wei. */
  price: bigint;
  redundancy?: number;
  claimWindowSec?: number;
  deliverWindowSec?: number;
  challengeWindowSec?: number;
  verification?: Verification;
  arbiter?: string;
  /** Hosts inputs over the inline limit (and specs over the on-chain string limit). */
  host?: InputHost;
  /** For LEARN jobs: approve the market for the escrow when the allowance is short (default true). */
  approve?: boolean;
}

export interface PostedJob {
  id: bigint;
  txHash: string;
  /** price × redundancy + fee, as the JobPosted event reports it. */
  escrowed: bigint;
  specURI: string;
  inputHash: string;
  gasUsed: bigint;
  /** Gas of the LEARN approve, when one was needed. */
  approveGasUsed: bigint;
}

export interface JobResult {
  bytes: Uint8Array;
  resultHash: string;
  cid: string;
  worker: string;
  slot: number;
  source: string;
  /** Set when the worker reported the input as unusable (an error result), e.g. "INPUT_NOT_AUDIO". */
  errorCode?: string;
}

export const DEFAULT_WINDOWS = { claimWindowSec: 600, deliverWindowSec: 600, challengeWindowSec: 600 } as const;

export class MarketClient {
  readonly market: Contract;
  readonly learn: Contract;
  private paramsCache: MarketParams | undefined;

  constructor(
    readonly runner: ContractRunner,
    readonly marketAddress: string = MARKET_ADDRESS,
  ) {
    this.market = new Contract(marketAddress, marketInterface, runner);
    this.learn = new Contract(LEARN_ADDRESS, ILearnAbi, runner);
  }

  /**
   * Node convenience: a client on a JSON-RPC URL, signing with `privateKey` when given (through a NonceManager,
   * so concurrent calls get consecutive nonces).
   */
  static connect(rpcUrl: string, privateKey?: string): MarketClient {
    const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
    provider.pollingInterval = 250;
    return new MarketClient(privateKey === undefined ? provider : new NonceManager(new Wallet(privateKey, provider)));
  }

  get provider(): Provider {
    const p = this.runner.provider;
    if (p === null || p === undefined) throw new Error("the runner has no provider");
    return p;
  }

  private get signer(): Signer {
    const s = this.runner as Signer;
    if (typeof s.getAddress !== "function" || typeof s.sendTransaction !== "function")
      throw new ClientError({ code: ClientErrorCode.NO_SIGNER });
    return s;
  }

  async address(): Promise<string> {
    return this.signer.getAddress();
  }

  // ---- views ------------------------------------------------------------------------------------------

  async params(): Promise<MarketParams> {
    this.paramsCache ??= decodeParams((await this.view("params", [])) as Result);
    return this.paramsCache;
  }

  async job(id: bigint): Promise<JobView> {
    return decodeJobView(id, (await this.view("job", [id])) as Result);
  }

  async jobCount(): Promise<bigint> {
    return (await this.view("jobCount", [])) as bigint;
  }

  async worker(account: string): Promise<WorkerInfo> {
    return decodeWorkerInfo((await this.view("worker", [account])) as Result);
  }

  async withdrawable(account: string, token: TokenName | string = "AZR"): Promise<bigint> {
    return (await this.view("withdrawable", [account, tokenAddress(token)])) as bigint;
  }

  // ---- requester --------------------------------------------------------------------------------------

  /** Builds the spec, escrows price × redundancy + fee (approving LEARN if needed) and posts the job. */
  async post(o: PostJobOptions): Promise<PostedJob> {
    const job = await this.prepare(o, await this.params());
    const approveGasUsed = await this.approveLearn(job.token === LEARN_ADDRESS && o.approve !== false ? job.total : 0n);
    const receipt = await this.send(this.market, "post", [job.spec], {
      value: job.token === AZR_TOKEN ? job.total : 0n,
    });
    const ev = this.event(receipt, "JobPosted");
    return {
      id: ev.args.id as bigint,
      txHash: receipt.hash,
      escrowed: ev.args.escrowed as bigint,
      specURI: job.specURI,
      inputHash: job.inputHash,
      gasUsed: receipt.gasUsed,
      approveGasUsed,
    };
  }

  /**
   * Posts several jobs in one transaction (`postMany`, at most 64; all or none): value is the sum of the AZR
   * escrows, one approval covers the LEARN ones. `gasUsed` of each job is the transaction's divided by the jobs.
   */
  async postMany(os: PostJobOptions[]): Promise<PostedJob[]> {
    if (os.length === 0 || os.length > 64) throw new RangeError("postMany takes 1..64 jobs");
    const params = await this.params();
    const jobs = [];
    for (const o of os) jobs.push(await this.prepare(o, params));
    const learnTotal = jobs.reduce(
      (a, j, i) => a + (j.token === LEARN_ADDRESS && os[i].approve !== false ? j.total : 0n),
      0n,
    );
    const approveGasUsed = await this.approveLearn(learnTotal);
    const value = jobs.reduce((a, j) => a + (j.token === AZR_TOKEN ? j.total : 0n), 0n);
    const receipt = await this.send(this.market, "postMany", [jobs.map((j) => j.spec)], { value });
    const posted = this.events(receipt, "JobPosted");
    return jobs.map((j, i) => ({
      id: posted[i].args.id as bigint,
      txHash: receipt.hash,
      escrowed: posted[i].args.escrowed as bigint,
      specURI: j.specURI,
      inputHash: j.inputHash,
      gasUsed: receipt.gasUsed / BigInt(jobs.length),
      approveGasUsed: approveGasUsed / BigInt(jobs.length),
    }));
  }

  /** Raises the LEARN allowance to `total` when below it; the approval's gas (0 when none was needed). */
  private async approveLearn(total: bigint): Promise<bigint> {
    if (total === 0n) return 0n;
    const me = await this.address();
    const allowance = (await this.learn.allowance(me, this.marketAddress)) as bigint;
    if (allowance >= total) return 0n;
    return (await this.send(this.learn, "approve", [this.marketAddress, total])).gasUsed;
  }

  /** The on-chain JobSpec of a post, its escrow and token. */
  private async prepare(o: PostJobOptions, params: MarketParams) {
    const redundancy = o.redundancy ?? 1;
    const token = tokenAddress(o.token ?? "AZR");
    const { doc, inputHash } = await this.buildSpec(o);
    const specURI = await this.specURIOf(doc, o.host);
    const { total } = escrowFor(o.price, redundancy, params);
    const spec = {
      kind: kindToBytes32(o.kind),
      specURI,
      inputHash,
      token,
      price: o.price,
      redundancy,
      claimWindow: o.claimWindowSec ?? DEFAULT_WINDOWS.claimWindowSec,
      deliverWindow: o.deliverWindowSec ?? DEFAULT_WINDOWS.deliverWindowSec,
      challengeWindow: o.challengeWindowSec ?? DEFAULT_WINDOWS.challengeWindowSec,
      verification: o.verification ?? Verification.RequesterAccept,
      arbiter: o.arbiter ?? AZR_TOKEN,
    };
    return { spec, total, token, specURI, inputHash };
  }

  /** The spec document and inputHash a post would use (inline input when small, else hosted). */
  async buildSpec(
    o: Pick<PostJobOptions, "kind" | "input" | "contentType" | "params" | "host">,
  ): Promise<{ doc: JobSpecDocument; inputHash: string }> {
    if (o.input instanceof Uint8Array) {
      const bytes = o.input;
      if (bytes.length <= MAX_INLINE_INPUT_BYTES)
        return specFor(o.kind, bytes, { contentType: o.contentType, params: o.params });
      if (o.host === undefined)
        throw new ClientError({
          code: ClientErrorCode.INPUT_NEEDS_HOST,
          size: bytes.length,
          inlineLimit: MAX_INLINE_INPUT_BYTES,
        });
      const cid = cidFromSha256(sha256Hex(bytes)).toString();
      await o.host.store.put(bytes, o.contentType);
      return specFor(o.kind, bytes, {
        contentType: o.contentType,
        params: o.params,
        hostedURIs: [`${o.host.url.replace(/\/+$/, "")}/blobs/${cid}`],
      });
    }
    const { doc } = specFor(o.kind, new Uint8Array(), {
      contentType: o.contentType,
      params: o.params,
      hostedURIs: o.input.uris,
    });
    if (o.input.size !== undefined) doc.azora.input.size = o.input.size;
    else delete doc.azora.input.size;
    return { doc, inputHash: o.input.sha256.toLowerCase() };
  }

  private async specURIOf(doc: JobSpecDocument, host: InputHost | undefined): Promise<string> {
    const inline = inlineSpecURI(doc);
    if (inline !== undefined) return inline;
    if (host === undefined)
      throw new ClientError({
        code: ClientErrorCode.INPUT_NEEDS_HOST,
        size: encodeSpec(doc).length,
        inlineLimit: 4000,
      });
    const stored = await host.store.put(encodeSpec(doc), "application/json");
    return `${host.url.replace(/\/+$/, "")}/blobs/${stored.cid}`;
  }

  async accept(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "accept", [id]);
  }

  /**
   * Accepts several delivered jobs in one transaction (`acceptMany`, at most 64, best-effort): the ids accepted,
   * and the ones the market skipped with the custom error `accept` would have reverted with.
   */
  async acceptMany(ids: bigint[]): Promise<{
    receipt: ContractTransactionReceipt;
    accepted: bigint[];
    skipped: { id: bigint; error: string }[];
  }> {
    const receipt = await this.send(this.market, "acceptMany", [ids]);
    return {
      receipt,
      accepted: this.events(receipt, "JobAccepted").map((e) => e.args.id as bigint),
      skipped: this.events(receipt, "BatchItemSkipped").map((e) => ({
        id: e.args.id as bigint,
        error: decodeRevert(e.args.reason as string)?.name ?? "Reverted",
      })),
    };
  }

  /** Challenges a delivered result, posting the market's challenge bond (AZR). */
  async challenge(id: bigint, evidenceURI = ""): Promise<ContractTransactionReceipt> {
    const { challengeBond } = await this.params();
    return this.send(this.market, "challenge", [id, evidenceURI], { value: challengeBond });
  }

  async cancel(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "cancel", [id]);
  }

  async finalize(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "finalize", [id]);
  }

  async reclaim(id: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "reclaim", [id]);
  }

  async resolve(id: bigint, workerBps: number): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "resolve", [id, workerBps]);
  }

  async withdraw(token: TokenName | string = "AZR"): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "withdraw", [tokenAddress(token)]);
  }

  /** Polls until `until(job)` holds (default: the job is settled or delivered). */
  async waitFor(
    id: bigint,
    until: (job: JobView) => boolean = (j) => TERMINAL_JOB_STATUSES.has(j.status) || j.status === JobStatus.Submitted,
    opts: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<JobView> {
    const started = Date.now();
    const timeoutMs = opts.timeoutMs ?? 600_000;
    for (;;) {
      const j = await this.job(id);
      if (until(j)) return j;
      if (Date.now() - started > timeoutMs)
        throw new ClientError({
          code: ClientErrorCode.TIMEOUT,
          id: id.toString(),
          waitedMs: Date.now() - started,
          status: JobStatus[j.status],
        });
      opts.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  }

  /** Calls `onChange` whenever the job's status or any slot's status changes; returns a stop function. */
  watch(id: bigint, onChange: (job: JobView) => void, opts: { pollMs?: number } = {}): () => void {
    let stopped = false;
    let last = "";
    const loop = async () => {
      while (!stopped) {
        try {
          const j = await this.job(id);
          const sig = `${j.status}/${j.slots.map((s) => s.status).join(",")}`;
          if (sig !== last) {
            last = sig;
            onChange(j);
          }
          if (TERMINAL_JOB_STATUSES.has(j.status)) return;
        } catch {
          // transient: retry
        }
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
      }
    };
    void loop();
    return () => {
      stopped = true;
    };
  }

  /**
   * Downloads a delivered result and checks it against its on-chain hash: from the slot's resultURI, then
   * from the worker's registered endpoint, then from the given gateways (base URLs serving /blobs/<cid>).
   */
  async result(
    id: bigint,
    opts: { slot?: number; gateways?: string[]; maxBytes?: number; timeoutMs?: number } = {},
  ): Promise<JobResult> {
    const job = await this.job(id);
    const delivered = job.slots
      .map((s, i) => ({ s, i }))
      .filter(
        ({ s, i }) =>
          hasDelivered(s.status) && s.resultHash !== ZERO_HASH && (opts.slot === undefined || opts.slot === i),
      );
    if (delivered.length === 0) throw new ClientError({ code: ClientErrorCode.NOT_DELIVERED, id: id.toString() });
    const { s, i } = delivered[0];
    const cid = cidFromSha256(s.resultHash).toString();
    const sources = [s.resultURI];
    const info = await this.worker(s.worker).catch(() => undefined);
    if (info?.endpoint) sources.push(`${info.endpoint.replace(/\/+$/, "")}/blobs/${cid}`);
    for (const g of opts.gateways ?? []) sources.push(`${g.replace(/\/+$/, "")}/blobs/${cid}`);
    const got = await fetchVerified(
      sources.filter((u) => u !== ""),
      s.resultHash,
      { maxBytes: opts.maxBytes ?? 256 * 1024 * 1024, timeoutMs: opts.timeoutMs ?? 30_000 },
    );
    const errorCode = errorCodeOf(got.bytes);
    return {
      bytes: got.bytes,
      resultHash: s.resultHash,
      cid,
      worker: s.worker,
      slot: i,
      source: got.source,
      ...(errorCode === undefined ? {} : { errorCode }),
    };
  }

  // ---- workers ----------------------------------------------------------------------------------------

  async registerWorker(kinds: string[], endpoint: string, stake: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "registerWorker", [kinds.map(kindToBytes32), endpoint], { value: stake });
  }

  async addStake(amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "addStake", [], { value: amount });
  }

  async beginUnbond(amount: bigint): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "beginUnbond", [amount]);
  }

  async withdrawUnbonded(): Promise<ContractTransactionReceipt> {
    return this.send(this.market, "withdrawUnbonded", []);
  }

  // ---- plumbing ---------------------------------------------------------------------------------------

  private async view(fn: string, args: unknown[]): Promise<unknown> {
    try {
      return await this.market.getFunction(fn).staticCall(...args);
    } catch (e) {
      throw toClientError(fn, e);
    }
  }

  /** Sends a transaction and waits for its receipt; reverts become ClientError MARKET_REVERT. */
  async send(
    contract: Contract,
    fn: string,
    args: unknown[],
    overrides: { value?: bigint } = {},
  ): Promise<ContractTransactionReceipt> {
    void this.signer; // throws NO_SIGNER for a read-only client
    let tx: ContractTransactionResponse;
    try {
      tx = (await contract.getFunction(fn)(...args, overrides)) as ContractTransactionResponse;
    } catch (e) {
      // a NonceManager counted a nonce for a transaction that was never sent: re-read it from the chain
      if (this.runner instanceof NonceManager) this.runner.reset();
      throw toClientError(fn, e);
    }
    const receipt = await tx.wait();
    if (receipt === null) throw new Error(`${fn}: no receipt`);
    return receipt;
  }

  /** Every event `name` the market emitted in a receipt, in order. */
  events(receipt: ContractTransactionReceipt, name: string) {
    const out = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.marketAddress.toLowerCase()) continue;
      const ev = marketInterface.parseLog(log);
      if (ev?.name === name) out.push(ev);
    }
    return out;
  }

  /** The first event `name` the market emitted in a receipt. */
  event(receipt: ContractTransactionReceipt, name: string) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.marketAddress.toLowerCase()) continue;
      const ev = marketInterface.parseLog(log);
      if (ev?.name === name) return ev;
    }
    throw new Error(`no ${name} event in ${receipt.hash}`);
  }
}

const ZERO_HASH = `0x${"0".repeat(64)}`;

export function tokenAddress(token: TokenName | string): string {
  if (token === "AZR") return AZR_TOKEN;
  if (token === "LEARN") return LEARN_ADDRESS;
  return token;
}

function toClientError(fn: string, e: unknown): unknown {
  const err = e as {
    code?: string;
    data?: string;
    revert?: { name: string; args: unknown[] };
    info?: { error?: { data?: string } };
  };
  if (err.code === "CALL_EXCEPTION" || err.revert !== undefined) {
    const d = err.revert ?? decodeRevert(err.data ?? err.info?.error?.data);
    if (d !== undefined)
      return new ClientError(
        { code: ClientErrorCode.MARKET_REVERT, fn, error: d.name, args: d.args.map((a) => String(a)) },
        `${fn} reverted: ${d.name}(${d.args.map((a) => String(a)).join(", ")})`,
      );
  }
  return e;
}
