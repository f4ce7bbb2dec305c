import { keccak256 } from "../../runtime/primitives/hash.js";
import type { BlockRef, EthBackend, LogFilter } from "../backend.js";
import { ExecutionRevertedError, InvalidParamsError, LimitExceededError, ServerError } from "../errors.js";
import { formatBlock, formatReceiptJSON, formatReceiptsJSON, formatTransactionJSON } from "../format.js";
import { hexToBytes, toHexData, toHexQuantity } from "../hex.js";
import { RawJSON } from "../jsonrpc.js";
import { LogQueries } from "../logQuery.js";
import { parseQuantity } from "../params.js";
import { parseSimulateRequest, planBlocks } from "../simulate.js";
import { type BlockTagOrHash, defineMethod, type FilterCriteria, type MethodTable } from "../types.js";

const LATEST: BlockTagOrHash = { kind: "tag", tag: "latest" };
/** EIP-4844's MIN_BASE_FEE_PER_BLOB_GAS: the blob base fee of a chain whose blocks carry no blobs. */
const MIN_BLOB_BASE_FEE = 1n;
/** eth_feeHistory: at most this many blocks per call (geth: 1024). */
export const MAX_FEE_HISTORY_BLOCKS = 1024;
/** eth_getLogs range cap (blocks); more → -32005. The result cap is the backend's. */
export const DEFAULT_LOGS_MAX_BLOCK_RANGE = 10_000n;
/**
 * Costs in a batch's cost budget (`MethodDef.cost`; 1 for everything else): a simulation holds a
 * worker for up to the EVM timeout, a log query reads up to the block range.
 */
export const SIMULATION_COST = 5;
/** eth_simulateV1 runs up to 256 blocks of calls on one worker. */
export const SIMULATE_V1_COST = 20;
export const LOG_QUERY_COST = 10;

export interface EthMethodsOptions {
  /** Blocks one eth_getLogs may span (default 10,000). */
  logsMaxBlockRange: bigint;
  /** Runs log queries; share one with the filter methods. */
  logQueries?: LogQueries;
}

export const bytes = (h: string): Uint8Array => hexToBytes(h) as Uint8Array;

/**
 * Resolves a block selector or throws geth's -32000 for state queries: `header not found` for a
 * number, `header for hash not found` for a hash.
 */
export async function requireBlock(backend: EthBackend, sel: BlockTagOrHash | undefined): Promise<BlockRef> {
  const ref = await backend.resolveBlock(sel ?? LATEST);
  if (ref === undefined) throw new ServerError(sel?.kind === "hash" ? "header for hash not found" : "header not found");
  return ref;
}

/** Turns filter criteria into the backend's byte form; topics positions keep their OR sets. */
export function toLogFilter(f: FilterCriteria): LogFilter {
  return {
    addresses: (f.address ?? []).map(bytes),
    topics: (f.topics ?? []).map((t) => (t === null ? null : Array.isArray(t) ? t.map(bytes) : [bytes(t)])),
  };
}

/** Resolves fromBlock/toBlock (default latest) to numbers, capped at the head. */
export async function resolveLogRange(
  backend: EthBackend,
  f: FilterCriteria,
): Promise<{ fromBlock: bigint; toBlock: bigint } | { blockHash: Uint8Array }> {
  if (f.blockHash !== undefined) {
    // geth answers an unknown block hash with an error, not with an empty list.
    if ((await backend.resolveBlock({ kind: "hash", hash: f.blockHash })) === undefined)
      throw new ServerError("unknown block");
    return { blockHash: bytes(f.blockHash) };
  }
  const head = backend.headNumber();
  const from = f.fromBlock === undefined ? head : await tagNumber(backend, f.fromBlock, head);
  const to = f.toBlock === undefined ? head : await tagNumber(backend, f.toBlock, head);
  if (from > to) throw new ServerError("invalid block range params");
  return { fromBlock: from, toBlock: to > head ? head : to };
}

async function tagNumber(backend: EthBackend, tag: BlockTagOrHash, head: bigint): Promise<bigint> {
  if (tag.kind === "number") return tag.number;
  if (tag.kind === "tag" && tag.tag === "earliest") return 0n;
  if (tag.kind === "tag") return head;
  const ref = await backend.resolveBlock(tag);
  if (ref === undefined) throw new ServerError("header not found");
  return ref.header.number;
}

/**
 * A storage slot as geth's `decodeHash` reads it: optional 0x, any length up to 32 bytes (odd
 * lengths and leading zeros allowed, so both `0x0` and a 32-byte hash work), left-padded to 32 bytes.
 */
