/**
 * Push bench: Azora Push (`azora push serve`, a child process: JWT auth, SQLite log, acks) against a bare `ws`
 * broadcast server (a child process that only relays: no auth, no storage, no cursors) — the floor a push
 * service can reach on this machine. The same clients in this process measure both:
 *   - fan-out latency: C connected clients on one topic, M messages published at a steady rate; latency is
 *     publish (HTTP POST sent) → frame received, over every delivery (C × M samples), p50/p99;
 *   - fan-out throughput: a burst of B messages to the topic; deliveries per second until the last arrives;
 *   - publish rate: messages/s accepted on personal channels with no reader (stored, not sent), K in flight.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import WebSocket from "ws";
import { repoRoot } from "../contracts/artifacts.js";
import { type LatencySummary, round, summarize } from "./stats.js";

export interface PushBenchOptions {
  clients?: number;
  messages?: number;
  rateHz?: number;
  burst?: number;
  log?: (line: string) => void;
}

export interface SystemFigures {
  connectMs: number;
  fanoutLatencyMs: LatencySummary;
  fanoutDeliveriesPerSec: number;
  publishPerSec: number | null;
}

export interface PushBenchResult {
  date: string;
  machine: string;
  loadAverage: number[];
  clients: number;
  messages: number;
  rateHz: number;
  burst: number;
  azora: SystemFigures;
  bareWs: SystemFigures;
}

const PUBLISH_TOKEN = "bench-publish-token-0123456789";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const BARE_WS = `
const http = require("node:http"); const { WebSocketServer } = require("ws");
const server = http.createServer((req, res) => { const c = []; req.on("data", (d) => c.push(d)); req.on("end", () => {
  const b = JSON.parse(Buffer.concat(c)); const frame = JSON.stringify({ type: "message", channel: b.channel, data: b.data });
  let n = 0; for (const ws of wss.clients) { ws.send(frame); n++; } res.setHeader("content-type", "application/json"); res.end(JSON.stringify({ delivered: n })); }); });
const wss = new WebSocketServer({ server, path: "/v1/ws" }); server.listen(Number(process.argv[1]), "127.0.0.1", () => console.log("ready"));`;

function waitReady(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const on = (d: Buffer) => {
      out += d;
      if (pattern.test(out)) resolve();
    };
    child.stdout?.on("data", on);
    child.stderr?.on("data", (d: Buffer) => (out += d));
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out.slice(-2000)}`)));
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function post(url: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${PUBLISH_TOKEN}` },
      },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function measure(
  base: string,
  tokens: (i: number) => Promise<string>,
  opts: Required<Omit<PushBenchOptions, "log">>,
  subscribeFrame: boolean,
  personal: boolean,
): Promise<SystemFigures> {
  const wsBase = base.replace("http", "ws");
  const t0 = performance.now();
  const latencies: number[] = [];
  let received = 0;
  let onReceived: (() => void) | undefined;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < opts.clients; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, opts.clients - i) }, async (_, j) => {
        const ws = new WebSocket(`${wsBase}/v1/ws`, { headers: { authorization: `Bearer ${await tokens(i + j)}` } });
        ws.on("message", (d) => {
          const f = JSON.parse(String(d)) as { type: string; data?: { t: number } };
          if (f.type !== "message" || f.data === undefined) return;
          latencies.push(Date.now() - f.data.t);
          received++;
          onReceived?.();
        });
        await new Promise<void>((resolve, reject) => {
          ws.once("open", () => resolve());
          ws.once("error", reject);
        });
        if (subscribeFrame) {
          await new Promise<void>((resolve) => {
            const h = (d: WebSocket.RawData) => {
              if ((JSON.parse(String(d)) as { type: string }).type === "subscribed") {
                ws.off("message", h);
                resolve();
              }
            };
            ws.on("message", h);
            ws.send(JSON.stringify({ type: "subscribe", channels: ["topic:bench"] }));
          });
        }
        sockets.push(ws);
      }),
    );
  }
  const connectMs = performance.now() - t0;
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      if (received >= n) return resolve();
      onReceived = () => {
        if (received >= n) {
          onReceived = undefined;
          resolve();
        }
      };
    });

  // Steady rate: latency.
  const interval = 1000 / opts.rateHz;
  const start = performance.now();
  for (let m = 0; m < opts.messages; m++) {
    const due = start + m * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    void post(`${base}/v1/publish`, { channel: "topic:bench", data: { t: Date.now(), m } });
  }
  await until(opts.clients * opts.messages);
  const fanoutLatencyMs = summarize(latencies);

  // Burst: deliveries per second.
  received = 0;
  const b0 = performance.now();
  await Promise.all(
    Array.from({ length: opts.burst }, (_, m) =>
      post(`${base}/v1/publish`, { channel: "topic:bench", data: { t: Date.now(), m } }),
    ),
  );
  await until(opts.clients * opts.burst);
  const fanoutDeliveriesPerSec = round((opts.clients * opts.burst) / ((performance.now() - b0) / 1000), 0);
  for (const ws of sockets) ws.terminate();

  let publishPerSec: number | null = null;
  if (personal) {
    const n = 2000;
    const p0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++;
          await post(`${base}/v1/publish`, { channel: `user:u${i % 500}`, data: { i } });
        }
      }),
    );
    publishPerSec = round(n / ((performance.now() - p0) / 1000), 0);
  }
  return { connectMs: round(connectMs, 0), fanoutLatencyMs, fanoutDeliveriesPerSec, publishPerSec };
}

export async function pushBench(o: PushBenchOptions = {}): Promise<PushBenchResult> {
  const opts = {
    clients: o.clients ?? 1000,
    messages: o.messages ?? 100,
    rateHz: o.rateHz ?? 20,
    burst: o.burst ?? 100,
  };
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "azora-push-bench-"));
  const children: ChildProcess[] = [];
  try {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    writeFileSync(
      join(dir, "jwks.json"),
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "b", alg: "EdDSA" }] }),
    );
    const sign = (i: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: "b", typ: "at+jwt" })
        .setSubject(`u${i}`)
        .setIssuer("https://auth.bench")
        .setAudience("azora")
        .setJti(`j${i}`)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey);

    const port = await freePort();
    const azora = spawn(
      process.execPath,
      [
        join(repoRoot(), "dist/node/cli.js"),
        "push",
        "serve",
        "--data-dir",
        join(dir, "push"),
        "--port",
        String(port),
        "--issuer",
        "https://auth.bench",
        "--jwks-file",
        join(dir, "jwks.json"),
        "--publish-token",
        PUBLISH_TOKEN,
        "--no-web-push",
        "--log-level",
        "warn",
        "--log-format",
        "json",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(azora);
    await waitReady(azora, /Azora Push v/);
    log(`azora push: ${opts.clients} clients, ${opts.messages} messages at ${opts.rateHz}/s, burst ${opts.burst}`);
    const a = await measure(`http://127.0.0.1:${port}`, sign, opts, true, true);
    azora.kill("SIGTERM");

    const bport = await freePort();
    const bare = spawn(process.execPath, ["-e", BARE_WS, String(bport)], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: repoRoot(),
    });
    children.push(bare);
    await waitReady(bare, /ready/);
    log("bare ws broadcast");
    const b = await measure(`http://127.0.0.1:${bport}`, async () => "", opts, false, false);
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      loadAverage: loadavg().map((l) => round(l, 1)),
      ...opts,
      azora: a,
      bareWs: b,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function pushTable(r: PushBenchResult): string {
  const row = (name: string, f: (s: SystemFigures) => string) => `| ${name} | ${f(r.azora)} | ${f(r.bareWs)} |`;
  return [
    `| ${r.clients} clients, one topic | Azora Push | bare ws broadcast |`,
    "|---|---|---|",
    row("connect all (ms)", (s) => `${s.connectMs}`),
    row(
      `fan-out latency p50 / p99 (ms), ${r.messages} msgs at ${r.rateHz}/s`,
      (s) => `${s.fanoutLatencyMs.p50} / ${s.fanoutLatencyMs.p99}`,
    ),
    row(`fan-out deliveries/s (burst of ${r.burst})`, (s) => `${s.fanoutDeliveriesPerSec}`),
    row("publish to personal channels (msgs/s, stored)", (s) =>
      s.publishPerSec === null ? "—" : `${s.publishPerSec}`,
    ),
  ].join("\n");
}
