// `node dist/bench/transportFloor.js [--calls N] [--gap-ms G] [--input-kb I] [--output-kb O]`: what HTTP adds to a
// metered inference call on this machine, without a model or payment. A child process serves the same exchange two
// ways — bare node:http (read the body, answer with a content-length and the output's sha256 in a header) and the
// worker's own HTTP stack (createWorkerHTTP + the metered route, a free model, a stand-in handler) — and this
// process calls them one at a time, interleaved, next to an in-process baseline. The "model" is an idle wait of G ms
// on each side (the real one runs on an inference thread while the event loop idles), because a process that idles
// between messages wakes more slowly than a busy loop: a floor measured back to back would be too low. The default
// sizes are the services bench's 10 ms job: a [1, 224, 512] float32 input (448 KiB + its AZT1 header), a 2 KiB output.
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { encodeTensors } from "../ai-oracle/engine/tensorContainer.js";
import { InferenceClient } from "../services/client/inferenceClient.js";
import type { PaymentSession } from "../services/client/payments.js";
import type { JobHandler } from "../services/runtime/handler.js";
import { createWorkerHTTP } from "../services/runtime/http.js";
import type { MeteredPayee } from "../services/runtime/payments/meteredPayee.js";
import { RESULT_HASH_HEADER, registerMeteredRoutes } from "../services/runtime/payments/meteredRoutes.js";
import { round, summarize } from "./stats.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/transportFloor.js [--calls N] [--gap-ms G] [--input-kb I] [--output-kb O]

What HTTP adds to a metered inference call, without a model or payment: bare node:http and the worker's HTTP
stack in a child process, called one at a time, interleaved, next to an in-process baseline.

Options:
  --calls <n>         calls per path (default 300)
  --gap-ms <ms>       the stand-in model's idle wait on each side (default 10)
  --input-kb <kb>     input tensor size (default 448)
  --output-kb <kb>    output size (default 2)
  -h, --help          show this help`;

const MODEL = "f0".repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Uint8Array) => `0x${createHash("sha256").update(b).digest("hex")}`;

interface Ports {
  bare: number;
  worker: number;
}

/** The child: both servers on 127.0.0.1, their ports sent to the parent. */
async function serve(gapMs: number, outputBytes: number): Promise<void> {
  const output = new Uint8Array(outputBytes).map((_, i) => i % 251);
  const bare = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", async () => {
      Buffer.concat(parts);
      await sleep(gapMs);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": output.length,
        [RESULT_HASH_HEADER]: sha256(output),
      });
      res.end(output);
    });
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
  const handler = {
    kinds: ["ai/onnx"],
    engine: "idle",
    run: async () => {
      await sleep(gapMs);
      return { bytes: output, contentType: "application/vnd.azora.tensors" };
    },
    agrees: () => true,
  } as unknown as JobHandler;
  const app = await createWorkerHTTP({
    journal: {} as never,
    blobs: {} as never,
    metrics: {} as never,
    health: {} as never,
    version: "bench",
    extraRoutes: (a) =>
      registerMeteredRoutes(a, { payee: {} as MeteredPayee, handler, priceOf: (m) => (m === MODEL ? 0n : null) }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const ports: Ports = {
    bare: (bare.address() as AddressInfo).port,
    worker: (app.server.address() as AddressInfo).port,
  };
  process.send?.({ ports });
}

/** One POST with node:http as plainly as it goes: one write, the answer hashed as it arrives. */
function barePost(port: number, agent: Agent, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        agent,
        headers: { "content-type": "application/octet-stream", "content-length": body.length },
      },
      (res) => {
        const hash = createHash("sha256");
        res.on("data", (c: Buffer) => hash.update(c));
        res.on("end", () => {
          if (`0x${hash.digest("hex")}` !== res.headers[RESULT_HASH_HEADER]) reject(new Error("hash mismatch"));
          else resolve();
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const { values } = parseOrUsage(HELP, () =>
    parseArgs({
      options: {
        calls: { type: "string", default: "300" },
        "gap-ms": { type: "string", default: "10" },
        "input-kb": { type: "string", default: "448" },
        "output-kb": { type: "string", default: "2" },
      },
    }),
  );
  const calls = Number(values.calls);
  const gapMs = Number(values["gap-ms"]);
  const outputBytes = Math.round(Number(values["output-kb"]) * 1024);
  const rows = Math.max(1, Math.round((Number(values["input-kb"]) * 1024) / 4 / 512));
  const input = encodeTensors([
    { name: "x", dtype: "float32", dims: [1, rows, 512], data: Float32Array.from({ length: rows * 512 }, Math.sin) },
  ]);
  const child = fork(fileURLToPath(import.meta.url), ["--serve", String(gapMs), String(outputBytes)]);
  try {
    const ports = await new Promise<Ports>((r) => child.once("message", (m: { ports: Ports }) => r(m.ports)));
    const agent = new Agent({ keepAlive: true });
    const client = new InferenceClient({
      url: `http://127.0.0.1:${ports.worker}`,
      payment: {} as PaymentSession,
      price: 0n,
    });
    const paths: [string, () => Promise<unknown>][] = [
      ["in-process wait", () => sleep(gapMs)],
      ["bare node:http", () => barePost(ports.bare, agent, input)],
      ["worker HTTP (InferenceClient → metered route)", () => client.infer(MODEL, input)],
    ];
    for (let i = 0; i < 20; i++) for (const [, call] of paths) await call(); // warm-up: connections, JIT
    const lat = paths.map(() => [] as number[]);
    const cpu = paths.map(() => 0); // this process's, per path (the server's is not asked for: a message would wake it)
    for (let i = 0; i < calls; i++)
      for (const [k, [, call]] of paths.entries()) {
        const s0 = process.cpuUsage();
        const t = performance.now();
        await call();
        lat[k].push(performance.now() - t);
        const s = process.cpuUsage(s0);
        cpu[k] += (s.user + s.system) / 1000;
      }
    const base = summarize(lat[0]).p50 ?? 0;
    console.log(
      `${calls} calls per path, interleaved; ${input.length} B in, ${outputBytes} B out, an idle ${gapMs} ms wait as the model`,
    );
    for (const [k, [name]] of paths.entries()) {
      const s = summarize(lat[k]);
      console.log(
        `${name.padEnd(48)} p50 ${s.p50} ms (+${round((s.p50 ?? 0) - base, 2)} over in-process), p99 ${s.p99}; client CPU ${round(cpu[k] / calls, 2)} ms per call`,
      );
    }
  } finally {
    child.kill();
  }
}

if (process.argv[2] === "--serve") await serve(Number(process.argv[3]), Number(process.argv[4]));
else await main();