function decodeStorageKey(s: string, what: string): Uint8Array {
  let digits = s.startsWith("0x") || s.startsWith("0X") ? s.slice(2) : s;
  if (digits.length % 2 !== 0) digits = `0${digits}`;
  const b = hexToBytes(digits);
  if (b === undefined) throw new InvalidParamsError(`${what}: hex string invalid`);
  if (b.length > 32) throw new InvalidParamsError(`${what}: hex string too long, want at most 32 bytes`);
  const key = new Uint8Array(32);
  key.set(b, 32 - b.length);
  return key;
}

/**
 * eth_getProof keys as geth reads them (`[]string`, each like eth_getStorageAt's slot). geth echoes
 * a 32-byte key as given and answers any shorter one as a quantity.
 */
function parseProofKeys(v: unknown): { key: Uint8Array; output: string }[] {
  const what = "invalid argument 1 (storageKeys)";
  if (v === null) return [];
  if (!Array.isArray(v)) {
    const kind = typeof v === "object" ? "object" : typeof v === "boolean" ? "bool" : typeof v;
    throw new InvalidParamsError(`${what}: json: cannot unmarshal ${kind} into Go value of type []string`);
  }
  if (v.length > 1024) throw new InvalidParamsError(`${what}: at most 1024 keys`);
  return v.map((k, i) => {
    if (typeof k !== "string") {
      const kind = k === null ? "null" : Array.isArray(k) ? "array" : typeof k === "boolean" ? "bool" : typeof k;
      throw new InvalidParamsError(`${what}: [${i}]: json: cannot unmarshal ${kind} into Go value of type string`);
    }
    const key = decodeStorageKey(k, `${what}: [${i}]`);
    const digits = k.startsWith("0x") || k.startsWith("0X") ? k.length - 2 : k.length;
    return { key, output: digits === 64 ? toHexData(key) : toHexQuantity(BigInt(toHexData(key))) };
  });
}

function parseBlockCount(v: unknown): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  try {
    return parseQuantity(v, 64);
  } catch (e) {
    if (e instanceof InvalidParamsError) throw new InvalidParamsError(`invalid argument 0 (blockCount): ${e.message}`);
    throw e;
  }
}

function parsePercentiles(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 100)
    throw new InvalidParamsError("invalid argument 2 (rewardPercentiles): expected an array of at most 100 numbers");
  let prev = -1;
  return v.map((p) => {
    if (typeof p !== "number" || !(p >= 0 && p <= 100) || p < prev) {
      throw new InvalidParamsError(
        "invalid argument 2 (rewardPercentiles): percentiles must be ascending numbers in [0, 100]",
      );
    }
    prev = p;
    return p;
  });
}

