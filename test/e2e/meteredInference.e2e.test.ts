import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, parseEther, Wallet, ZeroAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTensors } from "../../ai-oracle/engine/tensorContainer.js";
import { importONNXModel } from "../../ai-oracle/models/store.js";
import { buildMatMulStack } from "../../bench/onnxModels.js";
import { InferenceClient, InferenceHTTPError } from "../../services/client/inferenceClient.js";
import { PaymentSession, paymentsContract } from "../../services/client/payments.js";
import { SESSION_RECEIPT_PREFIX } from "../../services/client/receiptSession.js";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, spawnNode, tempDir } from "../utils/devnode.js";
import { eventually, spawnWorker, type WorkerProcess } from "../utils/workers.js";

/**
 * Metered AI inference end to end: a real dev node, a real `azora worker ai/onnx --metered-price` process running
 * an ONNX model on onnxruntime. A payer deposits, calls the model 25 times with a receipt each, signs the vouchers
 * the worker asks for; the worker is killed with kill -9 before it redeems, restarts, and redeems: its credit on
 * chain is exactly price × calls. A call without a receipt and a payer spending past its deposit are refused.
 */
const PRICE = parseEther("0.001");
const WORKER = 1;
let dir: string;
let node: NodeProcess;
let provider: JsonRpcProvider;
let worker: WorkerProcess | undefined;
let modelId: string;
let modelsDir: string;
const input = encodeTensors([
  {
    name: "x",
    dtype: "float32",
    dims: [1, 16, 64],
    data: Float32Array.from({ length: 16 * 64 }, (_, i) => (i % 7) / 7),
  },
]);

const startWorker = (redeemEveryMs: number) =>
  spawnWorker({
    kinds: ["ai/onnx"],
    rpc: node.url,
    devAccount: WORKER,
    dataDir: join(dir, "worker"),
    extra: [
      "--models-dir",
      modelsDir,
      "--metered-price",
      "0.001",
      "--metered-voucher-every",
      "5",
      "--metered-redeem-every",
      String(redeemEveryMs),
    ],
  });

