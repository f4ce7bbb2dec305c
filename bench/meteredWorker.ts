import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Contract, parseEther, Wallet } from "ethers";
import Fastify from "fastify";
import { encodeTensors } from "../ai-oracle/engine/tensorContainer.js";
import { createAIHandlers } from "../ai-oracle/handlers.js";
import { importONNXModel } from "../ai-oracle/models/store.js";
import { PaymentSession, RECEIPT_HEADER } from "../services/client/payments.js";
import { RECEIPT_SESSION_HEADER } from "../services/client/receiptSession.js";
import { CALL_TRACE_ENV, CALL_TRACE_HEADER, parseStamps } from "../services/runtime/callTrace.js";
import { MeteredPayee } from "../services/runtime/payments/meteredPayee.js";
import { registerMeteredRoutes } from "../services/runtime/payments/meteredRoutes.js";
import { UPLOAD_SPLIT } from "./callTimeline.js";
import { parseResponse } from "./leanRpc.js";
import { buildMatMulStack, TEN_MS_MATMUL } from "./onnxModels.js";
import { percentileOf, round } from "./stats.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/meteredWorker.js [--calls N] [--gap-ms MS] [--layers N]

The AI worker's side of a lone paid call alone: the metered route (lean front, a real payee journal, session
receipts, the ai/onnx handler inline) in a child process, lone 459 KB calls on one kept-alive socket, an idle gap
between calls. Prints the worker's CPU per call (user / system ms, minor faults) and, with AZORA_CALL_TRACE=1, the
p50 of the worker's own segments (upload, hold, pre-commit, commit, model, post-model, reply).