/** The read and write methods of the `eth_` namespace (filters and subscriptions live beside). */
export function createEthMethods(
  backend: EthBackend,
  opts: EthMethodsOptions = { logsMaxBlockRange: DEFAULT_LOGS_MAX_BLOCK_RANGE },
): MethodTable {
  const logQueries = opts.logQueries ?? new LogQueries();
  return {
    eth_chainId: defineMethod([], () => toHexQuantity(backend.chainId)),
    eth_blockNumber: defineMethod([], () => toHexQuantity(backend.headNumber())),
    eth_syncing: defineMethod([], () => false),
    eth_accounts: defineMethod([], () => []),
    eth_mining: defineMethod([], () => false),
    eth_hashrate: defineMethod([], () => "0x0"),
    eth_gasPrice: defineMethod([], () => toHexQuantity(backend.nextBaseFee() + backend.suggestedTip())),
    eth_maxPriorityFeePerGas: defineMethod([], () => toHexQuantity(backend.suggestedTip())),
    // Azora has no blob transactions; the EVM's BLOBBASEFEE reads the minimum blob base fee (1 wei,
    // excess blob gas 0), and that is what is answered, so the two agree.
    eth_blobBaseFee: defineMethod([], () => toHexQuantity(MIN_BLOB_BASE_FEE)),

    eth_feeHistory: defineMethod(
      [
        { name: "blockCount", type: "any" },
        { name: "newestBlock", type: "blockTag" },
        { name: "rewardPercentiles", type: "any", optional: true },
      ],
      async ([countRaw, newest, pct]) => {
        // geth accepts the count as a hex quantity or a plain JSON number.
        const count = parseBlockCount(countRaw);
        const percentiles = parsePercentiles(pct);
        const ref = await requireBlock(backend, newest);
        const n = Number(count > BigInt(MAX_FEE_HISTORY_BLOCKS) ? BigInt(MAX_FEE_HISTORY_BLOCKS) : count);
        const h = await backend.feeHistory(n, ref, percentiles);
        const out: Record<string, unknown> = {
          oldestBlock: toHexQuantity(h.oldestBlock),
          baseFeePerGas: h.baseFeePerGas.map(toHexQuantity),
          gasUsedRatio: h.gasUsedRatio,
        };
        if (h.reward !== undefined) out.reward = h.reward.map((r) => r.map(toHexQuantity));
        return out;
      },
    ),

    eth_getBalance: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([address, block]) =>
        toHexQuantity((await backend.getAccount(await requireBlock(backend, block), bytes(address))).balance),
    ),
    eth_getTransactionCount: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([address, block]) => {
        if (block?.kind === "tag" && block.tag === "pending")
          return toHexQuantity(await backend.pendingNonce(bytes(address)));
        return toHexQuantity((await backend.getAccount(await requireBlock(backend, block), bytes(address))).nonce);
      },
    ),
    eth_getCode: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([address, block]) => toHexData(await backend.getCode(await requireBlock(backend, block), bytes(address))),
    ),
    eth_getStorageAt: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "slot", type: "string" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([address, slot, block]) => {
        const key = decodeStorageKey(slot, "invalid argument 1 (slot)");
        const value = await backend.getStorage(await requireBlock(backend, block), bytes(address), key);
        const word = new Uint8Array(32);
        word.set(value, 32 - value.length);
        return toHexData(word);
      },
    ),
    eth_getProof: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "storageKeys", type: "any" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([address, rawKeys, block]) => {
        const keys = parseProofKeys(rawKeys);
        const p = await backend.getProof(
          await requireBlock(backend, block),
          bytes(address),
          keys.map((k) => k.key),
        );
        return {
          address: p.address,
          balance: toHexQuantity(p.balance),
          nonce: toHexQuantity(p.nonce),
          codeHash: p.codeHash,
          storageHash: p.storageHash,
          accountProof: p.accountProof,
          storageProof: p.storageProof.map((s, i) => ({
            key: keys[i].output,
            value: toHexQuantity(s.value),
            proof: s.proof,
          })),
        };
      },
    ),

    eth_call: defineMethod(
      [
        { name: "transaction", type: "callRequest" },
        { name: "block", type: "blockTagOrHash", optional: true },
        { name: "stateOverrides", type: "stateOverride", optional: true },
      ],
      async ([req, block, overrides], ctx) => {
        const out = await backend.call(await requireBlock(backend, block), req, overrides, ctx.budget);
        if (out.reverted) throw new ExecutionRevertedError(out.returnValue);
        if (out.error !== undefined) throw new ServerError(out.error);
        return toHexData(out.returnValue);
      },
      { cost: SIMULATION_COST },
    ),
    eth_estimateGas: defineMethod(
      [
        { name: "transaction", type: "callRequest" },
        { name: "block", type: "blockTagOrHash", optional: true },
        { name: "stateOverrides", type: "stateOverride", optional: true },
      ],
      async ([req, block, overrides], ctx) =>
        toHexQuantity(await backend.estimateGas(await requireBlock(backend, block), req, overrides, ctx.budget)),
      { cost: SIMULATION_COST },
    ),
    eth_createAccessList: defineMethod(
      [
        { name: "transaction", type: "callRequest" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([req, block], ctx) => {
        const r = await backend.createAccessList(await requireBlock(backend, block), req, ctx.budget);
        const out: Record<string, unknown> = { accessList: r.accessList, gasUsed: toHexQuantity(r.gasUsed) };
        if (r.error !== undefined) out.error = r.error;
        return out;
      },
      { cost: SIMULATION_COST },
    ),
    eth_simulateV1: defineMethod(
      [
        { name: "payload", type: "any" },
        { name: "block", type: "blockTagOrHash", optional: true },
      ],
      async ([raw, block], ctx) => {
        const req = parseSimulateRequest(raw);
        const base = await requireBlock(backend, block);
        const blocks = planBlocks(req, base.header);
        const opts = { validation: req.validation, returnFullTransactions: req.returnFullTransactions };
        return new RawJSON(await backend.simulateV1(base, blocks, opts, ctx.budget));
      },
      { cost: SIMULATE_V1_COST },
    ),
    eth_config: defineMethod([], async () => {
      const c = await backend.forkConfig();
      const current = {
        activationTime: c.activationTime,
        blobSchedule: c.blobSchedule,
        chainId: toHexQuantity(c.chainId),
        forkId: toHexData(c.forkId),
        precompiles: Object.fromEntries(Object.entries(c.precompiles).map(([k, v]) => [k, toHexData(v)])),
        systemContracts: Object.fromEntries(Object.entries(c.systemContracts).map(([k, v]) => [k, toHexData(v)])),
      };
      // One fork since genesis: nothing scheduled, so `next` and `last` are null (EIP-7910, geth).
      return { current, next: null, last: null };
    }),
    eth_sendRawTransaction: defineMethod([{ name: "transaction", type: "data" }], async ([raw]) =>
      toHexData(await backend.sendRawTransaction(raw)),
    ),

    eth_getTransactionByHash: defineMethod([{ name: "hash", type: "hash" }], async ([hash]) => {
      const t = await backend.getTransaction(bytes(hash));
      return t === undefined ? null : formatTransactionJSON(t);
    }),
    eth_getTransactionByBlockNumberAndIndex: defineMethod(
      [
        { name: "block", type: "blockTag" },
        { name: "index", type: "quantity" },
      ],
      async ([block, index]) => txByIndex(backend, await backend.resolveBlock(block), index),
    ),
    eth_getTransactionByBlockHashAndIndex: defineMethod(
      [
        { name: "blockHash", type: "hash" },
        { name: "index", type: "quantity" },
      ],
      async ([hash, index]) => txByIndex(backend, await backend.resolveBlock({ kind: "hash", hash }), index),
    ),
    eth_getTransactionReceipt: defineMethod([{ name: "hash", type: "hash" }], async ([hash]) => {
      const r = await backend.getReceipt(bytes(hash));
      return r === undefined ? null : formatReceiptJSON(r);
    }),
    eth_getBlockReceipts: defineMethod([{ name: "block", type: "blockTagOrHash" }], async ([block]) => {
      const ref = await backend.resolveBlock(block);
      return ref === undefined ? null : formatReceiptsJSON(await backend.getReceipts(ref));
    }),
    eth_getBlockByNumber: defineMethod(
      [
        { name: "block", type: "blockTag" },
        { name: "fullTransactions", type: "bool", optional: true },
      ],
      async ([block, full]) => {
        const ref = await backend.resolveBlock(block);
        return ref === undefined ? null : formatBlock(await backend.getBlockWithTxs(ref), full ?? false);
      },
    ),
    eth_getBlockByHash: defineMethod(
      [
        { name: "hash", type: "hash" },
        { name: "fullTransactions", type: "bool", optional: true },
      ],
      async ([hash, full]) => {
        const ref = await backend.resolveBlock({ kind: "hash", hash });
        return ref === undefined ? null : formatBlock(await backend.getBlockWithTxs(ref), full ?? false);
      },
    ),
    eth_getBlockTransactionCountByNumber: defineMethod([{ name: "block", type: "blockTag" }], async ([block]) => {
      const ref = await backend.resolveBlock(block);
      return ref === undefined ? null : toHexQuantity((await backend.getBlockWithTxs(ref)).transactions.length);
    }),
    eth_getBlockTransactionCountByHash: defineMethod([{ name: "hash", type: "hash" }], async ([hash]) => {
      const ref = await backend.resolveBlock({ kind: "hash", hash });
      return ref === undefined ? null : toHexQuantity((await backend.getBlockWithTxs(ref)).transactions.length);
    }),
    eth_getUncleCountByBlockNumber: defineMethod([{ name: "block", type: "blockTag" }], async ([block]) =>
      (await backend.resolveBlock(block)) === undefined ? null : "0x0",
    ),
    eth_getUncleCountByBlockHash: defineMethod([{ name: "hash", type: "hash" }], async ([hash]) =>
      (await backend.resolveBlock({ kind: "hash", hash })) === undefined ? null : "0x0",
    ),

    eth_getLogs: defineMethod(
      [{ name: "filter", type: "filter" }],
      async ([filter], ctx) => {
        const range = await resolveLogRange(backend, filter);
        if ("fromBlock" in range && range.toBlock - range.fromBlock + 1n > opts.logsMaxBlockRange) {
          throw new LimitExceededError(`query exceeds max block range ${opts.logsMaxBlockRange}`);
        }
        return logQueries.run(ctx.budget, () => backend.getLogs(range, toLogFilter(filter), ctx.budget));
      },
      { cost: LOG_QUERY_COST },
    ),
  };
}

async function txByIndex(backend: EthBackend, ref: BlockRef | undefined, index: bigint) {
  if (ref === undefined) return null;
  const block = await backend.getBlockWithTxs(ref);
  const t = index < BigInt(block.transactions.length) ? block.transactions[Number(index)] : undefined;
  return t === undefined ? null : formatTransactionJSON(t);
}

/** web3_ and net_ namespaces. */
export function createWeb3NetMethods(backend: EthBackend): MethodTable {
  return {
    web3_clientVersion: defineMethod([], () => backend.clientVersion),
    web3_sha3: defineMethod([{ name: "data", type: "data" }], ([data]) => toHexData(keccak256(data))),
    net_version: defineMethod([], () => backend.chainId.toString()),
    net_listening: defineMethod([], () => true),
    net_peerCount: defineMethod([], () => toHexQuantity(backend.peerCount())),
  };
}
