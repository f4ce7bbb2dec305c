/**
 * Reads a range of finalized blocks from the node over JSON-RPC and turns each into an `IndexedBlock`: the block
 * with its transactions, the block's receipts, a `callTracer` trace of the block (internal calls, contract
 * creations, revert reasons), the native balances of every address the block touched (read at that block), and
 * metadata of tokens not seen before. Calls go in JSON-RPC batches kept under the node's per-batch cost budget.
 */
import type { RPCClient, RPCError } from "../runtime/chain/rpcClient.js";
import { decodeLog, decodeRevert, nativeModuleName, transfersOfLog } from "./decode.js";
import { COLLECTION_CREATED_TOPIC, fetchGenesisSeed, type GenesisSeed, NFT_REGISTRY } from "./genesisSeed.js";
import {
  batched,
  CALL_BATCH,
  decodeString,
  decodeUint8,
  hexDec,
  hexNum,
  must,
  PLAIN_BATCH,
  quantity,
  TRACE_BATCH,
} from "./rpcBatch.js";
import type { BalanceRow, ContractRow, IndexedBlock, InternalCallRow, LogRow, TokenRow, TxRow } from "./types.js";

interface RPCTx {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  input: string;
  nonce: string;
  gas: string;
  gasPrice?: string;
  transactionIndex: string;
}
interface RPCBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  miner: string;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas?: string;
  transactions: RPCTx[];
}
interface RPCLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
}
interface RPCReceipt {
  transactionHash: string;
  status: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  contractAddress: string | null;
  logs: RPCLog[];
}
interface CallFrame {
  type: string;
  from: string;
  to?: string;
  value?: string;
  gasUsed?: string;
  input?: string;
  output?: string;
  error?: string;
  revertReason?: string;
  calls?: CallFrame[];
}

export interface BlockFetcher {
  fetch(from: number, to: number, knownTokens: (addresses: string[]) => Promise<Set<string>>): Promise<IndexedBlock[]>;
  /** What an empty store starts from, read at `atBlock` (`genesisSeed.ts`). */
  seed(atBlock: number): Promise<GenesisSeed>;
}