Options:
  --calls <n>       measured calls (default 200, after 30 warm-up calls)
  --gap-ms <ms>     idle gap after each answer (default 10)
  --layers <n>      matmul layers of the model (default 0: a ReduceMean only, so the path outweighs the model)
  -h, --help        show this help`;

/**
 * A lone paid call's work on the worker, isolated from the client and the bench's model sizing: the services bench's
 * lone call (bench/services.ts, 2b) moves with the machine's load on both processes, the job's fitted size and the
 * client's wake-ups; this holds the worker alone, so the CPU it spends per call and its segments between the head's
 * arrival and the answer's write compare between builds (README, issue 8, "lone8pre").
 */
const CHAIN = 31337n;
const PRICE = parseEther("0.001");
const PAYEE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const PAYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const WARMUP = 30;
/** The worker's segments, [name, from stamp, to stamp] (services/runtime/payments/meteredCall.ts's `trace`). */
const SEGMENTS = [
  ["upload", "head", "bodyLast"],
  ...UPLOAD_SPLIT,
  ["check_sync", "head", "holdCalled"],
  ["hold_wait", "handler", "held"],
  ["pre_commit", "held", "commit0"],
  ["commit", "commit0", "commit1"],
  ["model", "model0", "model1"],
  ["post_model", "model1", "ran"],
  ["to_reply", "ran", "reply"],
  ["head_to_reply", "head", "reply"],
] as const;

type Usage = { user: number; system: number; faults: number };
type FromWorker = { port: number; model: string; publicKey: string } | { usage: Usage };

/** The child: the worker's metered route on 127.0.0.1, answering `usage` messages with its CPU so far. */
async function serve(layers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "azora-metered-worker-"));
  const file = join(dir, "model.onnx");
  writeFileSync(file, buildMatMulStack({ ...TEN_MS_MATMUL, layers, name: `metered-worker-${layers}` }));
  const id = (await importONNXModel(dir, file)).replace(/^0x/, "");
  // one call at a time and a bound the model is far under: every call runs inline, as a lone 10 ms call does
  const [handler] = createAIHandlers({ kinds: ["ai/onnx"], modelsDir: dir, maxBatchJobs: 1, inlineMaxMs: 200 });
  await handler.init?.();
  const market = { deposits: async () => [10n ** 24n, 0n, 0n, 0n] } as unknown as Contract;
  const payee = new MeteredPayee({
    wallet: new Wallet(PAYEE_KEY),
    market,
    chainId: CHAIN,
    dbPath: join(dir, "payments.sqlite"),
    voucherEvery: 1e9, // no voucher round trips: they are the client's, not the lone call's
  });
  const app = Fastify();
  await registerMeteredRoutes(app, { payee, handler, priceOf: (m) => (m === id ? PRICE : null) });
  await app.listen({ port: 0, host: "127.0.0.1" });
  process.on("message", (m) => {
    if (m !== "usage") return;
    const { user, system } = process.cpuUsage();
    process.send?.({ usage: { user, system, faults: process.resourceUsage().minorPageFault } });
  });
  process.on("disconnect", () => {
    void app.close().then(async () => {
      await payee.close();
      await handler.close?.();
      rmSync(dir, { recursive: true, force: true });
    });
  });
  const { port } = app.server.address() as { port: number };
  process.send?.({ port, model: id, publicKey: payee.sessions.publicKey });
}

/** The parent: the payer's calls on one raw kept-alive socket, the worker's CPU read before and after them. */
async function measure(calls: number, gapMs: number, layers: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve", "--layers", String(layers)]);
  const next = <K extends string>(key: K) =>
    new Promise<Extract<FromWorker, Record<K, unknown>>>((ok) => {
      const on = (m: FromWorker) => {
        if (!(key in m)) return;
        child.off("message", on);
        ok(m as Extract<FromWorker, Record<K, unknown>>);
      };
      child.on("message", on);
    });
  const usage = async () => {
    const u = next("usage");
    child.send("usage");
    return (await u).usage;
  };
  try {
    const { port, model, publicKey } = await next("port");
    const payee = new Wallet(PAYEE_KEY).address;
    const pay = new PaymentSession(new Wallet(PAYER_KEY), CHAIN, payee);
    await pay.useReceiptSessions(publicKey);
    const x = Float32Array.from({ length: TEN_MS_MATMUL.rows * TEN_MS_MATMUL.width }, (_, i) => Math.sin(i));
    const body = Buffer.from(
      encodeTensors([{ name: "x", dtype: "float32", dims: [1, TEN_MS_MATMUL.rows, TEN_MS_MATMUL.width], data: x }]),
    );
    // every request whole before the first call: building one is the client's work, not the worker's
    const requests: Buffer[] = [];
    for (let i = 0; i < WARMUP + calls; i++) {
      const receipt = await pay.receipt(PRICE);
      const open = pay.sessionOpenFor(receipt);
      const head =
        `POST /v1/infer/0x${model} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n` +
        `Accept: application/octet-stream\r\n${RECEIPT_HEADER}: ${receipt}\r\n` +
        `${open === undefined ? "" : `${RECEIPT_SESSION_HEADER}: ${open}\r\n`}Content-Length: ${body.length}\r\n\r\n`;
      requests.push(Buffer.concat([Buffer.from(head, "latin1"), body]));
    }
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((ok) => socket.once("connect", ok));
    const answers = answerReader(socket);
    const segments = new Map<string, number[]>();
    const latency: number[] = [];
    let u0: Usage | null = null;
    for (let i = 0; i < WARMUP + calls; i++) {
      if (i === WARMUP) u0 = await usage();
      const t0 = performance.now();
      socket.write(requests[i]);
      const a = await answers.next();
      if (a.status !== 200) throw new Error(`call ${i}: HTTP ${a.status}`);
      if (i >= WARMUP) {
        latency.push(performance.now() - t0);
        const s = parseStamps(a.trace);
        if (s.pooled !== 1)
          for (const [name, from, to] of SEGMENTS)
            if (s[from] !== undefined && s[to] !== undefined) {
              const list = segments.get(name) ?? [];
              list.push((s[to] - s[from]) / 1e3);
              segments.set(name, list);
            }
      }
      await new Promise((ok) => setTimeout(ok, gapMs));
    }
    const u1 = await usage();
    socket.destroy();
    const per = (v: number) => round(v / calls, 3);
    const p50 = (xs: number[]) => percentileOf(xs, 50, 3);
    const out = {
      calls,
      gapMs,
      layers,
      load: loadavg().map((l) => round(l, 2)),
      workerUserMs: per((u1.user - (u0 as Usage).user) / 1e3),
      workerSystemMs: per((u1.system - (u0 as Usage).system) / 1e3),
      workerMinorFaults: per(u1.faults - (u0 as Usage).faults),
      latencyP50Ms: p50(latency),
      segmentsP50Ms: Object.fromEntries([...segments].map(([k, v]) => [k, p50(v)])),
    };
    console.log(JSON.stringify(out));
  } finally {
    child.disconnect();
  }
}

/** Whole answers off a raw socket (one call at a time): status, and the trace header when the worker traces. */
function answerReader(socket: Socket): { next(): Promise<{ status: number; trace?: string }> } {
  let buf: Buffer = Buffer.alloc(0);
  let waiting: ((a: { status: number; trace?: string }) => void) | null = null;
  const traceHeader = new RegExp(`\\r\\n${CALL_TRACE_HEADER}: *([^\\r]*)`, "i");
  socket.on("data", (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const whole = parseResponse(buf);
    if (whole === null) return;
    const trace = traceHeader.exec(buf.toString("latin1", 0, buf.indexOf("\r\n\r\n")))?.[1];
    buf = buf.subarray(whole.end);
    waiting?.({ status: whole.answer.status, trace });
  });
  return { next: () => new Promise((ok) => (waiting = ok)) };
}

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      calls: { type: "string", default: "200" },
      "gap-ms": { type: "string", default: "10" },
      layers: { type: "string", default: "0" },
      serve: { type: "boolean", default: false },
    },
  }),
);
if (values.serve) await serve(Number(values.layers));
else {
  if (process.env[CALL_TRACE_ENV] !== "1") console.error(`(set ${CALL_TRACE_ENV}=1 for the worker's segments)`);
  await measure(Number(values.calls), Number(values["gap-ms"]), Number(values.layers));
}
