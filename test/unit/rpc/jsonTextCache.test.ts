// The JSON text caches (rpc/format.ts formatReceiptJSON / formatReceiptsJSON / formatTransactionJSON)
// against the general path: a method answering the formatted object, which the JSON-RPC layer walks and
// stringifies. On random receipts — legacy, EIP-2930 and EIP-1559 txs, contract creations, reverted txs,
// 0–4 logs with 0–4 topics and data of any length — and their transactions, mined or pooled, the two
// responses must be the same bytes, on the first poll (cache filled) and on the next (cache hit), single
// and batched, and for a block's receipt list.
import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
  type TypedTransaction,
} from "@ethereumjs/tx";
import { hexToBytes } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rawTxRecipient } from "../../../node/rpc/txRecipient.js";
import type { ReceiptView, TxView } from "../../../rpc/backend.js";
import {
  formatReceipt,
  formatReceiptJSON,
  formatReceiptsJSON,
  formatTransaction,
  formatTransactionJSON,
} from "../../../rpc/format.js";
import { handleRawBody } from "../../../rpc/jsonrpc.js";
import { defineMethod, type MethodTable } from "../../../rpc/types.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import type { Log, Receipt } from "../../../runtime/primitives/receipt.js";
import { DEV_KEYS } from "../../utils/devnode.js";

const CHAIN_ID = 1337n;
const common = createChainCommon(CHAIN_ID);
const KEY = hexToBytes(DEV_KEYS[0] as `0x${string}`);

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const quantity = fc.bigInt({ min: 0n, max: (1n << 80n) - 1n });

const logArb: fc.Arbitrary<Log> = fc.tuple(
  bytesOf(20),
  fc.array(bytesOf(32), { maxLength: 4 }),
  fc.uint8Array({ maxLength: 100 }),
);

const specArb = fc.record({
  type: fc.constantFrom(0, 1, 2),
  create: fc.boolean(),
  status: fc.constantFrom<0 | 1>(0, 1),
  nonce: fc.bigInt({ min: 0n, max: 1000n }),
  value: quantity,
  gasUsed: fc.bigInt({ min: 21_000n, max: 30_000_000n }),
  cumulativeExtra: fc.bigInt({ min: 0n, max: 30_000_000n }),
  price: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  logs: fc.array(logArb, { maxLength: 4 }),
  to: bytesOf(20),
  contractAddress: bytesOf(20),
  blockHash: bytesOf(32),
  blockNumber: fc.bigInt({ min: 0n, max: 10n ** 9n }),
  blockTimestamp: fc.bigInt({ min: 0n, max: 1n << 40n }),
  baseFee: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  pooled: fc.boolean(),
  transactionIndex: fc.nat({ max: 5000 }),
  firstLogIndex: fc.nat({ max: 50_000 }),
});
type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

function signed(s: Spec): TypedTransaction {
  const base = { nonce: s.nonce, value: s.value, gasLimit: 30_000_000n, ...(s.create ? {} : { to: s.to }) };
  let tx: TypedTransaction;
  if (s.type === 0) tx = createLegacyTx({ ...base, gasPrice: s.price }, { common }).sign(KEY);
  else if (s.type === 1)
    tx = createAccessList2930Tx({ ...base, chainId: CHAIN_ID, gasPrice: s.price }, { common }).sign(KEY);
  else
    tx = createFeeMarket1559Tx(
      { ...base, chainId: CHAIN_ID, maxFeePerGas: s.price, maxPriorityFeePerGas: s.price },
      { common },
    ).sign(KEY);
  return createTxFromRLP(tx.serialize(), { common });
}

function view(s: Spec): ReceiptView {
  const tx = signed(s);
  const txView: TxView = {
    tx,
    hash: tx.hash(),
    from: tx.getSenderAddress().bytes,
    // A pooled tx has no location (and is formatted afresh: its gas price is the fee cap until mined).
    location: s.pooled
      ? undefined
      : {
          blockHash: s.blockHash,
          blockNumber: s.blockNumber,
          blockTimestamp: s.blockTimestamp,
          index: s.transactionIndex,
          baseFeePerGas: s.baseFee,
        },
  };
  const receipt: Receipt = {
    type: s.type,
    status: s.status,
    cumulativeGasUsed: s.gasUsed + s.cumulativeExtra,
    gasUsed: s.gasUsed,
    // A reverted tx has no logs.
    logs: s.status === 1 ? s.logs : [],
    contractAddress: s.create && s.status === 1 ? s.contractAddress : null,
    effectiveGasPrice: s.price,
    from: txView.from,
  };
  return {
    receipt,
    tx: txView,
    blockHash: s.blockHash,
    blockNumber: s.blockNumber,
    transactionIndex: s.transactionIndex,
    firstLogIndex: s.firstLogIndex,
  };
}