export function createBlockFetcher(rpc: RPCClient): BlockFetcher {
  return {
    seed: (atBlock) => fetchGenesisSeed(rpc, atBlock),
    async fetch(from, to, knownTokens) {
      const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      const q = quantity;
      const heads = await batched<RPCBlock>(
        rpc,
        numbers.flatMap((n) => [
          ["eth_getBlockByNumber", [q(n), true]] as [string, unknown[]],
          ["eth_getBlockReceipts", [q(n)]] as [string, unknown[]],
        ]),
        PLAIN_BATCH,
      );
      const blocks = numbers.map((n, i) => ({
        block: must(heads[2 * i] as RPCBlock | RPCError, n, "block"),
        receipts: must(heads[2 * i + 1] as unknown as RPCReceipt[] | RPCError, n, "receipts"),
      }));
      // Genesis is not traceable and has no transactions; an empty block needs no trace.
      const toTrace = blocks.filter((b) => b.block.transactions.length > 0);
      const traced = await batched<{ txHash: string; result?: CallFrame; error?: string }[]>(
        rpc,
        toTrace.map((b) => ["debug_traceBlockByNumber", [b.block.number, { tracer: "callTracer" }]]),
        TRACE_BATCH,
      );
      const traces = new Map<string, CallFrame>();
      toTrace.forEach((b, i) => {
        for (const t of must(traced[i], Number(b.block.number), "trace")) if (t.result) traces.set(t.txHash, t.result);
      });

      const out: IndexedBlock[] = [];
      const touched: { block: number; addresses: Set<string> }[] = [];
      const tokenCandidates = new Map<string, { standard: TokenRow["standard"]; block: number }>();
      for (const { block: b, receipts } of blocks) {
        const number = hexNum(b.number);
        const timestamp = hexNum(b.timestamp);
        const receiptOf = new Map(receipts.map((r) => [r.transactionHash, r]));
        const txs: TxRow[] = [];
        const logs: LogRow[] = [];
        const internalCalls: InternalCallRow[] = [];
        const contracts: ContractRow[] = [];
        const addrs = new Set<string>([b.miner.toLowerCase()]);
        for (const t of b.transactions) {
          const r = must(receiptOf.get(t.hash), number, `receipt of ${t.hash}`);
          const hash = t.hash.toLowerCase();
          const trace = traces.get(t.hash);
          const status = hexNum(r.status);
          txs.push({
            hash,
            blockNumber: number,
            txIndex: hexNum(t.transactionIndex),
            from: t.from.toLowerCase(),
            to: t.to === null ? null : t.to.toLowerCase(),
            value: hexDec(t.value),
            input: t.input,
            nonce: hexNum(t.nonce),
            gasLimit: hexDec(t.gas),
            gasPrice: hexDec(r.effectiveGasPrice ?? t.gasPrice),
            gasUsed: hexDec(r.gasUsed),
            status,
            contractAddress: r.contractAddress === null ? null : r.contractAddress.toLowerCase(),
            methodId: t.to !== null && t.input.length >= 10 ? t.input.slice(0, 10).toLowerCase() : null,
            error: status === 1 ? null : (trace?.revertReason ?? decodeRevert(trace?.output) ?? trace?.error ?? null),
            timestamp,
          });
          for (const l of r.logs) {
            const address = l.address.toLowerCase();
            const row: LogRow = {
              txHash: hash,
              blockNumber: number,
              logIndex: hexNum(l.logIndex),
              address,
              topics: l.topics.map((x) => x.toLowerCase()),
              data: l.data,
              event: null,
            };
            row.event = decodeLog(address, row.topics, row.data)?.name ?? null;
            logs.push(row);
          }
          if (trace !== undefined) {
            let idx = 0;
            const walk = (f: CallFrame, depth: number) => {
              const callFrom = f.from.toLowerCase();
              const callTo = f.to === undefined ? null : f.to.toLowerCase();
              internalCalls.push({
                txHash: hash,
                blockNumber: number,
                callIndex: idx++,
                depth,
                type: f.type,
                from: callFrom,
                to: callTo,
                value: hexDec(f.value),
                gasUsed: hexDec(f.gasUsed),
                input: f.input ?? "0x",
                output: f.output ?? null,
                error: f.error ?? null,
              });
              addrs.add(callFrom);
              if (callTo !== null) addrs.add(callTo);
              if ((f.type === "CREATE" || f.type === "CREATE2") && f.error === undefined && callTo !== null)
                contracts.push({
                  address: callTo,
                  creator: callFrom,
                  txHash: hash,
                  blockNumber: number,
                  creationInput: f.input ?? "0x",
                });
              // A reverted frame's children were undone with it; they stay in the tree but touch nothing.
              for (const c of f.calls ?? []) walk(c, depth + 1);
            };
            walk(trace, 0);
          } else {
            addrs.add(t.from.toLowerCase());
            if (t.to !== null) addrs.add(t.to.toLowerCase());
          }
        }
        const transfers = logs.flatMap((l) => transfersOfLog(l, timestamp));
        // Native modules move $AZR without a call frame to the payee (WAZR transfers, escrow payouts, staking
        // rewards): whoever their events name may have a new balance.
        for (const tr of transfers) {
          addrs.add(tr.from);
          addrs.add(tr.to);
        }
        for (const l of logs) {
          if (nativeModuleName(l.address) === undefined) continue;
          for (const t of l.topics.slice(1)) if (/^0x0{24}[0-9a-f]{40}$/.test(t)) addrs.add(`0x${t.slice(26)}`);
        }
        for (const tr of transfers) {
          if (!tokenCandidates.has(tr.token)) tokenCandidates.set(tr.token, { standard: tr.standard, block: number });
        }
        // A native collection is a token from its creation, before any mint.
        for (const l of logs) {
          if (l.address !== NFT_REGISTRY || l.topics[0] !== COLLECTION_CREATED_TOPIC || l.topics.length < 2) continue;
          const c = `0x${l.topics[1].slice(26)}`;
          if (!tokenCandidates.has(c)) tokenCandidates.set(c, { standard: "erc721", block: number });
        }
        touched.push({ block: number, addresses: addrs });
        out.push({
          block: {
            number,
            hash: b.hash.toLowerCase(),
            parentHash: b.parentHash.toLowerCase(),
            timestamp,
            miner: b.miner.toLowerCase(),
            gasUsed: hexDec(b.gasUsed),
            gasLimit: hexDec(b.gasLimit),
            baseFeePerGas: b.baseFeePerGas === undefined ? null : hexDec(b.baseFeePerGas),
            txCount: b.transactions.length,
          },
          txs,
          logs,
          transfers,
          internalCalls,
          contracts,
          tokens: [],
          balances: [],
        });
      }

      // Native balances of what each block touched, as of that block (fees, rewards and value moves included).
      const balanceCalls = touched.flatMap((t) =>
        [...t.addresses].map((a) => ({ block: t.block, address: a, call: ["eth_getBalance", [a, q(t.block)]] })),
      );
      const balances = await batched<string>(
        rpc,
        balanceCalls.map((c) => c.call as [string, unknown[]]),
        PLAIN_BATCH,
      );
      const byBlock = new Map(out.map((b) => [b.block.number, b]));
      balanceCalls.forEach((c, i) => {
        const row: BalanceRow = {
          address: c.address,
          balance: hexDec(must(balances[i], c.block, "balance")),
          blockNumber: c.block,
        };
        byBlock.get(c.block)?.balances.push(row);
      });

      // Token metadata, once per token, read at the block that first shows it.
      const known = await knownTokens([...tokenCandidates.keys()]);
      const fresh = [...tokenCandidates].filter(([a]) => !known.has(a));
      const metaCalls = fresh.flatMap(([address, c]) =>
        ["0x06fdde03", "0x95d89b41", "0x313ce567"].map(
          (data) => ["eth_call", [{ to: address, data }, q(c.block)]] as [string, unknown[]],
        ),
      );
      const meta = await batched<string>(rpc, metaCalls, CALL_BATCH);
      fresh.forEach(([address, c], i) => {
        const [name, symbol, decimals] = meta.slice(3 * i, 3 * i + 3);
        byBlock.get(c.block)?.tokens.push({
          address,
          standard: c.standard,
          name: decodeString(name) ?? nativeModuleName(address) ?? null,
          symbol: decodeString(symbol),
          decimals: c.standard === "erc20" ? decodeUint8(decimals) : null,
        });
      });
      return out;
    },
  };
}