beforeAll(async () => {
  dir = tempDir("metered-e2e");
  modelsDir = join(dir, "models");
  mkdirSync(modelsDir);
  const file = join(dir, "matmul.onnx");
  writeFileSync(file, buildMatMulStack({ rows: 16, width: 64, layers: 2 }));
  modelId = await importONNXModel(modelsDir, file);
  node = await spawnNode(join(dir, "chain"));
  provider = new JsonRpcProvider(node.url, Number(DEV_CHAIN_ID), {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  // an hour between redemptions: nothing is redeemed before the kill -9 below
  worker = await startWorker(3_600_000);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  provider?.destroy();
  await node?.stop();
});

describe("metered inference: receipts per request, vouchers redeemed in batches", () => {
  it("25 paid calls; kill -9 before redemption; the restarted worker redeems exactly price × calls", async () => {
    const w = worker as WorkerProcess;
    const payee = new Wallet(DEV_KEYS[WORKER]).address;
    const payer = new Wallet(DEV_KEYS[4], provider);
    const session = new PaymentSession(payer, DEV_CHAIN_ID, payee);
    const client = new InferenceClient({ url: w.url, payment: session, price: PRICE });
    await client.deposit(parseEther("0.1"));

    // without a receipt: 402 with the code
    const bare = await fetch(`${w.url}/v1/infer/0x${modelId}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: input,
    });
    expect(bare.status).toBe(402);
    expect(((await bare.json()) as { code: string }).code).toBe("PAYMENT_REQUIRED");
    // a receipt for less than the price, and one signed by someone else than its payer
    await expect(client.infer(modelId, input, await session.receipt(PRICE - 1n))).rejects.toMatchObject({
      status: 402,
      code: "PAYMENT_REQUIRED",
    });
    const forged = new PaymentSession(new Wallet(DEV_KEYS[6]), DEV_CHAIN_ID, payee);
    const r = await forged.receipt(PRICE);
    const tampered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(r, "base64url").toString()), payer: payer.address }),
    ).toString("base64url");
    await expect(client.infer(modelId, input, tampered)).rejects.toMatchObject({
      status: 402,
      code: "PAYMENT_REQUIRED",
    });

    const paid = new PaymentSession(payer, DEV_CHAIN_ID, payee, ZeroAddress);
    const calls = new InferenceClient({ url: w.url, payment: paid, price: PRICE });
    let hash: string | undefined;
    // session receipts (one signed open, an HMAC per call), as the client uses them with a worker that advertises
    // its key; `first` is kept for the replay after the restart below
    const info = (await (await fetch(`${w.url}/v1/payments`)).json()) as { receiptSessions: { publicKey: string } };
    await paid.useReceiptSessions(info.receiptSessions.publicKey);
    const first = await paid.receipt(PRICE);
    expect(first.startsWith(SESSION_RECEIPT_PREFIX)).toBe(true);
    for (let i = 0; i < 25; i++) {
      const out = await calls.infer(modelId, input, i === 0 ? first : undefined);
      hash ??= out.resultHash;
      expect(out.resultHash).toBe(hash); // deterministic: the same input gives the same result hash
      expect(out.payment.receipts).toBe(i + 1);
      expect(out.payment.accepted).toBe(PRICE * BigInt(i + 1));
    }
    expect(calls.vouchersSigned).toBe(5); // one every 5 receipts, the last covering all 25
    const market = paymentsContract(provider);
    expect((await market.deposits(payer.address, payee, ZeroAddress))[3]).toBe(0n); // nothing redeemed yet

    await w.kill9();
    worker = await startWorker(1_000);
    // receipts commit without fsync (WAL, synchronous=NORMAL): still there after kill -9, so a replay is refused
    await expect(
      new InferenceClient({ url: worker.url, payment: paid, price: PRICE }).infer(modelId, input, first),
    ).rejects.toThrow(/402 PAYMENT_REQUIRED: receipt already used/);
    const redeemed = await eventually(async () => {
      const d = await market.deposits(payer.address, payee, ZeroAddress);
      return (d[3] as bigint) > 0n ? (d[3] as bigint) : undefined;
    }, "the vouchers redeemed after the restart");
    expect(redeemed).toBe(25n * PRICE);
    const logs = await provider.getLogs({
      address: "0x0000000000000000000000000000000000000A05",
      topics: [
        market.interface.getEvent("VoucherRedeemed")!.topicHash,
        null,
        `0x${payee.slice(2).toLowerCase().padStart(64, "0")}`,
      ],
      fromBlock: 0,
    });
    const credit = logs.reduce((s, l) => s + (market.interface.parseLog(l)!.args.amount as bigint), 0n);
    expect(credit).toBe(25n * PRICE);
    const view = (await (await fetch(`${worker.url}/v1/payments`)).json()) as {
      payers: { payer: string; receipts: number; redeemed: string }[];
    };
    expect(view.payers.find((p) => p.payer === payer.address)).toMatchObject({
      receipts: 25,
      redeemed: String(25n * PRICE),
    });
  }, 240_000);

  it("a payer spending past its deposit is refused", async () => {
    const w = worker as WorkerProcess;
    const payee = new Wallet(DEV_KEYS[WORKER]).address;
    const payer = new Wallet(DEV_KEYS[5], provider);
    const client = new InferenceClient({
      url: w.url,
      payment: new PaymentSession(payer, DEV_CHAIN_ID, payee),
      price: PRICE,
    });
    await client.deposit(2n * PRICE);
    await client.infer(modelId, input);
    await client.infer(modelId, input);
    const over = client.infer(modelId, input);
    await expect(over).rejects.toBeInstanceOf(InferenceHTTPError);
    await expect(over).rejects.toMatchObject({ status: 402, code: "PAYMENT_REQUIRED" });
    await expect(over).rejects.toThrow(/does not cover the inference/);
    // the routes are in the worker's OpenAPI description
    const api = (await (await fetch(`${w.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(api.paths)).toEqual(
      expect.arrayContaining(["/v1/infer/{model}", "/v1/payments/vouchers", "/v1/payments"]),
    );
  }, 120_000);
});
