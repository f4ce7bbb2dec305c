/**
 * Gossip publish→receive latency across 4 nodes on loopback (a script, not a test).
 *
 *   npx tsx --import ./node/polyfill.ts node/network/scripts/latency.ts            # 4 processes
 *   npx tsx --import ./node/polyfill.ts node/network/scripts/latency.ts --inproc   # 4 nodes, 1 process
 *   … latency.ts --rates 20,100,1000,3000
 *
 * Full mesh (node i bootstraps nodes 0…i-1); every node publishes 200-byte "vote" messages in turn at
 * a fixed total rate; each receiver records now − sent-at (`performance.timeOrigin + now()`, which is
 * comparable across processes on one host). Prints p50/p90/p99/max per rate.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import "../../polyfill.js";
import { nullLogger } from "../../../runtime/lib/logger.js";
import { P2PNetwork } from "../network.js";

const NODES = 4;
const MESSAGE_BYTES = 200;
/** Messages per second, all publishers together; `--rates 100,1000`. */
const ratesArg = process.argv[process.argv.indexOf("--rates") + 1];
const RATES = process.argv.includes("--rates") ? ratesArg.split(",").map(Number) : [100, 1000];
const SECONDS_PER_RATE = 5;

type Cmd =
  | { type: "start"; index: number; bootstrap: string[] }
  | { type: "publish"; count: number; intervalMs: number; tag: number }
  | { type: "report"; tag: number }
  | { type: "stop" };
type Reply =
  | { type: "started"; addr: string; peerId: string }
  | { type: "meshed" }
  | { type: "published" }
  | { type: "report"; latenciesMs: number[] }
  | { type: "stopped" };

const wallMs = () => performance.timeOrigin + performance.now();

/** One benchmark node: answers the orchestrator's commands. */
class BenchNode {
  private net: P2PNetwork | null = null;
  private readonly latencies = new Map<number, number[]>();
  private seq = 0;
  private index = 0;

  async handle(cmd: Cmd, reply: (r: Reply) => void): Promise<void> {
    switch (cmd.type) {
      case "start": {
        this.index = cmd.index;
        const seed = new Uint8Array(32).fill(cmd.index + 1);
        const net = await P2PNetwork.create(
          { chainId: 77n, listen: ["/ip4/127.0.0.1/tcp/0"], nodeKeySeed: seed, bootstrap: cmd.bootstrap },
          { log: nullLogger },
        );
        this.net = net;
        net.onGossip("vote", async (data) => {
          const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
          const tag = view.getUint32(12);
          const list = this.latencies.get(tag) ?? [];
          list.push(wallMs() - view.getFloat64(0));
          this.latencies.set(tag, list);
        });
        reply({ type: "started", addr: net.multiaddrs()[0], peerId: net.peerId });
        return;
      }
      case "publish": {
        const net = this.net!;
        const start = performance.now();
        for (let i = 0; i < cmd.count; i++) {
          const due = start + i * cmd.intervalMs;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          const msg = new Uint8Array(MESSAGE_BYTES);
          const view = new DataView(msg.buffer);
          view.setFloat64(0, wallMs());
          view.setUint32(8, this.seq++);
          view.setUint32(12, cmd.tag);
          view.setUint32(16, this.index);
          await net.publish("vote", msg);
        }
        reply({ type: "published" });
        return;
      }
      case "report":
        reply({ type: "report", latenciesMs: this.latencies.get(cmd.tag) ?? [] });
        return;
      case "stop":
        await this.net?.stop();
        reply({ type: "stopped" });
        return;
    }
  }

  meshed(): boolean {
    return (this.net?.meshPeers("vote").length ?? 0) >= NODES - 1;
  }
}

/** The orchestrator's view of a node, local or in a child process. */
interface NodeHandle {
  send(cmd: Cmd): Promise<Reply>;
  waitMeshed(): Promise<void>;
  close(): void;
}

function localHandle(): NodeHandle {
  const node = new BenchNode();
  return {
    send: (cmd) => new Promise((resolve, reject) => node.handle(cmd, resolve).catch(reject)),
    async waitMeshed() {
      while (!node.meshed()) await new Promise((r) => setTimeout(r, 20));
    },
    close() {},
  };
}

function childHandle(): NodeHandle {
  const child = fork(fileURLToPath(import.meta.url), ["--child"], { execArgv: process.execArgv, stdio: "inherit" });
  let pending: ((r: Reply) => void) | null = null;
  let meshed: (() => void) | null = null;
  let isMeshed = false;
  child.on("message", (r: Reply) => {
    if (r.type === "meshed") {
      isMeshed = true;
      meshed?.();
      return;
    }
    const p = pending;
    pending = null;
    p?.(r);
  });
  return {
    send: (cmd) =>
      new Promise((resolve) => {
        pending = resolve;
        child.send(cmd);
      }),
    waitMeshed: () =>
      isMeshed
        ? Promise.resolve()
        : new Promise((resolve) => {
            meshed = resolve;
          }),
    close: () => child.disconnect(),
  };
}

function runChild(): void {
  const node = new BenchNode();
  process.on("message", (cmd: Cmd) => {
    void node.handle(cmd, (r) => {
      process.send!(r);
      if (cmd.type === "start") {
        const poll = setInterval(() => {
          if (node.meshed()) {
            clearInterval(poll);
            process.send!({ type: "meshed" } satisfies Reply);
          }
        }, 20);
      }
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function orchestrate(inproc: boolean): Promise<void> {
  const handles: NodeHandle[] = [];
  const addrs: string[] = [];
  for (let i = 0; i < NODES; i++) {
    const h = inproc ? localHandle() : childHandle();
    const r = await h.send({ type: "start", index: i, bootstrap: [...addrs] });
    if (r.type !== "started") throw new Error("node did not start");
    addrs.push(r.addr);
    handles.push(h);
  }
  await Promise.all(handles.map((h) => h.waitMeshed()));
  console.log(
    `${NODES} nodes meshed (${inproc ? "one process" : `${NODES} processes`}), ${MESSAGE_BYTES}-byte messages`,
  );
  for (const [tag, rate] of RATES.entries()) {
    const perNode = Math.round((rate * SECONDS_PER_RATE) / NODES);
    const intervalMs = (1000 * NODES) / rate;
    await Promise.all(handles.map((h) => h.send({ type: "publish", count: perNode, intervalMs, tag })));
    // Let the last messages land: poll until every node has everything (bounded).
    const expected = perNode * (NODES - 1);
    let all: number[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      const reports = await Promise.all(handles.map((h) => h.send({ type: "report", tag })));
      const counts = reports.map((r) => (r.type === "report" ? r.latenciesMs.length : 0));
      all = reports.flatMap((r) => (r.type === "report" ? r.latenciesMs : []));
      if (counts.every((c) => c >= expected)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    all.sort((x, y) => x - y);
    const fmt = (v: number) => `${v.toFixed(2)} ms`;
    console.log(
      `rate ${rate} msg/s: ${all.length}/${expected * NODES} deliveries  p50 ${fmt(percentile(all, 50))}  ` +
        `p90 ${fmt(percentile(all, 90))}  p99 ${fmt(percentile(all, 99))}  max ${fmt(all[all.length - 1])}`,
    );
  }
  for (const h of handles) {
    await h.send({ type: "stop" });
    h.close();
  }
}

if (process.argv.includes("--child")) runChild();
else await orchestrate(process.argv.includes("--inproc"));
