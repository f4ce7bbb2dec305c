// `node dist/bench/receiptFormat.js [--receipts N] [--rounds R]`: CPU µs of the first answer to a receipt poll —
// formatting a mined ERC-20 transfer's receipt (one log, three topics) into its JSON text, which the node does once
// per receipt view (rpc/format.ts) — with the recipient read from the raw transaction (`TxView.to`, what
// node/rpc/nodeBackend.ts gives; node/rpc/txRecipient.ts) and without it (the transaction decoded by ethereumjs for
// its `to`, as before). Views are built as the backend builds them (the transaction decoded lazily, on first read),
// fresh each round so no cached text is reused; the two ways alternate, R rounds of N receipts each, and the
// medians of the per-round figures are printed (first two rounds of each dropped as warm-up).
import { createFeeMarket1559Tx, createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { hexToBytes } from "@ethereumjs/util";
import { rawTxRecipient } from "../node/rpc/txRecipient.js";
import type { ReceiptView, TxView } from "../rpc/backend.js";
import { formatReceiptJSON } from "../rpc/format.js";
import { createChainCommon } from "../runtime/evm/common.js";
import type { Receipt } from "../runtime/primitives/receipt.js";
import { positiveInt, readFlags } from "./args.js";
import { DEV_KEYS } from "./devKeys.js";

const HELP = `Usage: node dist/bench/receiptFormat.js [--receipts N] [--rounds R]
CPU of formatting a receipt poll's answer, the recipient read from the raw tx against the tx decoded, alternating.
  --receipts N   receipts formatted per round (default 1000)
  --rounds R     rounds per way, alternating (default 12)`;

const common = createChainCommon(1337n);
const TOKEN = hexToBytes(`0x${"22".repeat(20)}`);
const word = (byte: number) => new Uint8Array(32).fill(byte);

function erc20Transfers(n: number): Uint8Array[] {
  const key = hexToBytes(DEV_KEYS[0] as `0x${string}`);
  const raws: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const data = hexToBytes(`0xa9059cbb${"00".repeat(12)}${"11".repeat(20)}${(i + 1).toString(16).padStart(64, "0")}`);
    const fields = { to: TOKEN, nonce: BigInt(i), gasLimit: 60_000n, maxFeePerGas: 10n ** 11n, chainId: 1337n, data };
    raws.push(
      createFeeMarket1559Tx({ ...fields, maxPriorityFeePerGas: 1n }, { common })
        .sign(key)
        .serialize(),
    );
  }
  return raws;
}

function views(raws: Uint8Array[], withRecipient: boolean): ReceiptView[] {
  return raws.map((raw, index) => {
    let tx: TypedTransaction | undefined;
    const from = word(3).subarray(0, 20);
    const txView: TxView = {
      get tx(): TypedTransaction {
        tx ??= createTxFromRLP(raw, { common });
        return tx;
      },
      hash: word(index & 255),
      from,
      location: { blockHash: word(9), blockNumber: 5n, blockTimestamp: 1n, index, baseFeePerGas: 7n },
    };
    // Read on first use, as the backend's view does, so the timing includes the read.
    if (withRecipient) Object.defineProperty(txView, "to", { get: () => rawTxRecipient(raw) });
    const receipt: Receipt = {
      type: 2,
      status: 1,
      cumulativeGasUsed: 50_000n * BigInt(index + 1),
      gasUsed: 50_000n,
      logs: [[TOKEN, [word(1), word(2), word(index & 255)], word(4)]],
      contractAddress: null,
      effectiveGasPrice: 8n,
      from,
    };
    return { receipt, tx: txView, blockHash: word(9), blockNumber: 5n, transactionIndex: index, firstLogIndex: index };
  });
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  let receipts = 1000;
  let rounds = 12;
  const ok = readFlags(process.argv.slice(2), (flag, next) => {
    if (flag === "--receipts") receipts = positiveInt(flag, next(), 100_000);
    else if (flag === "--rounds") rounds = Math.max(3, positiveInt(flag, next(), 1000));
    else throw new Error(`unknown option ${flag}`);
  });
  if (!ok) {
    console.log(HELP);
    return;
  }
  const raws = erc20Transfers(receipts);
  const perReceipt = { decoded: [] as number[], fromRaw: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const order: Array<keyof typeof perReceipt> = r % 2 === 0 ? ["decoded", "fromRaw"] : ["fromRaw", "decoded"];
    for (const way of order) {
      const vs = views(raws, way === "fromRaw");
      const t0 = cpuMicros();
      for (const v of vs) formatReceiptJSON(v);
      perReceipt[way].push((cpuMicros() - t0) / receipts);
    }
  }
  const fmt = (xs: number[]) => median(xs.slice(2)).toFixed(1);
  console.log(
    `CPU µs per first receipt answer (ERC-20 transfer, ${receipts} × ${rounds} rounds, median): ` +
      `tx decoded for its recipient ${fmt(perReceipt.decoded)}, recipient read from the raw tx ${fmt(perReceipt.fromRaw)}`,
  );
}

main();
