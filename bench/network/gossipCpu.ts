// In-process gossip CPU per consensus-sized message: four P2PNetworks on loopback in one process (full mesh, as the
// localnet's validators), each publishing vote-sized messages on the vote topic in turn; every node's handler
// accepts after a fixed check. Prints process CPU (all four nodes: libp2p, Noise, Yamux, gossipsub, relays) per
// published message, which the localnet's "other" is mostly made of, without the localnet's consensus, disk and
// RPC work or its dependence on heights per second (a busy machine makes fewer, costlier heights).
//
//   node dist/bench/network/gossipCpu.js [--dist /work/main/dist] [--messages 3000] [--size 250] [--rounds 3]
//
// `--dist` loads node/network from another build (the base's, with its own node_modules), so an A/B is two runs
// of this file, interleaved: `--dist /work/main/dist` (A) and without (B).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import "../../node/polyfill.js"; // libp2p 3 calls Promise.withResolvers (Node 22+)
import { parseOrUsage } from "../usage.js";

const HELP = `Usage: node dist/bench/network/gossipCpu.js [--dist DIR] [--messages N] [--size BYTES] [--rounds R]

In-process gossip CPU per consensus-sized message: four P2PNetworks on loopback in one process, each publishing
vote-sized messages in turn; prints process CPU per published message.

Options:
  --dist <dir>        another build's dist/ whose node/network to load (default: this build)
  --messages <n>      messages published per round (default 3000)
  --size <bytes>      message size (default 250)
  --rounds <n>        rounds (default 3)
  -h, --help          show this help`;

type Net = {
  peerId: string;
  multiaddrs(): string[];
  onGossip(topic: string, h: (data: Uint8Array, from: string) => Promise<void>): void;
  publish(topic: string, data: Uint8Array): Promise<void>;
  meshPeers(topic: string): string[];
  peers(): { id: string }[];
  stop(): Promise<void>;
};
type NetModule = { P2PNetwork: { create(opts: unknown, modules: unknown): Promise<Net> } };

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      dist: { type: "string" },
      messages: { type: "string", default: "3000" },
      size: { type: "string", default: "250" },
      rounds: { type: "string", default: "3" },
    },
  }),
);
const dist = resolve(values.dist ?? resolve(import.meta.dirname, "../.."));
const messages = Number(values.messages);
const size = Number(values.size);
const rounds = Number(values.rounds);
const NODES = 4;
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function seed(n: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = n + 1;
  s[31] = 0x5e;
  return s;
}

async function main(): Promise<void> {
  const mod = (await import(resolve(dist, "node/network/index.js"))) as NetModule;
  const opts = (n: number, bootstrap: string[]) => ({
    chainId: 4242n,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    nodeKeySeed: seed(n),
    bootstrap,
    heartbeatIntervalMs: 700,
  });
  const nets: Net[] = [];
  for (let i = 0; i < NODES; i++) {
    const boot = nets.map((p) => p.multiaddrs().find((a) => a.startsWith("/ip4/127.0.0.1/")) as string);
    nets.push(await mod.P2PNetwork.create(opts(i, boot), { log: silent }));
  }
  const delivered = new Array<number>(NODES).fill(0);
  nets.forEach((net, i) => {
    net.onGossip("vote", async (data) => {
      if (data.length !== size) throw new Error("unexpected size");
      delivered[i]++;
    });
  });
  await waitUntil(
    "full mesh on the vote topic",
    () => nets.every((n) => n.peers().length === NODES - 1 && n.meshPeers("vote").length === NODES - 1),
    30_000,
  );
  let counter = 0;
  const runOnce = async (count: number) => {
    const before = delivered.reduce((a, b) => a + b, 0);
    for (let k = 0; k < count; k++) {
      const data = new Uint8Array(size);
      new DataView(data.buffer).setUint32(0, ++counter);
      data[4] = 0xa5;
      await nets[k % NODES].publish("vote", data);
      // Paced by delivery, not a fixed sleep: at most 8 messages in flight (a height's votes arrive in bursts).
      if (k % 8 === 7) {
        const want = before + (k + 1) * (NODES - 1);
        await waitUntil("delivery", () => delivered.reduce((a, b) => a + b, 0) >= want, 30_000);
      }
    }
    await waitUntil("delivery", () => delivered.reduce((a, b) => a + b, 0) >= before + count * (NODES - 1), 30_000);
  };
  await runOnce(400); // warm-up: JIT, windows, scores
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await runOnce(messages);
    const c = process.cpuUsage(c0);
    const wallMs = performance.now() - t0;
    const perMsg = (c.user + c.system) / messages;
    results.push(perMsg);
    console.log(
      `round ${r + 1}: ${perMsg.toFixed(1)} µs CPU per published message (4 nodes, user ${(c.user / messages).toFixed(1)} sys ${(c.system / messages).toFixed(1)}), ${wallMs.toFixed(0)} ms wall`,
    );
  }
  results.sort((a, b) => a - b);
  console.log(
    JSON.stringify({ dist, messages, size, medianMicrosPerMessage: results[Math.floor(results.length / 2)], results }),
  );
  await Promise.all(nets.map((n) => n.stop()));
}

await main();