/** The general path (objects walked by the JSON-RPC layer) and the cached text, as two method tables. */
function tables(views: ReceiptView[]): { general: MethodTable; cached: MethodTable } {
  const one = [{ name: "index", type: "quantity" }] as const;
  return {
    general: {
      receipt: defineMethod(one, ([i]) => formatReceipt(views[Number(i)])),
      receipts: defineMethod([], () => views.map(formatReceipt)),
      tx: defineMethod(one, ([i]) => formatTransaction(views[Number(i)].tx)),
    },
    cached: {
      receipt: defineMethod(one, ([i]) => formatReceiptJSON(views[Number(i)])),
      receipts: defineMethod([], () => formatReceiptsJSON(views)),
      tx: defineMethod(one, ([i]) => formatTransactionJSON(views[Number(i)].tx)),
    },
  };
}

const ctx = { transport: "http" as const };

describe("receipt and transaction JSON caches", () => {
  it("answer the bytes the general path answers, single, batched and per block, cold and cached", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 6 }), async (specs) => {
        const views = specs.map(view);
        const { general, cached } = tables(views);
        const bodies = [
          ...views.map((_, i) =>
            JSON.stringify({ jsonrpc: "2.0", id: i, method: "receipt", params: [`0x${i.toString(16)}`] }),
          ),
          JSON.stringify(
            views.map((_, i) => ({ jsonrpc: "2.0", id: `b${i}`, method: "receipt", params: [`0x${i.toString(16)}`] })),
          ),
          JSON.stringify({ jsonrpc: "2.0", id: "all", method: "receipts", params: [] }),
          ...views.map((_, i) =>
            JSON.stringify({ jsonrpc: "2.0", id: `t${i}`, method: "tx", params: [`0x${i.toString(16)}`] }),
          ),
        ];
        // Twice: the first pass fills the cache, the second answers from it.
        for (let pass = 0; pass < 2; pass++) {
          for (const body of bodies) {
            const expected = await handleRawBody(body, general, ctx);
            expect(await handleRawBody(body, cached, ctx)).toBe(expected);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("formats a receipt once per view, and a new view of the same receipt afresh", () => {
    const [s] = fc.sample(specArb, { numRuns: 1, seed: 7 });
    const v = view({ ...s, create: false });
    const first = formatReceiptJSON(v).parts.join("");
    // A view whose tx getter counts its reads: the formatter reads `tx.to`, the cache must not.
    let reads = 0;
    const counted: ReceiptView = {
      ...v,
      tx: {
        ...v.tx,
        get tx() {
          reads++;
          return v.tx.tx;
        },
      },
    };
    expect(formatReceiptJSON(counted).parts.join("")).toBe(first);
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    expect(formatReceiptJSON(counted).parts.join("")).toBe(first);
    expect(formatReceiptsJSON([counted, counted]).parts.join("")).toBe(`[${first},${first}]`);
    expect(reads).toBe(afterFirst);
  });

  it("answers the same receipt when the backend gives the recipient read from the raw transaction", () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const v = view(s);
        const raw = v.tx.tx.serialize();
        // As node/rpc/nodeBackend.ts builds a mined view: `to` read from the encoding, `tx` never decoded.
        const fast: ReceiptView = {
          ...v,
          tx: {
            ...v.tx,
            to: rawTxRecipient(raw),
            get tx(): TypedTransaction {
              throw new Error("decoded the transaction for a receipt");
            },
          },
        };
        expect(JSON.stringify(formatReceipt(fast))).toBe(JSON.stringify(formatReceipt(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("answers a transaction's mined form once it is mined, whatever was answered while it was pooled", () => {
    const [s] = fc.sample(specArb, { numRuns: 1, seed: 11 });
    const pooled = view({ ...s, type: 2, pooled: true }).tx;
    const pooledText = JSON.stringify(formatTransactionJSON(pooled));
    const mined: TxView = { ...pooled, location: view({ ...s, type: 2, pooled: false }).tx.location };
    const minedText = (formatTransactionJSON(mined) as { parts: string[] }).parts.join("");
    expect(JSON.parse(pooledText).blockHash).toBeNull();
    expect(minedText).toBe(JSON.stringify(formatTransaction(mined)));
    expect(JSON.parse(minedText).blockNumber).toBe(`0x${s.blockNumber.toString(16)}`);
  });
});
